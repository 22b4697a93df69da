"""Dry-run a reward spec on your own rollouts before you spend a training run on it.

    python -m reward_kit.dryrun --data samples.jsonl --spec spec.json \
        [--png hist.png] [--bins 10] [--out scores.jsonl] [--batch-size 500] [--fake-judge]

``samples.jsonl`` holds one sample per line in the Nova reward-Lambda contract format
(``{"id", "messages": [...], "metadata": {"reference_answer": ...}}``); ``spec.json`` is
the exact JSON you would put in ``REWARD_SPEC``. The file is scored in batches with the
same ``Scorer`` the Lambda uses, and the report shows, per reward dimension, the score
distribution (percentiles and a text histogram over the output range) and the failure
reasons with counts. A reward that gives almost everyone the same score, or fails most
samples for one reason, is visible here in seconds.

A line that is not valid JSON (including bytes that are not UTF-8, or nesting too deep to
parse) does not abort the run: it becomes a failed sample (reason ``invalid_json_line``,
id ``line-<n>``) so the output keeps one entry per input line, and the report lists the
parser's message for it. Blank lines are skipped. The report is deterministic (no timings,
stable ordering) so it can be diffed between spec versions (``reward_kit.dryrun_report``
renders it).

A judge spec calls Bedrock (``JUDGE_MODEL_ID`` and AWS credentials in the shell) and the report
adds the judge's calls and tokens per call, the numbers for ``judge_input_tokens_per_call`` and
``judge_output_tokens_per_call``. ``--fake-judge`` answers those calls with the test suite's fake
Bedrock on 127.0.0.1 instead (``tools/fake_judge.py``): tokens per call estimated from the
requests your samples build, and the grader's own timing, offline; its scores mean nothing.

Exit codes: 0 scored, 2 unusable input (bad spec, unreadable file, missing matplotlib
for ``--png``, a judge spec without ``JUDGE_MODEL_ID``), always as one line on stderr.
"""

from __future__ import annotations

import argparse
import codecs
import json
import sys
import time
from collections import Counter
from contextlib import ExitStack
from typing import Any, Sequence, TextIO

from reward_kit.dryrun_report import MAX_LISTED_LINES, histogram, render_report, render_timing, summarize, write_png
from reward_kit.graders.base import InfrastructureError
from reward_kit.judge_stats import JudgeStats
from reward_kit.reasons import failure_metric
from reward_kit.scoring import AGGREGATE, Scorer
from reward_kit.spec import SpecError, parse_spec_json

# The report's statistics are part of the dry run's API (``dryrun.summarize``, ``dryrun.histogram``).
__all__ = [
    "INVALID_JSON_LINE",
    "MAX_LISTED_LINES",
    "DryRunResult",
    "UsageError",
    "histogram",
    "main",
    "read_samples",
    "score_rows",
    "summarize",
]

INVALID_JSON_LINE = "invalid_json_line"


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
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read data ({exc.strerror})") from None
    rows: list[tuple[int, Any, str | None]] = []
    # A BOM written by a spreadsheet or editor must not break line 1. Lines are split on
    # \n, \r\n and \r, like a text-mode file, and decoded one by one so that bytes that are
    # not UTF-8 (JSON text must be UTF-8) cost their own line only, instead of being
    # replaced and scored as if nothing happened.
    for lineno, raw in enumerate(data.removeprefix(codecs.BOM_UTF8).splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
            if not line.strip():
                continue
            rows.append((lineno, json.loads(line), None))
        except (ValueError, RecursionError) as exc:
            # UnicodeDecodeError, JSONDecodeError, a number too large to parse, or nesting
            # deeper than the parser's recursion limit.
            rows.append((lineno, None, str(exc)))
    return rows


# --- scoring ------------------------------------------------------------------------


FAILURE_PREFIX = failure_metric("")  # a failed sample carries the metric failure_<reason>


def failure_reasons(output: dict[str, Any]) -> list[str]:
    """The reasons a contract output carries (its ``failure_<reason>`` metrics)."""
    return [
        m["name"][len(FAILURE_PREFIX) :] for m in output["metrics_list"] if m["name"].startswith(FAILURE_PREFIX)
    ]


class DryRunResult:
    """Everything the report needs, in input order. Values and failure counts are read
    from the outputs themselves, so the report always describes what ``--out`` writes."""

    def __init__(self, dims: list[str], lo: float, hi: float) -> None:
        self.dims = dims
        self.lo, self.hi = lo, hi
        self.outputs: list[dict[str, Any]] = []
        self.values: dict[str, list[float]] = {AGGREGATE: [], **{d: [] for d in dims}}
        self.failure_lines: dict[str, list[int]] = {}
        self.invalid_lines: list[tuple[int, str]] = []  # (line number, JSON error)
        self.failed = 0
        self.samples: dict[int, Any] = {}  # line number -> parsed sample (for the report's hints)
        self.judge = JudgeStats()  # summed over batches: what a judge spec costs per call

    def add(self, lineno: int, output: dict[str, Any]) -> None:
        self.outputs.append(output)
        self.values[AGGREGATE].append(output["aggregate_reward_score"])
        # The first len(dims) entries of metrics_list are the Reward dimensions, in order.
        for dim, metric in zip(self.dims, output["metrics_list"]):
            self.values[dim].append(metric["value"])
        reasons = failure_reasons(output)
        self.failed += bool(reasons)
        for reason in reasons:
            self.failure_lines.setdefault(reason, []).append(lineno)

    @property
    def failures(self) -> Counter[str]:
        return Counter({reason: len(lines) for reason, lines in self.failure_lines.items()})

    def repeats_aggregate(self, dim: str) -> bool:
        """Whether ``dim`` has the aggregate's values (a single-grader spec): shown once."""
        return self.values[dim] == self.values[AGGREGATE]


def build_scorer(spec: dict[str, Any]) -> Scorer:
    """The Lambda's scorer; a judge it cannot build (no JUDGE_MODEL_ID) is a usage error."""
    from reward_kit.graders.judge import JudgeConfigError

    try:
        return Scorer(spec)
    except JudgeConfigError as exc:
        raise UsageError(f"{exc}; or add --fake-judge to measure tokens per call offline") from None


def score_rows(
    rows: list[tuple[int, Any, str | None]], spec: dict[str, Any], batch_size: int = 500,
    scorer: Scorer | None = None,
) -> DryRunResult:
    scorer = scorer or build_scorer(spec)
    result = DryRunResult(scorer.dimensions, *scorer.range)

    valid = [(lineno, sample) for lineno, sample, err in rows if err is None]
    scored: dict[int, dict[str, Any]] = {}
    for start in range(0, len(valid), batch_size):
        batch = valid[start : start + batch_size]
        scored_batch = scorer.score_event([sample for _, sample in batch])
        outputs = scored_batch.outputs
        if scored_batch.judge is not None:
            result.judge.merge(scored_batch.judge)
        if len(outputs) != len(batch):  # the contract promises one output per input
            raise RuntimeError(f"scorer returned {len(outputs)} outputs for {len(batch)} samples")
        scored.update(zip((lineno for lineno, _ in batch), outputs))

    for lineno, sample, err in rows:
        result.samples[lineno] = sample
        if err is None:
            output = scored[lineno]
        else:
            # Same shape as any broken sample: minimum on every dimension plus the reason.
            output = scorer.builder.failed(f"line-{lineno}", INVALID_JSON_LINE)
            result.invalid_lines.append((lineno, err))
        result.add(lineno, output)
    return result




def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401  (optional: only --png needs it)
    except ImportError:
        raise UsageError("--png needs matplotlib, which is not installed: pip install matplotlib") from None


def _fake_judge(spec: dict[str, Any]) -> Any:
    """tools/fake_judge.py's context (the repository's, not part of the Lambda bundle)."""
    from reward_kit.scoring import uses_judge

    if not uses_judge(spec):
        raise UsageError("--fake-judge: this spec calls no judge")
    try:
        from tools.fake_judge import fake_judge
    except ImportError as exc:
        raise UsageError(f"--fake-judge needs the repository's tools/ on the path (run it as make dryrun ... "
                         f"ARGS=--fake-judge from the repository root): {exc}") from None
    return fake_judge()


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
    p.add_argument("--fake-judge", action="store_true",
                   help="answer judge calls with the fake Bedrock on 127.0.0.1 (no credentials, no cost): "
                   "estimates tokens per call from your samples' requests and times the grader; scores mean nothing")
    return p


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = _parser().parse_args(argv)
    with ExitStack() as resources:
        try:
            if args.bins < 1:
                raise UsageError(f"--bins must be >= 1, got {args.bins}")
            if args.batch_size < 1:
                raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
            spec = load_spec(args.spec)
            if args.png:
                _require_matplotlib()  # fail before scoring, not after
            rows = read_samples(args.data)
            if args.fake_judge:
                resources.enter_context(_fake_judge(spec))
            scorer = build_scorer(spec)
            out_file = _open_out(args.out) if args.out else None  # fail before scoring, not after
        except UsageError as exc:
            err.write(f"error: {exc}\n")
            return 2
        started = time.perf_counter()
        try:
            result = score_rows(rows, spec, batch_size=args.batch_size, scorer=scorer)
        except InfrastructureError as exc:  # e.g. the code grader's local executor cannot start here
            err.write(f"error: {exc}\n")
            return 1
        seconds = time.perf_counter() - started
    render_report(result, data_path=args.data, spec=spec, bins=args.bins, out=out)
    if args.fake_judge:
        render_timing(result, seconds, out.write)

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
