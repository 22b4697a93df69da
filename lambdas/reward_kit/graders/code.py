"""``code`` grader: the program in the final answer against the reference's tests; verdicts here.

Spec: ``{"grader": "code", "language": "python", "timeout_seconds": 2, "memory_mb": 256,
"max_output_bytes": 65536, "all_or_nothing": false, "prelude": "..."}`` (bounds and the
default prelude in ``reward_kit.spec``).

The program (the last fenced code block of the final answer, else the whole final answer)
never runs here: the code executor (``reward_kit.code_executor``: the environment's executor
function in AWS, ``code_sandbox.local`` in namespaces elsewhere) runs it with the test
INPUTS of one sample per request and returns raw results, plain data only. Expected outputs
and test code stay in this process and every verdict is computed here.

Reference formats (a JSON object, or its JSON text; ``reference_key`` picks a key of it):
- stdin/stdout: ``{"tests": [{"input": "1 2\\n", "output": "3\\n"}, ...]}`` (LiveCodeBench
  ``testtype: "stdin"`` too), or APPS/TACO/verl prime_code ``{"inputs": [...], "outputs":
  [...]}`` without ``fn_name``. A test passes when the program exits 0 and its stdout equals
  ``output`` up to trailing whitespace (each line's, and trailing blank lines).
- call-based: ``{"fn_name": "f", "inputs": [[args...], ...], "outputs": [value, ...]}``
  (APPS/TACO/prime_code: an output may be wrapped in a one-item list), or
  ``{"tests": [{"input": "<one JSON value per line>", "output": "<JSON>", "testtype":
  "functional"}], "fn_name"|"func_name": "f"}`` (LiveCodeBench). ``f`` is a top-level function
  or a method of ``class Solution``. A test passes when the returned value (plain data;
  tuples compare as lists) equals the expected one.
- assert-based: ``{"test_code": "assert add(1, 2) == 3\\n..."}`` (or a list of such strings,
  or HumanEval's ``{"test": "def check(candidate): ...", "entry_point": "add"}``), top-level
  asserts, ``def check(candidate)`` and pytest-style ``def test_*():`` functions: replayed
  here, the program's calls answered by the executor (``reward_kit.code_replay``).

Score: share of tests passed (``all_or_nothing``: 1 only when all pass); ``format_score``
when the program runs but passes none. Reasons (only when nothing passed, or the sample
could not be finished): ``no_code``, ``invalid_reference``, ``code_syntax_error``,
``code_timeout``, ``code_memory_limit``, ``code_output_limit``, ``code_file_limit``,
``code_not_plain`` (results that are not plain data), ``code_crash``,
``code_executor_error`` (the executor failed on this sample), ``code_deadline``. An executor
that cannot run at all raises ``ExecutorUnavailable``: the invocation fails.

This module holds the spec (``validate``), the program's extraction, the sample's time share
and the score; the reference's suites and comparisons are in ``reward_kit.code_reference``,
the requests to the executor and the test statuses in ``reward_kit.code_session``.
"""

from __future__ import annotations

import math
import os
import re
from typing import TYPE_CHECKING, Any, Mapping

from reward_kit.checks import show
from reward_kit.code_reference import CallSuite, StdioSuite, parse_reference
from reward_kit.code_session import CRASH, DEADLINE, EXECUTOR_ERROR, NOT_PLAIN, PASSED, SYNTAX_ERROR, Session
from reward_kit.deadline import current_batch, remaining_seconds
from reward_kit.extraction import final_answer_region
from reward_kit.graders.base import GradeInput, GradeResult, Grader, GraderTraits, with_traits
from reward_kit.reasons import CODE_EXECUTOR_ERROR
from reward_kit.spec_checks import SpecError, checks, reference_key

if TYPE_CHECKING:  # the executor loads when a code grader is built (kinds.py imports this module)
    from reward_kit.code_executor import Executor

__all__ = ["DEADLINE_REASON", "build", "extract_program"]

# code defaults and bounds: per test run (the executor's limits, code_sandbox.runner.Limits).
CODE_LANGUAGES = ("python",)
CODE_DEFAULT_TIMEOUT_SECONDS = 2.0
CODE_MAX_TIMEOUT_SECONDS = 30.0
CODE_DEFAULT_MEMORY_MB = 256
CODE_MEMORY_MB_RANGE = (64, 4096)
CODE_DEFAULT_MAX_OUTPUT_BYTES = 65_536
CODE_MAX_OUTPUT_BYTES_RANGE = (1_024, 1_048_576)
CODE_MAX_PRELUDE_CHARS = 20_000
# Prepended to every program (same namespace) unless the spec sets "prelude" ("" for none): the
# names the peers' harnesses (LeetCode, LiveCodeBench) import before a solution runs.
CODE_DEFAULT_PRELUDE = """\
import bisect, collections, functools, heapq, itertools, math, string
from bisect import bisect, bisect_left, bisect_right, insort, insort_left, insort_right
from collections import Counter, OrderedDict, defaultdict, deque, namedtuple
from functools import cache, cmp_to_key, lru_cache, reduce
from heapq import heapify, heappop, heappush, heappushpop, heapreplace, nlargest, nsmallest
from itertools import accumulate, chain, combinations, combinations_with_replacement, count, cycle, groupby, \\
    islice, permutations, product, repeat, starmap, zip_longest
from math import ceil, comb, factorial, floor, gcd, inf, isqrt, lcm, log, log2, perm, sqrt
from string import ascii_letters, ascii_lowercase, ascii_uppercase, digits
from typing import Any, Callable, Deque, Dict, FrozenSet, Generator, Iterable, Iterator, List, Optional, Set, \\
    Tuple, Union
"""

DEADLINE_REASON = "code_deadline"
LAMBDA_SAMPLE_CONCURRENCY = 64  # requests in flight per invocation (each one executor environment)
LOCAL_PROCESSES_PER_SAMPLE = 2
# Statuses that make a sample's reason when nothing passed, most telling first.
_SEVERITY = (DEADLINE, EXECUTOR_ERROR, SYNTAX_ERROR, "memory_limit", "timeout", "output_limit", "file_limit",
             NOT_PLAIN, CRASH)
_FENCE_RE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_OPEN_FENCE_RE = re.compile(r"```[^\n`]*\n")


def extract_program(response: Any) -> str:
    """The last fenced code block of the final answer, else the whole final answer."""
    region = final_answer_region(response)
    blocks = _FENCE_RE.findall(region)
    if blocks:
        return str(blocks[-1])
    opening = list(_OPEN_FENCE_RE.finditer(region))
    if opening:  # an unterminated last block (a truncated answer): what follows the fence
        return region[opening[-1].end():]
    return region


# --- concurrency and the sample's time share ---------------------------------------------------


def _sample_concurrency(executor: Executor) -> int:
    from reward_kit.code_executor import LambdaExecutor

    if isinstance(executor, LambdaExecutor):
        return LAMBDA_SAMPLE_CONCURRENCY
    return max(2, min(16, 2 * (os.cpu_count() or 1)))  # local: each sample is a process tree


def fair_budget() -> float | None:
    """This sample's share of the time left: the time left divided by the waves of samples
    still to start (not a queue position: a sample that starts late gets as much as one that
    started early, a looping one spends only its own share). None: no deadline."""
    left = remaining_seconds()
    if left is None:
        return None
    batch = current_batch()
    if batch is None:
        return left
    with batch.lock:
        started = batch.shared.get("code_started", 0) + 1
        batch.shared["code_started"] = started
    waiting = max(1, batch.size - started + 1)
    waves = max(1, math.ceil(waiting / max(1, batch.concurrency)))
    return left / waves


# --- the spec ----------------------------------------------------------------------------------


def validate(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Check the spec's ``code`` keys at ``path`` and write them, normalized, to ``out``."""
    out["language"] = checks.one_of(f"{path}.language", spec.get("language", "python"), CODE_LANGUAGES)
    out["timeout_seconds"] = checks.number(
        f"{path}.timeout_seconds", spec.get("timeout_seconds", CODE_DEFAULT_TIMEOUT_SECONDS),
        gt=0, le=CODE_MAX_TIMEOUT_SECONDS,
    )
    lo, hi = CODE_MEMORY_MB_RANGE
    out["memory_mb"] = checks.integer(f"{path}.memory_mb", spec.get("memory_mb", CODE_DEFAULT_MEMORY_MB), ge=lo, le=hi)
    lo, hi = CODE_MAX_OUTPUT_BYTES_RANGE
    out["max_output_bytes"] = checks.integer(
        f"{path}.max_output_bytes", spec.get("max_output_bytes", CODE_DEFAULT_MAX_OUTPUT_BYTES), ge=lo, le=hi
    )
    out["all_or_nothing"] = checks.boolean(f"{path}.all_or_nothing", spec.get("all_or_nothing", False))
    if "prelude" in spec:  # absent: CODE_DEFAULT_PRELUDE (kept out of the spec, and of its hash)
        out["prelude"] = _prelude(f"{path}.prelude", spec["prelude"])
    reference_key(path, spec, out)  # the key of the reference object that holds the tests


def _prelude(path: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > CODE_MAX_PRELUDE_CHARS:
        raise SpecError(f"{path}: must be Python source of at most {CODE_MAX_PRELUDE_CHARS:,} characters, "
                        f"got {show(value)}")
    try:
        compile(value, "prelude.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise SpecError(
            f"{path}: must be valid Python, got a syntax error on line {getattr(exc, 'lineno', '?')}"
        ) from None
    return value


# --- the grader --------------------------------------------------------------------------------


def build(spec: Mapping[str, Any], executor: Executor | None = None) -> Grader:
    from reward_kit.code_executor import LocalExecutor, executor_from_env

    name = spec.get("name") or spec["grader"]
    output_bytes = int(spec.get("max_output_bytes", 65_536))
    limits = {"seconds": float(spec.get("timeout_seconds", 2.0)), "memory_mb": int(spec.get("memory_mb", 256)),
              "output_bytes": output_bytes, "file_bytes": max(1 << 20, output_bytes + 1)}
    prelude = spec.get("prelude")
    prelude = CODE_DEFAULT_PRELUDE if prelude is None else str(prelude)
    all_or_nothing = bool(spec.get("all_or_nothing", False))
    reference_key = spec.get("reference_key")
    format_score = float(spec.get("format_score", 0.0))
    runner = executor if executor is not None else executor_from_env()
    # Locally every sample is a process tree of its own: two children each is enough.
    local_processes = LOCAL_PROCESSES_PER_SAMPLE if isinstance(runner, LocalExecutor) else None

    def result(score: float, reason: str | None, metrics: dict[str, float]) -> GradeResult:
        return GradeResult(score=score, rewards={name: score}, metrics=metrics, reason=reason)

    def grade(sample: GradeInput) -> GradeResult:
        program = extract_program(sample.response)
        if not program.strip():
            return result(0.0, "no_code", {"tests_total": 0.0, "tests_passed": 0.0})
        suite = parse_reference(sample.reference, reference_key)
        if suite is None:
            return result(0.0, "invalid_reference", {"tests_total": 0.0, "tests_passed": 0.0})
        budget = fair_budget()
        session = Session(runner, program, prelude, limits, budget, local_processes)
        if isinstance(suite, StdioSuite):
            statuses = session.stdio(suite)
        elif isinstance(suite, CallSuite):
            statuses = session.calls(suite)
        else:
            statuses = session.replay(suite)
        return _score(statuses, all_or_nothing, format_score, result)

    concurrency = _sample_concurrency(runner)
    return with_traits(grade, GraderTraits(concurrency=concurrency, timeout_reason=DEADLINE_REASON))


def _score(statuses: list[str], all_or_nothing: bool, format_score: float, result: Any) -> GradeResult:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    passed = counts.pop(PASSED, 0)
    metrics = {"tests_total": float(len(statuses)), "tests_passed": float(passed)}
    metrics.update({f"tests_{status}": float(count) for status, count in sorted(counts.items())})
    if DEADLINE in counts:
        return result(0.0, DEADLINE_REASON, metrics)
    if EXECUTOR_ERROR in counts:
        return result(0.0, CODE_EXECUTOR_ERROR, metrics)
    if SYNTAX_ERROR in counts:
        return result(0.0, "code_syntax_error", metrics)
    credit = (1.0 if passed == len(statuses) else 0.0) if all_or_nothing else passed / len(statuses)
    reason = None
    if passed == 0:
        reason = next((f"code_{status}" for status in _SEVERITY if status in counts), None)
        credit = format_score
    return result(credit, reason, metrics)

