"""The dry run's report (``python -m reward_kit.dryrun``): per reward dimension the score
statistics and a text histogram over the output range, the failure reasons with their lines,
the judge's calls and tokens per call, prompt caching's numbers, reference_key hints, and the
optional PNG of the histograms. Deterministic (no timings but ``--fake-judge``'s, stable
ordering), so reports diff between spec versions. The rows are scored by ``reward_kit.dryrun``.
"""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, TextIO

from reward_kit.contract import sample_reference
from reward_kit.scoring import AGGREGATE
from reward_kit.spec import spec_hash

if TYPE_CHECKING:
    from reward_kit.dryrun import DryRunResult
    from reward_kit.judge_stats import JudgeStats

BAR_WIDTH = 40  # characters of the longest histogram bar
PERCENTILES = (10, 25, 50, 75, 90)
MAX_LISTED_LINES = 20  # line numbers shown per failure reason before "..."


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
    # The same hash the stack writes into each Lambda version's description (SpecHash output).
    w(f"spec hash: {spec_hash(spec)}\n")
    w(f"samples: {n}\n")
    pct = f" ({100.0 * result.failed / n:.1f}%)" if n else ""
    w(f"failed:  {result.failed}{pct} (samples with a failure reason, see below)\n")
    for key in [AGGREGATE, *result.dims]:
        _render_dimension(result, key, bins, w)
    _render_failures(result, w)
    render_judge(result, w)
    w(judge_caching_line(result.judge))
    _render_reference_key_hints(result, spec, w)
    if result.invalid_lines:
        w("\nlines that are not JSON:\n")
        for lineno, error in result.invalid_lines[:MAX_LISTED_LINES]:
            w(f"  line {lineno}: {error}\n")
        if len(result.invalid_lines) > MAX_LISTED_LINES:
            w(f"  ... and {len(result.invalid_lines) - MAX_LISTED_LINES} more\n")


def _render_dimension(result: DryRunResult, key: str, bins: int, w: Callable[[str], Any]) -> None:
    """One dimension's (or the aggregate's) statistics and histogram."""
    lo, hi = result.lo, result.hi
    values = result.values[key]
    s = summarize(values)
    if key != AGGREGATE and result.repeats_aggregate(key):
        w(f"\n== {key} (n={s['count']}): same values as aggregate\n")
        return
    w(f"\n== {key} (n={s['count']})\n")
    if not s["count"]:
        return
    w("  " + "  ".join(f"{k} {_fmt(s[k])}" for k in ("mean", "std", "min", "max")) + "\n")
    w("  " + "  ".join(f"p{p} {_fmt(s[f'p{p}'])}" for p in PERCENTILES) + "\n")
    edges = [lo + (hi - lo) * i / bins for i in range(bins + 1)]
    edge = "{:+.2f}" if lo < 0 else "{:.2f}"
    counts = histogram(values, lo, hi, bins)
    peak = max(counts) or 1
    for i, c in enumerate(counts):
        close = "]" if i == bins - 1 else ")"
        bar = "#" * (math.ceil(BAR_WIDTH * c / peak) if c else 0)
        w(f"  [{edge.format(edges[i])}, {edge.format(edges[i + 1])}{close} {c:>6} {bar}\n".replace(" \n", "\n"))


def _render_failures(result: DryRunResult, w: Callable[[str], Any]) -> None:
    w("\nfailure reasons:\n")
    failures = result.failures
    if not failures:
        w("  (none)\n")
    for reason, count in sorted(failures.items(), key=lambda kv: (-kv[1], kv[0])):
        lines = result.failure_lines[reason]
        shown = ",".join(str(x) for x in lines[:MAX_LISTED_LINES])
        more = ",..." if len(lines) > MAX_LISTED_LINES else ""
        w(f"  {reason:<24} {count:>6}  lines {shown}{more}\n")


def judge_caching_line(judge: JudgeStats) -> str:
    """The dry run's measure of what prompt caching has to work with: requests per (prompt,
    reference) group and the share of their characters that is the cacheable prefix, as
    cdk.json keys for the cost model, and the cache tokens Bedrock reported."""
    if not judge.requests:
        return ""
    group_size = max(1, round(judge.group_size or 1))
    share = math.floor((judge.prefix_share or 0.0) * 100) / 100  # rounded down: the saving is not overstated
    return (f"judge prompt caching: {judge.requests} requests in {judge.groups} (prompt, reference) group(s), "
            f"prefix share {share:.2f} of their characters; {judge.cache_read_tokens} tokens read from and "
            f"{judge.cache_write_tokens} written to Bedrock's cache (set judge_group_size: {group_size} and "
            f"judge_prefix_share: {share:.2f} in cdk.json to price caching)\n")


INVALID_REFERENCE = "invalid_reference"


def render_judge(result: DryRunResult, w: Any) -> None:
    """The judge's calls and, from the calls that were answered, tokens per call: advice that is
    valid config (both keys at least 1), or why there is none."""
    judge = result.judge
    if not judge.calls:
        return
    failed = sum(judge.errors.values()) + judge.abandoned
    answered = judge.calls - failed
    errors = ", ".join(f"{code} {n}" for code, n in sorted(judge.errors.items()))
    if judge.abandoned:
        errors = ", ".join(filter(None, [errors, f"abandoned at the deadline {judge.abandoned}"]))
    failures = f", {failed} failed: {errors}" if failed else ""
    w(f"\njudge: {judge.calls} calls ({judge.deduplicated} samples de-duplicated{failures}), "
      f"{judge.total_input_tokens} input + {judge.output_tokens} output tokens")
    if answered <= 0 or judge.total_input_tokens < 1 or judge.output_tokens < 1:
        w("; no tokens per call to configure: no call was answered with token usage (check AWS credentials, "
          "the region and JUDGE_MODEL_ID, or add --fake-judge for an offline estimate)\n")
        return
    # Rounded up: these are the numbers to configure, and the quota check wants no shortfall.
    # Every input token: Bedrock's inputTokens leaves out what was read from or written to the cache.
    input_per_call = math.ceil(judge.total_input_tokens / answered)
    output_per_call = math.ceil(judge.output_tokens / answered)
    w(f", per {'answered ' if failed else ''}call {input_per_call} input + {output_per_call} output "
      f"(set judge_input_tokens_per_call: {input_per_call} and judge_output_tokens_per_call: "
      f"{output_per_call} in cdk.json to size against Bedrock quotas and price the judge)\n")


def _reference_keys(spec: Mapping[str, Any]) -> list[str]:
    keys = [spec["reference_key"]] if isinstance(spec.get("reference_key"), str) else []
    for component in (spec.get("graders") or {}).values():
        if isinstance(component, Mapping):
            keys += _reference_keys(component)
    return keys


def _render_reference_key_hints(result: DryRunResult, spec: Mapping[str, Any], w: Callable[[str], Any]) -> None:
    hints = reference_key_hints(result, spec)
    if hints:
        w("\nreferences without the spec's reference_key:\n")
        for key, lines in sorted(hints.items()):
            shown = ",".join(str(x) for x in lines[:MAX_LISTED_LINES]) + (",..." if len(lines) > MAX_LISTED_LINES else "")
            w(f"  {INVALID_REFERENCE}: the reference object has no key {key!r} (reference_key): lines {shown}\n")


def reference_key_hints(result: DryRunResult, spec: Mapping[str, Any]) -> dict[str, list[int]]:
    """For ``invalid_reference`` lines: which reference_key their reference object lacks."""
    keys = _reference_keys(spec)
    hints: dict[str, list[int]] = {}
    if not keys:
        return hints
    for lineno in result.failure_lines.get(INVALID_REFERENCE, []):
        sample = result.samples.get(lineno)
        if not isinstance(sample, Mapping):
            continue
        reference = sample_reference(sample, sample.get("metadata"))
        if isinstance(reference, Mapping):
            for key in keys:
                if key not in reference:
                    hints.setdefault(key, []).append(lineno)
    return hints


def render_timing(result: DryRunResult, seconds: float, w: Any) -> None:
    """--fake-judge: the grader's own time, without Bedrock's latency (varies with the machine)."""
    n = len(result.outputs)
    calls = sorted(result.judge.call_seconds)
    w("\nfake judge (tools/fake_judge.py): token usage estimated from each request at 4 characters per "
      "input token, output = max_tokens; the scores above are the fake's constant verdict\n")
    if n:
        w(f"  timing: {n} samples in {seconds:.2f} s ({1000 * seconds / n:.1f} ms per sample")
        if calls:
            w(f"; judge calls p50 {1000 * statistics.median(calls):.1f} ms against the local fake")
        w(")\n")


def write_png(result: DryRunResult, path: str, bins: int) -> None:
    import matplotlib  # checked by _require_matplotlib before scoring

    matplotlib.use("Agg")  # no display on servers / CI
    import matplotlib.pyplot as plt

    lo, hi = result.lo, result.hi
    keys = [AGGREGATE] + [d for d in result.dims if not result.repeats_aggregate(d)]
    width = (hi - lo) / bins
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.4 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        # Same bins as the text report (matplotlib's own binning puts edge values elsewhere).
        counts = histogram(result.values[key], lo, hi, bins)
        ax.bar([lo + i * width for i in range(bins)], counts, width=width, align="edge",
               color="#4c72b0", edgecolor="white")
        ax.set_title(f"{key} (n={len(result.values[key])})")
        ax.set_xlim(lo, hi)
        ax.set_xlabel("reward" if key == AGGREGATE else f"{key} score")
        ax.set_ylabel("samples")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
