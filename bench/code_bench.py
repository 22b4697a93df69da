"""make bench, code grader: samples/s for a batch of small programs with 5 stdin/stdout tests each.

Ours: the ``code`` spec through the Scorer (each test in its own sandboxed child: empty
environment, limits, own directory, process group; tests in parallel, bounded by
``code.grader.parallelism`` for a 2048 MB function). Baseline, measured in the same run on
the same batch: AWS's sample style, a bare ``subprocess.run([python, "-c", program])`` per
test, one after the other, no limits, no isolation. Both use the same interpreter.
"""

from __future__ import annotations

import os
import random
import shutil
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
    """The interpreter both sides run: the sandbox drops root to ``nobody``, which needs one
    outside /root (pyenv); the baseline uses the same one for a fair comparison."""
    if os.geteuid() != 0:
        return sys.executable
    return shutil.which("python3", path="/usr/bin:/usr/local/bin") or sys.executable


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


def naive_score(batch: list[dict[str, Any]], python: str) -> list[float]:
    """AWS-sample style: a bare subprocess per test, sequential, the handler's environment."""
    scores = []
    for sample in batch:
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
    return scores


def measure(samples: int = 64, reps: int = 3) -> dict[str, Any]:
    from reward_kit.scoring import AGGREGATE, Scorer

    python = child_python()
    os.environ["CODE_SANDBOX_PYTHON"] = python
    os.environ.setdefault("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    batch = build_batch(samples)
    scorer = Scorer({"grader": "code", "timeout_seconds": 2})
    ours_seconds, naive_seconds = [], []
    ours_scores: list[float] = []
    naive_scores: list[float] = []
    for _ in range(reps):  # taking turns: the machine's load shifts both alike
        start = time.perf_counter()
        ours_scores = scorer.score_event(batch).values[AGGREGATE]
        ours_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        naive_scores = naive_score(batch, python)
        naive_seconds.append(time.perf_counter() - start)
    if ours_scores != naive_scores:
        raise RuntimeError(f"the two graders disagree: {ours_scores} vs {naive_scores}")
    return {
        "samples": samples,
        "processes": scorer.concurrency,
        "python": python,
        "ours_per_second": samples / statistics.median(ours_seconds),
        "naive_per_second": samples / statistics.median(naive_seconds),
        "ratio": statistics.median(n / o for o, n in zip(ours_seconds, naive_seconds)),
        "mean_score": statistics.fmean(ours_scores),
    }


def measure_report(samples: int, reps: int) -> tuple[list[str], float]:
    """The lines make bench prints, and the ratio ours/naive."""
    m = measure(samples, reps)
    return [
        f"code grader: {m['samples']} programs x {TESTS_PER_PROGRAM} stdin/stdout tests, {reps} turns, medians, "
        f"children: {m['python']}, {m['processes']} at once",
        f"  sandboxed (ours)          {m['ours_per_second']:8.1f} samples/s",
        f"  bare subprocess (naive)   {m['naive_per_second']:8.1f} samples/s   (sequential, no limits, no isolation)",
        f"  ratio ours/naive          {m['ratio']:8.2f}x   (same batch, same scores; mean {m['mean_score']:.3f})",
    ], m["ratio"]


if __name__ == "__main__":
    print("\n".join(measure_report(int(sys.argv[1]) if len(sys.argv) > 1 else 64, 3)[0]))
