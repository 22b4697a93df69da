"""make bench: our RLVR handler against the AWS blog's sample handler, measured in one run,
then the RLAIF handler against a fake Bedrock beside sequential calls (bench/judge_bench.py).

    python bench/run.py [--samples 1000] [--batch-sizes 1 8 64 1000] [--rounds 3] [--reps 7]
                        [--import-runs 5] [--seed N]

Both handlers score the same fixed, seeded batches (bench/dataset.py) with the label spec
shipped in examples/label/spec.json: the chABSA-style mix, and the same mix with every other
response replaced by long untagged prose that names its label only at the end. Every target
must hold on both. They run in fresh interpreters
(bench/worker.py) whose stdout and stderr go to a file, so every byte a handler logs is
counted, including Powertools' JSON log lines and EMF metric blobs. Each repetition is one
warm invocation on the whole batch (after one unmeasured warm-up invocation each); the two
handlers take turns within each interpreter, over several interpreters. The table reports
medians; the throughput ratio is the median of paired (same-turn) ratios.

Batch-size guidance: the chABSA mix is also scored as events of 1, 8 and 64 samples (one
invocation per event), and a second table gives log bytes per invocation and per sample and
samples/s for both handlers at every batch size: what batching buys. At one sample per
invocation (the shipped default) our log bytes per invocation must be at most 1/5 of the
baseline's. (The long-prose batch is measured whole only: it tests grading speed, and our
log bytes do not depend on the response text.)

Import time is measured in fresh interpreters too (median of several runs, after one
unmeasured run that warms the .pyc cache), alongside ``import math_verify`` to show the
handler does not load it for a label spec.

The math grader (bench/math_bench.py): the handler with a math spec, math-verify in its killable
workers, against math-verify called in-process, at 1 and 64 samples per invocation and on the
first invocation (import + first sample), measured in the same run.

The code grader's throughput and per-sample latency (bench/code_bench.py: 64 programs x 5
tests, through the local executor, samples in parallel) is measured against a bare sequential
``subprocess.run`` per test in the same run.

Exit code 1 when a target is missed. Nothing here is hard-coded: every number, including
the baseline, is measured in this run on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import judge_bench  # noqa: E402
from bench.dataset import SEED, build_batch, build_prose_batch  # noqa: E402

LABEL_SPEC = ROOT / "examples" / "label" / "spec.json"
WORKER = ROOT / "bench" / "worker.py"

# Targets (see README): ours vs the naive baseline, same batch, same run.
TARGET_THROUGHPUT_RATIO = 2.0  # ours / naive samples per second, at least
TARGET_LOG_RATIO = 50.0  # naive / ours log bytes per sample, at least
TARGET_IMPORT_MS = 150.0  # cold import of rlvr.handler, at most
TARGET_CODE_RATIO = 1.5  # code grader: local-executor samples/s / bare sequential subprocess samples/s, at least
TARGET_LOG_RATIO_ONE_SAMPLE = 5.0  # naive / ours log bytes per invocation at batch size 1, at least
BATCH_SIZES = (1, 8, 64, 1000)
# The contract layer alone (parse + outputs, a constant grader) must cost at most this share
# of the naive handler's whole batch (was a 0.5 s wall-clock assertion in a unit test).
TARGET_CONTRACT_RATIO = 2.0  # naive batch seconds / our contract-only seconds, at least


def spec_json() -> str:
    return json.dumps(json.loads(LABEL_SPEC.read_text(encoding="utf-8")), ensure_ascii=False, separators=(",", ":"))


# Settings that change what a handler logs or how it scores. None may leak in from the
# shell that runs `make bench` (POWERTOOLS_LOG_LEVEL=ERROR or POWERTOOLS_METRICS_DISABLED
# would shrink our log bytes, REWARD_LOG_SAMPLE_TEXT would inflate them): the handler runs
# with only what the stack deploys (stacks/config.py).
_HANDLER_ENV_PREFIXES = ("POWERTOOLS_", "REWARD_", "JUDGE_", "AWS_LAMBDA_")
_HANDLER_ENV_NAMES = ("LOG_LEVEL",)  # Powertools' legacy log-level variable


def child_env(spec: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith(_HANDLER_ENV_PREFIXES) or k in _HANDLER_ENV_NAMES)}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lambdas"), str(ROOT)])
    env["REWARD_SPEC"] = spec
    env["POWERTOOLS_SERVICE_NAME"] = "reward-bench"
    env["POWERTOOLS_LOG_LEVEL"] = "INFO"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # Lambda's stdout is a pipe, not a terminal; keep Python's default buffering for files.
    env.pop("PYTHONUNBUFFERED", None)
    return env


@dataclass
class Measurement:
    """One handler at one batch size: ``seconds`` and ``bytes`` per repetition, each
    repetition being ``invocations`` calls over ``n`` samples in all."""

    impl: str
    n: int
    seconds: list[float]
    bytes: list[int]
    outputs: list[dict[str, Any]]
    invocations: int = 1

    @property
    def samples_per_second(self) -> float:
        return self.n / statistics.median(self.seconds)

    @property
    def bytes_per_sample(self) -> float:
        return statistics.median(self.bytes) / self.n

    @property
    def bytes_per_invocation(self) -> float:
        return statistics.median(self.bytes) / self.invocations


def measure_handlers(
    impls: tuple[str, ...], samples: list[dict[str, Any]], reps: int, spec: str, batch_size: int | None = None
) -> dict[str, Measurement]:
    """Run the handlers in turns, `reps` repetitions each over the samples split into events
    of `batch_size` (default: one event of all of them), in one fresh interpreter whose
    stdout+stderr go to a file (so every logged byte is counted)."""
    size = batch_size or len(samples)
    with tempfile.TemporaryDirectory(prefix="reward-bench-") as tmp:
        data = Path(tmp) / "batch.json"
        data.write_text(json.dumps(samples, ensure_ascii=False), encoding="utf-8")
        result = Path(tmp) / "result.json"
        log = Path(tmp) / "log.txt"
        cmd = [sys.executable, str(WORKER), "--impl", *impls, "--data", str(data), "--reps", str(reps),
               "--batch-size", str(size), "--result", str(result)]
        with open(log, "wb") as sink:
            proc = subprocess.run(cmd, stdout=sink, stderr=subprocess.STDOUT, env=child_env(spec), cwd=ROOT)
        if proc.returncode != 0:
            tail = log.read_bytes()[-2000:].decode("utf-8", "replace")
            raise RuntimeError(f"bench worker failed (exit {proc.returncode}):\n{tail}")
        r = json.loads(result.read_text(encoding="utf-8"))
    n = len(samples) // size * size
    return {
        impl: Measurement(impl, n, r[impl]["seconds"], r[impl]["bytes"], r[impl]["outputs"], r[impl]["invocations"])
        for impl in impls
    }


def _combine(rounds: list[Measurement]) -> Measurement:
    """One handler's rounds as one measurement; repetitions stay in order, so the i-th
    invocation of each handler is still a pair."""
    last = rounds[-1]
    seconds = [t for m in rounds for t in m.seconds]
    return Measurement(last.impl, last.n, seconds, [b for m in rounds for b in m.bytes], last.outputs, last.invocations)


_IMPORT_PROBE = (
    "import sys, time\n"
    "t = time.perf_counter()\n"
    "import {module}\n"
    "dt = time.perf_counter() - t\n"
    "print(dt, 'math_verify' in sys.modules)\n"
)


def measure_import(module: str, runs: int, spec: str) -> tuple[float, bool]:
    """Median seconds to import `module` in a fresh interpreter; whether math_verify got loaded."""
    times, loaded = [], False
    for i in range(runs + 1):  # run 0 only warms the .pyc cache
        out = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE.format(module=module)],
            capture_output=True, text=True, env=child_env(spec), cwd=ROOT,
        )
        if out.returncode != 0:
            raise RuntimeError(f"import {module} failed:\n{out.stderr[-2000:]}")
        dt, mv = out.stdout.split()[-2:]
        if i:
            times.append(float(dt))
            loaded = loaded or mv == "True"
    return statistics.median(times), loaded


def measure_contract(samples: list[Any], reps: int) -> list[float]:
    """Seconds per batch of ``Scorer.score_event`` with a constant grader: the contract layer's
    own cost (parsing, ids, outputs), in this process, after one warm-up."""
    for path in (str(ROOT / "lambdas"),):
        if path not in sys.path:
            sys.path.insert(0, path)
    import time

    from reward_kit.graders.base import GradeInput, GradeResult
    from reward_kit.scoring import Scorer

    def constant(_sample: GradeInput) -> GradeResult:
        return GradeResult(score=1.0, rewards={"sentiment": 1.0})

    scorer = Scorer(json.loads(spec_json()), grader=constant)
    scorer.score_event(samples)
    seconds = []
    for _ in range(reps):
        started = time.perf_counter()
        result = scorer.score_event(samples)
        seconds.append(time.perf_counter() - started)
        if len(result.outputs) != len(samples):
            raise SystemExit(f"contract: {len(result.outputs)} outputs for {len(samples)} samples")
    return seconds


def output_score(output: dict[str, Any]) -> float:
    return float(output.get("aggregate_reward_score", 0.0))


def by_category(categories: list[str], ours: Measurement, naive: Measurement) -> list[tuple[str, int, float, float]]:
    """Mean reward per sample category; outputs are matched by position (one per input)."""
    acc: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for cat, o, b in zip(categories, ours.outputs, naive.outputs):
        acc[cat.split(":")[0]].append((output_score(o), output_score(b)))
    rows = []
    for cat in sorted(acc):
        pairs = acc[cat]
        rows.append((cat, len(pairs), statistics.fmean(p[0] for p in pairs), statistics.fmean(p[1] for p in pairs)))
    return rows


def batch_size_table(by_size: dict[int, tuple[Measurement, Measurement]]) -> str:
    """What batching buys: log bytes per invocation and per sample, samples/s, both handlers."""
    header = ("batch size", "invocations", "ours B/invocation", "naive B/invocation", "ours B/sample",
              "naive B/sample", "ours samples/s", "naive samples/s")
    rows = [header]
    for size, (ours, naive) in sorted(by_size.items()):
        rows.append((f"{size:,}", f"{ours.invocations:,}",
                     f"{ours.bytes_per_invocation:,.0f}", f"{naive.bytes_per_invocation:,.0f}",
                     f"{ours.bytes_per_sample:,.1f}", f"{naive.bytes_per_sample:,.1f}",
                     f"{ours.samples_per_second:,.0f}", f"{naive.samples_per_second:,.0f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["by batch size (log bytes per invocation and per sample, samples/s; the same samples "
             "split into events of that size):"]
    lines += ["  ".join(cell.rjust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    return "\n".join(lines)


def _ratio_text(x: float) -> str:
    return f"{x:,.1f}x"


# (name, builder): both batches must meet every target.
BATCHES = (("chABSA mix", build_batch), ("long prose", build_prose_batch))


Row = tuple[str, str, str, str, str, bool]


def measure_batch(
    batch_name: str, samples: list[dict[str, Any]], categories: list[str], spec: str, args: argparse.Namespace,
    batch_sizes: tuple[int, ...] = (),
) -> tuple[list[Row], dict[int, tuple[Measurement, Measurement]]]:
    """Throughput and log rows for one batch, and (ours, naive) by batch size: the whole batch,
    and each of ``batch_sizes`` below it. Prints its wall times and mean reward by category."""
    # Several fresh interpreters; inside each the two handlers take turns (bench/worker.py).
    sizes = sorted({b for b in batch_sizes if 1 <= b < len(samples)} | {len(samples)})
    by_size: dict[int, tuple[Measurement, Measurement]] = {}
    for size in sizes:
        rounds = [measure_handlers(("ours", "naive"), samples, args.reps, spec, size) for _ in range(args.rounds)]
        by_size[size] = (_combine([r["ours"] for r in rounds]), _combine([r["naive"] for r in rounds]))
        for m in by_size[size]:
            if len(m.outputs) != m.n:
                raise SystemExit(f"{m.impl}: {len(m.outputs)} outputs for {m.n} samples")
    ours, naive = by_size[len(samples)]
    # Ratio of paired invocations (same round, same repetition): robust to the machine
    # getting faster or slower during the run, which shifts both sides of a pair alike.
    tp_ratio = statistics.median(b / o for o, b in zip(ours.seconds, naive.seconds))
    log_ratio = naive.bytes_per_sample / ours.bytes_per_sample if ours.bytes_per_sample else float("inf")
    contract_seconds = measure_contract(samples, args.reps * args.rounds)
    contract_ratio = statistics.median(naive.seconds) / statistics.median(contract_seconds)
    print(f"\n[{batch_name}] median batch wall time: ours {statistics.median(ours.seconds) * 1000:,.1f} ms, "
          f"naive {statistics.median(naive.seconds) * 1000:,.1f} ms; "
          f"log bytes per invocation: ours {statistics.median(ours.bytes):,.0f}, naive {statistics.median(naive.bytes):,.0f}")
    print(f"[{batch_name}] mean reward by sample category (what each handler pays for):")
    cat_rows = by_category(categories, ours, naive)
    w = max(len(c) for c, *_ in cat_rows)
    print(f"  {'category'.ljust(w)}  {'n':>4}  {'ours':>6}  {'naive':>6}")
    for cat, n, o, b in cat_rows:
        print(f"  {cat.ljust(w)}  {n:>4}  {o:>6.3f}  {b:>6.3f}")
    rows: list[Row] = [
        (f"{batch_name}: throughput (samples/s)", f"{ours.samples_per_second:,.0f}", f"{naive.samples_per_second:,.0f}",
         _ratio_text(tp_ratio), f">= {TARGET_THROUGHPUT_RATIO:g}x naive", tp_ratio >= TARGET_THROUGHPUT_RATIO),
        (f"{batch_name}: log bytes per sample", f"{ours.bytes_per_sample:,.1f}", f"{naive.bytes_per_sample:,.1f}",
         f"1/{log_ratio:,.0f}", f"<= 1/{TARGET_LOG_RATIO:g} of naive", log_ratio >= TARGET_LOG_RATIO),
        (f"{batch_name}: contract layer (ms/batch)", f"{statistics.median(contract_seconds) * 1000:,.1f}",
         f"{statistics.median(naive.seconds) * 1000:,.1f}", _ratio_text(contract_ratio),
         f">= {TARGET_CONTRACT_RATIO:g}x naive batch", contract_ratio >= TARGET_CONTRACT_RATIO),
    ]
    if len(sizes) > 1:  # the smallest batch size: the shipped default is one sample per invocation
        one_ours, one_naive = by_size[sizes[0]]
        one_ratio = one_naive.bytes_per_invocation / one_ours.bytes_per_invocation if one_ours.bytes else float("inf")
        rows.append((f"{batch_name}: log bytes per invocation, {sizes[0]} sample(s)",
                     f"{one_ours.bytes_per_invocation:,.0f}", f"{one_naive.bytes_per_invocation:,.0f}",
                     f"1/{one_ratio:,.1f}", f"<= 1/{TARGET_LOG_RATIO_ONE_SAMPLE:g} of naive",
                     one_ratio >= TARGET_LOG_RATIO_ONE_SAMPLE))
    return rows, by_size


def print_table(rows: list[Row]) -> None:
    header = ("metric", "ours", "naive", "ratio", "target", "result")
    table = [header] + [(m, o, n, r, t, "PASS" if ok else "FAIL") for m, o, n, r, t, ok in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    print()
    for row in table:
        print("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
    print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES),
                    help="samples per invocation for the batch-size table, on the chABSA mix (sizes above "
                         "--samples are left out; --samples itself is always measured)")
    ap.add_argument("--rounds", type=int, default=3, help="fresh interpreters, each running both handlers in turns")
    ap.add_argument("--reps", type=int, default=7, help="measured invocations per handler per round")
    ap.add_argument("--import-runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--judge-samples", type=int, default=64, help="judge section: samples per batch")
    ap.add_argument("--judge-latency", type=float, default=0.2, help="judge section: fake Bedrock latency (s)")
    ap.add_argument("--judge-reps", type=int, default=3, help="judge section: warm invocations")
    ap.add_argument("--math-rounds", type=int, default=3,
                    help="math section: fresh interpreters per side for the warm rows; 0 skips it")
    ap.add_argument("--math-reps", type=int, default=3, help="math section: measured passes per interpreter")
    ap.add_argument("--math-first-runs", type=int, default=5, help="math section: fresh interpreters per side, first invocation")
    ap.add_argument("--code-samples", type=int, default=64, help="code grader batch (programs x 5 tests); 0 skips it")
    ap.add_argument("--code-reps", type=int, default=3)
    args = ap.parse_args(argv)

    spec = spec_json()
    print(f"spec examples/label/spec.json, {args.samples} samples per batch (seed {args.seed}), "
          f"{args.rounds}x{args.reps} warm invocations per handler (taking turns), medians; Python {sys.version.split()[0]}")
    rows: list[Row] = []
    size_tables: list[tuple[str, dict[int, tuple[Measurement, Measurement]]]] = []
    for i, (batch_name, build) in enumerate(BATCHES):
        samples, categories = build(args.samples, args.seed)
        # Batch sizes on the first batch only (see the module docstring).
        batch_rows, by_size = measure_batch(batch_name, samples, categories, spec, args,
                                            tuple(args.batch_sizes) if i == 0 else ())
        rows += batch_rows
        if len(by_size) > 1:
            size_tables.append((batch_name, by_size))

    imp_ours, mv_loaded = measure_import("rlvr.handler", args.import_runs, spec)
    imp_naive, _ = measure_import("bench.naive_handler", args.import_runs, spec)
    imp_mv, _ = measure_import("math_verify", args.import_runs, spec)
    rows.append(("import time (ms)", f"{imp_ours * 1000:,.1f}", f"{imp_naive * 1000:,.1f}",
                 "-", f"< {TARGET_IMPORT_MS:g} ms", imp_ours * 1000 < TARGET_IMPORT_MS))
    print_table(rows)
    print(f"for comparison: import math_verify = {imp_mv * 1000:,.1f} ms; "
          f"loaded by `import rlvr.handler` with a label spec: {'YES' if mv_loaded else 'no'}")
    for batch_name, by_size in size_tables:
        print(f"\n[{batch_name}] {batch_size_table(by_size)}")

    failed = [r[0] for r in rows if not r[5]]
    print()
    judge_lines, judge_ok = judge_bench.run(args.judge_samples, args.judge_latency, reps=args.judge_reps)
    print("\n".join(judge_lines))
    if not judge_ok:
        failed.append("judge")
    if args.math_rounds > 0:
        from bench import math_bench

        math_lines, math_ok = math_bench.run(args.math_rounds, args.math_reps, args.math_first_runs)
        print()
        print("\n".join(math_lines))
        if not math_ok:
            failed.append("math")
    if args.code_samples > 0:
        from bench.code_bench import measure_report

        lines, code_ratio = measure_report(args.code_samples, args.code_reps)
        ok = code_ratio >= TARGET_CODE_RATIO
        print()
        lines[3] += f"   target >= {TARGET_CODE_RATIO:g}x: {'PASS' if ok else 'FAIL'}"
        print("\n".join(lines))
        if not ok:
            failed.append("code grader throughput")
    if failed:
        print(f"\nFAIL: {', '.join(failed)}")
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
