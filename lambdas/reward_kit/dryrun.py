"""Dry-run a reward spec on your own rollouts before you spend a training run on it.

    python -m reward_kit.dryrun --data samples.jsonl --spec spec.json \
        [--png hist.png] [--bins 10] [--out scores.jsonl] [--batch-size 500]

``samples.jsonl`` holds one sample per line in the Nova reward-Lambda contract format
(``{"id", "messages": [...], "metadata": {"reference_answer": ...}}``); ``spec.json`` is
the exact JSON you would put in ``REWARD_SPEC``. The file is scored in batches with the
same ``Scorer`` the Lambda uses, and the report shows, per reward dimension, the score
distribution (percentiles and a text histogram over the output range) and the failure
reasons with counts. A reward that gives almost everyone the same score, or fails most
samples for one reason, is visible here in seconds.

A line that is not valid JSON does not abort the run: it becomes a failed sample
(reason ``invalid_json_line``, with its line number) so the output keeps one entry per
input line. Blank lines are skipped. The report is deterministic (no timings, stable
ordering) so it can be diffed between spec versions.

Exit codes: 0 scored, 2 unusable input (bad spec, unreadable file, missing matplotlib
for ``--png``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import Counter
from typing import Any, Iterable, Sequence, TextIO

from reward_kit.scoring import Scorer
from reward_kit.spec import SpecError, output_range, parse_spec_json, reward_dimensions

INVALID_JSON_LINE = "invalid_json_line"
AGGREGATE = "aggregate"
BAR_WIDTH = 40  # characters of the longest histogram bar
PERCENTILES = (10, 25, 50, 75, 90)
MAX_LISTED_LINES = 20  # line numbers shown per failure reason before "..."


class UsageError(Exception):
    """Input the dry run cannot work with; reported as one line, exit code 2."""


# --- input --------------------------------------------------------------------------


def load_spec(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read spec ({exc.strerror})") from None
    try:
        # Same parser and messages as the Lambda's REWARD_SPEC (and cdk synth).
        return parse_spec_json(text)
    except SpecError as exc:
        raise UsageError(f"{path}: {exc}") from None


def read_samples(path: str) -> list[tuple[int, Any, str | None]]:
    """Return (line number, parsed sample or None, JSON error or None) per non-blank line."""
    rows: list[tuple[int, Any, str | None]] = []
    try:
        # utf-8-sig: a BOM written by a spreadsheet or editor must not break line 1.
        fh = open(path, encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read data ({exc.strerror})") from None
    with fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append((lineno, json.loads(line), None))
            except ValueError as exc:  # JSONDecodeError, or a number too large to parse
                rows.append((lineno, None, str(exc)))
    return rows


# --- scoring ------------------------------------------------------------------------


def _is_failed(output: Any) -> bool:
    metrics = output.get("metrics_list") if isinstance(output, dict) else None
    return any(
        isinstance(m, dict) and str(m.get("name", "")).startswith("failure_") for m in metrics or ()
    )


class DryRunResult:
    """Everything the report needs, in input order."""

    def __init__(self, dims: list[str], lo: float, hi: float) -> None:
        self.dims = dims
        self.lo, self.hi = lo, hi
        self.outputs: list[dict[str, Any]] = []
        self.values: dict[str, list[float]] = {AGGREGATE: [], **{d: [] for d in dims}}
        self.failures: Counter[str] = Counter()
        self.failure_lines: dict[str, list[int]] = {}
        self.failed = 0


def score_rows(
    rows: list[tuple[int, Any, str | None]], spec: dict[str, Any], batch_size: int = 500
) -> DryRunResult:
    lo, hi = output_range(spec)
    dims = reward_dimensions(spec)
    scorer = Scorer(spec)
    result = DryRunResult(dims, lo, hi)
    keys = [AGGREGATE, *dims]

    valid = [(lineno, sample) for lineno, sample, err in rows if err is None]
    scored: dict[int, tuple[dict[str, Any], dict[str, float]]] = {}
    for start in range(0, len(valid), batch_size):
        batch = valid[start : start + batch_size]
        res = scorer.score_event([sample for _, sample in batch])
        if len(res.outputs) != len(batch):  # the contract promises one output per input
            raise RuntimeError(f"scorer returned {len(res.outputs)} outputs for {len(batch)} samples")
        result.failures.update(res.failures)
        for i, (lineno, _) in enumerate(batch):
            scored[lineno] = (res.outputs[i], {k: res.values[k][i] for k in keys})

    for lineno, _sample, err in rows:
        if err is not None:
            # Same shape as any broken sample: minimum on every dimension plus the reason.
            output = scorer.builder.failed(f"line-{lineno}", INVALID_JSON_LINE)
            vals = {k: lo for k in keys}
            result.failures[INVALID_JSON_LINE] += 1
            reasons = [INVALID_JSON_LINE]
        else:
            output, vals = scored[lineno]
            reasons = [
                m["name"][len("failure_") :]
                for m in output.get("metrics_list", ())
                if isinstance(m, dict) and str(m.get("name", "")).startswith("failure_")
            ]
        for reason in reasons:
            result.failure_lines.setdefault(reason, []).append(lineno)
        result.failed += _is_failed(output)
        result.outputs.append(output)
        for k in keys:
            result.values[k].append(vals[k])
    return result


# --- statistics and report ------------------------------------------------------------


def summarize(values: Sequence[float]) -> dict[str, float]:
    """count, mean, std (population), min, p10..p90 (linear interpolation), max."""
    n = len(values)
    if n == 0:
        return {"count": 0}
    data = sorted(values)
    stats: dict[str, float] = {
        "count": n,
        "mean": statistics.fmean(data),
        "std": statistics.pstdev(data),
        "min": data[0],
        "max": data[-1],
    }
    if n == 1:
        cuts = [data[0]] * 99
    else:
        # 'inclusive' = numpy's default linear method; stable across Python versions.
        cuts = statistics.quantiles(data, n=100, method="inclusive")
    for p in PERCENTILES:
        stats[f"p{p}"] = cuts[p - 1]
    return stats


def histogram(values: Iterable[float], lo: float, hi: float, bins: int) -> list[int]:
    counts = [0] * bins
    for v in values:
        # Clamp: the contract keeps values in range, but a report must never crash on one.
        v = min(max(v, lo), hi)
        # Rounding first keeps values on a bin edge (0.3 with 10 bins) in the upper bin.
        i = math.floor(round((v - lo) * bins / (hi - lo), 9))
        counts[min(i, bins - 1)] += 1  # the top edge belongs to the last bin
    return counts


def _fmt(x: float) -> str:
    return f"{x:.4f}" if math.isfinite(x) else str(x)


def render_report(
    result: DryRunResult, *, data_path: str, spec: dict[str, Any], bins: int, out: TextIO
) -> None:
    w = out.write
    lo, hi = result.lo, result.hi
    n = len(result.outputs)
    w(f"data:    {data_path}\n")
    w(f"spec:    grader={spec['grader']} dimensions={','.join(result.dims)} range=[{lo:g}, {hi:g}]\n")
    w(f"samples: {n}\n")
    pct = f" ({100.0 * result.failed / n:.1f}%)" if n else ""
    w(f"failed:  {result.failed}{pct} (samples with a failure reason, see below)\n")

    edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
    edge = "{:+.2f}" if lo < 0 else "{:.2f}"
    for key in [AGGREGATE, *result.dims]:
        values = result.values[key]
        s = summarize(values)
        if key != AGGREGATE and values == result.values[AGGREGATE]:
            # Single-grader specs: the dimension is the aggregate; don't print it twice.
            w(f"\n== {key} (n={s['count']}): same values as aggregate\n")
            continue
        w(f"\n== {key} (n={s['count']})\n")
        if not s["count"]:
            continue
        w("  " + "  ".join(f"{k} {_fmt(s[k])}" for k in ("mean", "std", "min", "max")) + "\n")
        w("  " + "  ".join(f"p{p} {_fmt(s[f'p{p}'])}" for p in PERCENTILES) + "\n")
        counts = histogram(values, lo, hi, bins)
        peak = max(counts) or 1
        for i, c in enumerate(counts):
            close = "]" if i == bins - 1 else ")"
            bar = "#" * (math.ceil(BAR_WIDTH * c / peak) if c else 0)
            w(f"  [{edge.format(edges[i])}, {edge.format(edges[i + 1])}{close} {c:>6} {bar}\n".replace(" \n", "\n"))

    w("\nfailure reasons:\n")
    if not result.failures:
        w("  (none)\n")
    for reason, count in sorted(result.failures.items(), key=lambda kv: (-kv[1], kv[0])):
        lines = result.failure_lines.get(reason, [])
        shown = ",".join(str(x) for x in lines[:MAX_LISTED_LINES])
        more = ",..." if len(lines) > MAX_LISTED_LINES else ""
        w(f"  {reason:<24} {count:>6}  lines {shown}{more}\n" if lines else f"  {reason:<24} {count:>6}\n")


def write_png(result: DryRunResult, path: str, bins: int) -> None:
    import matplotlib  # checked by _require_matplotlib before scoring

    matplotlib.use("Agg")  # no display on servers / CI
    import matplotlib.pyplot as plt

    lo, hi = result.lo, result.hi
    keys = [AGGREGATE] + [d for d in result.dims if result.values[d] != result.values[AGGREGATE]]
    width = (hi - lo) / bins
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.4 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        # Same bins as the text report (matplotlib's own binning puts edge values elsewhere).
        counts = histogram(result.values[key], lo, hi, bins)
        ax.bar([lo + i * width for i in range(bins)], counts, width=width, align="edge",
               color="#4c72b0", edgecolor="white")
        ax.set_title(f"{key} (n={len(result.values[key])})")
        ax.set_xlim(lo, hi)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401  (optional: only --png needs it)
    except ImportError:
        raise UsageError("--png needs matplotlib, which is not installed: pip install matplotlib") from None


def _open_out(path: str) -> TextIO:
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write outputs ({exc.strerror})") from None


# --- CLI ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m reward_kit.dryrun",
        description="Score a JSONL file of Nova RFT samples with a reward spec and print statistics.",
    )
    p.add_argument("--data", required=True, help="JSONL file, one sample per line (Nova reward contract)")
    p.add_argument("--spec", required=True, help="JSON file with the reward spec (what REWARD_SPEC holds)")
    p.add_argument("--bins", type=int, default=10, help="histogram bins over the output range (default 10)")
    p.add_argument("--png", help="also write histograms to this PNG (needs matplotlib)")
    p.add_argument("--out", help="write one contract output per input line to this JSONL file")
    p.add_argument("--batch-size", type=int, default=500, help="samples per scoring call (default 500)")
    return p


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        if args.bins < 1:
            raise UsageError(f"--bins must be >= 1, got {args.bins}")
        if args.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
        spec = load_spec(args.spec)
        if args.png:
            _require_matplotlib()  # fail before scoring, not after
        rows = read_samples(args.data)
        out_file = _open_out(args.out) if args.out else None  # fail before scoring, not after
    except UsageError as exc:
        err.write(f"error: {exc}\n")
        return 2

    result = score_rows(rows, spec, batch_size=args.batch_size)
    render_report(result, data_path=args.data, spec=spec, bins=args.bins, out=out)

    if out_file is not None:
        with out_file:
            for output in result.outputs:
                out_file.write(json.dumps(output, ensure_ascii=False) + "\n")
        out.write(f"\nwrote {len(result.outputs)} outputs to {args.out}\n")
    if args.png:
        write_png(result, args.png, args.bins)
        out.write(f"wrote histograms to {args.png}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
