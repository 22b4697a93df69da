"""make bench, code grader: samples/s and per-sample latency for small programs with 5 stdin/stdout tests.

Ours: the ``code`` spec through the Scorer with the local executor (each sample one request
to ``code_sandbox.local`` in its own Linux namespaces as another user, its tests in forked,
limited children; verdicts in the grader; samples in parallel as the grader's traits say).
Baseline, measured in the same run on the same batch: AWS's sample style, a bare
``subprocess.run([python, "-c", program])`` per test, one after the other, no limits, no
isolation. Both use the same interpreter. Per-sample latency: from the start of a sample's
grading to its verdict (ours: inside the batch, waiting included; naive: its 5 runs).
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "lambdas"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

TESTS_PER_PROGRAM = 5
SINGLE_SAMPLES = 16  # invocations of one sample each
# (program, share of the tests it passes): correct, partial, wrong, crashing solutions of "sum the numbers".
PROGRAMS = (
    ("print(sum(map(int, input().split())))", 1.0),
    ("nums = [int(x) for x in input().split()]\ntotal = 0\nfor n in nums:\n    total += n\nprint(total)", 1.0),
    ("import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))", 1.0),
    ("nums = list(map(int, input().split()))\nprint(sum(nums) if len(nums) < 4 else 0)", None),
    ("print(max(map(int, input().split())))", None),
    ("print(int(input().split()[0]) + 'x')", 0.0),
)


def child_python() -> str:
    """The interpreter both sides run: the one the local executor runs (as root: one uid
    65534 can start, so /usr/bin/python3 rather than pyenv's under /root)."""
    from reward_kit.code_executor import LocalExecutor

    return LocalExecutor().ready()


def build_batch(samples: int, seed: int = 13) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    batch = []
    for i in range(samples):
        program, _ = PROGRAMS[i % len(PROGRAMS)]
        tests = []
        for _ in range(TESTS_PER_PROGRAM):
            numbers = [rng.randint(-50, 50) for _ in range(rng.randint(1, 6))]
            tests.append({"input": " ".join(map(str, numbers)) + "\n", "output": f"{sum(numbers)}\n"})
        batch.append({
            "id": f"code-{i}",
            "messages": [{"role": "user", "content": "Sum the numbers on the line."},
                         {"role": "assistant", "content": f"```python\n{program}\n```"}],
            "metadata": {"reference_answer": {"tests": tests}},
        })
    return batch


def naive_score(batch: list[dict[str, Any]], python: str) -> tuple[list[float], list[float]]:
    """AWS-sample style: a bare subprocess per test, sequential, the handler's environment.
    (scores, per-sample seconds)."""
    scores, latencies = [], []
    for sample in batch:
        started = time.perf_counter()
        program = sample["messages"][-1]["content"].split("```python\n", 1)[1].rsplit("```", 1)[0]
        tests = sample["metadata"]["reference_answer"]["tests"]
        passed = 0
        for test in tests:
            try:
                run = subprocess.run([python, "-c", program], input=test["input"], capture_output=True, text=True,
                                     timeout=2)
                passed += run.stdout.strip() == test["output"].strip()
            except subprocess.TimeoutExpired:
                pass
        scores.append(passed / len(tests))
        latencies.append(time.perf_counter() - started)
    return scores, latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def measure(samples: int = 64, reps: int = 3) -> dict[str, Any]:
    from reward_kit.graders import build_grader, traits_of, with_traits
    from reward_kit.scoring import AGGREGATE, Scorer
    from reward_kit.spec import validate_spec

    python = child_python()
    batch = build_batch(samples)
    spec = validate_spec({"grader": "code", "timeout_seconds": 2})
    grader = build_grader(spec)
    latencies: list[float] = []

    def timed(sample: Any) -> Any:
        started = time.perf_counter()
        try:
            return grader(sample)
        finally:
            latencies.append(time.perf_counter() - started)

    scorer = Scorer(spec, grader=with_traits(timed, traits_of(grader)))
    ours_seconds, naive_seconds = [], []
    ours_latencies: list[float] = []
    naive_latencies: list[float] = []
    ours_scores: list[float] = []
    naive_scores: list[float] = []
    scorer.score_event(batch[:2])  # warm-up: the executor's one-time probe, module imports
    latencies.clear()
    for _ in range(reps):  # taking turns: the machine's load shifts both alike
        start = time.perf_counter()
        ours_scores = scorer.score_event(batch, deadline=time.monotonic() + 600).values[AGGREGATE]
        ours_seconds.append(time.perf_counter() - start)
        ours_latencies += latencies
        latencies.clear()
        start = time.perf_counter()
        naive_scores, naive_run = naive_score(batch, python)
        naive_seconds.append(time.perf_counter() - start)
        naive_latencies += naive_run
    if ours_scores != naive_scores:
        raise RuntimeError(f"the two graders disagree: {ours_scores} vs {naive_scores}")
    # One sample per invocation (per-invocation overhead is paid on every call).
    single = []
    for sample in batch[:SINGLE_SAMPLES]:
        start = time.perf_counter()
        scorer.score_event([sample], deadline=time.monotonic() + 60)
        single.append(time.perf_counter() - start)
    return {
        "samples": samples,
        "concurrency": scorer.concurrency,
        "python": python,
        "ours_per_second": samples / statistics.median(ours_seconds),
        "naive_per_second": samples / statistics.median(naive_seconds),
        "ours_p50_ms": 1000 * percentile(ours_latencies, 0.5),
        "ours_p99_ms": 1000 * percentile(ours_latencies, 0.99),
        "naive_p50_ms": 1000 * percentile(naive_latencies, 0.5),
        "naive_p99_ms": 1000 * percentile(naive_latencies, 0.99),
        "ratio": statistics.median(n / o for o, n in zip(ours_seconds, naive_seconds)),
        "single_p50_ms": 1000 * percentile(single, 0.5),
        "single_p99_ms": 1000 * percentile(single, 0.99),
        "single_samples": len(single),
        "mean_score": statistics.fmean(ours_scores),
    }


def measure_report(samples: int, reps: int) -> tuple[list[str], float]:
    """The lines make bench prints, and the ratio ours/naive (samples/s)."""
    m = measure(samples, reps)
    return [
        f"code grader: {m['samples']} programs x {TESTS_PER_PROGRAM} stdin/stdout tests, {reps} turns, medians, "
        f"interpreter {m['python']}, {m['concurrency']} samples at once",
        f"  local executor (ours)     {m['ours_per_second']:8.1f} samples/s   p50 {m['ours_p50_ms']:7.1f} ms   "
        f"p99 {m['ours_p99_ms']:7.1f} ms per sample   (namespaces, uid 65534, limits; verdicts in the grader)",
        f"  bare subprocess (naive)   {m['naive_per_second']:8.1f} samples/s   p50 {m['naive_p50_ms']:7.1f} ms   "
        f"p99 {m['naive_p99_ms']:7.1f} ms per sample   (sequential, no limits, no isolation)",
        f"  ratio ours/naive          {m['ratio']:8.2f}x   (samples/s; same batch, same scores; mean {m['mean_score']:.3f})",
        f"  one sample per invocation (ours, {m['single_samples']} invocations): p50 {m['single_p50_ms']:.1f} ms, "
        f"p99 {m['single_p99_ms']:.1f} ms",
    ], m["ratio"]


if __name__ == "__main__":
    print("\n".join(measure_report(int(sys.argv[1]) if len(sys.argv) > 1 else 64, 3)[0]))
