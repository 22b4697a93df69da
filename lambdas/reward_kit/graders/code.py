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
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from reward_kit import plain_data
from reward_kit.checks import show
from reward_kit.deadline import current_batch, remaining_seconds
from reward_kit.extraction import final_answer_region
from reward_kit.graders.base import GradeInput, GradeResult, Grader, GraderTraits, with_traits
from reward_kit.reasons import CODE_EXECUTOR_ERROR
from reward_kit.spec_checks import SpecError, checks, reference_key

if TYPE_CHECKING:  # the executor and the replay load when a code grader is built (kinds.py imports this module)
    from reward_kit import code_replay
    from reward_kit.code_executor import Executor

__all__ = ["DEADLINE_REASON", "build", "extract_program", "parse_reference", "same_output"]

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
MAX_TESTS = 100  # per reference
MAX_ROUNDS = 6  # replay rounds (requests) per sample
MAX_CALLS_PER_REQUEST = 2_000
MAX_RUNS_PER_REQUEST = 100
REQUEST_BUDGET_BYTES = 5 * 1024 * 1024  # Lambda's synchronous request limit is 6 MB
RESPONSE_BUDGET_BYTES = 5 * 1024 * 1024
MIN_SAMPLE_SECONDS = 0.1
TRANSPORT_MARGIN_SECONDS = 3.0  # start-up / invoke overhead beyond the request's own budget
LAMBDA_SAMPLE_CONCURRENCY = 64  # requests in flight per invocation (each one executor environment)
LOCAL_PROCESSES_PER_SAMPLE = 2
# Test statuses. Executor statuses pass through; these are the grader's own.
PASSED, WRONG_ANSWER, EXECUTOR_ERROR, NOT_PLAIN, CRASH, DEADLINE, SYNTAX_ERROR = (
    "passed", "wrong_answer", "executor_error", "not_plain", "crash", "deadline", "syntax_error")
_RUN_STATUSES = frozenset({"syntax_error", "timeout", "memory_limit", "output_limit", "file_limit", "crash",
                           "deadline", NOT_PLAIN})
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


def normalize_output(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).rstrip("\n")


def same_output(actual: str, expected: str) -> bool:
    """Equal up to trailing whitespace on each line and trailing blank lines."""
    return normalize_output(actual) == normalize_output(expected)


# --- references ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StdioSuite:
    cases: tuple[tuple[str, str], ...]  # (stdin, expected stdout)

    @property
    def size(self) -> int:
        return len(self.cases)


@dataclass(frozen=True)
class CallSuite:
    function: str
    cases: tuple[tuple[Any, Any, bool], ...]  # (encoded args, expected value, a one-item list may wrap it)

    @property
    def size(self) -> int:
        return len(self.cases)


@dataclass(frozen=True)
class AssertSuite:
    replay: code_replay.ReplaySuite

    @property
    def size(self) -> int:
        return len(self.replay.units)


Suite = StdioSuite | CallSuite | AssertSuite


def parse_reference(reference: Any, reference_key: str | None = None) -> Suite | None:
    """The tests a reference carries (under ``reference_key`` when given), or None when it is
    unusable (``invalid_reference``)."""
    if isinstance(reference, str):
        try:
            reference = json.loads(reference)
        except (ValueError, RecursionError):
            return None
    if reference_key is not None:
        reference = reference.get(reference_key) if isinstance(reference, Mapping) else None
    if not isinstance(reference, Mapping):
        return None
    styles = [key for key in ("tests", "inputs", "test_code", "test") if key in reference]
    if len(styles) != 1 and styles != ["test_code", "test"]:
        return None
    function = reference.get("fn_name") or reference.get("func_name")
    if function is not None and not (isinstance(function, str) and function.isidentifier()):
        return None
    try:
        if styles[0] == "tests":
            return _parse_tests(reference["tests"], function)
        if styles[0] == "inputs":
            return _parse_inputs(reference["inputs"], reference.get("outputs"), function)
        source = reference.get("test_code", reference.get("test"))
        entry = reference.get("entry_point")
        if entry is not None and not (isinstance(entry, str) and entry.isidentifier()):
            return None
        return _parse_test_code(source, entry)
    except (ValueError, TypeError, RecursionError, plain_data.NotPlain):
        return None


def _parse_tests(items: Any, function: str | None) -> Suite | None:
    if not isinstance(items, list) or not 0 < len(items) <= MAX_TESTS:
        return None
    if all(isinstance(i, Mapping) and i.get("testtype") == "functional" for i in items):
        if function is None:
            return None
        cases = []
        for item in items:
            if not isinstance(item.get("input"), str) or not isinstance(item.get("output"), str):
                return None
            args = [json.loads(line) for line in item["input"].split("\n") if line.strip()]
            cases.append((plain_data.encode(args), json.loads(item["output"]), False))
        return CallSuite(function, tuple(cases))
    if function is not None and any(isinstance(i, Mapping) and i.get("testtype") == "functional" for i in items):
        return None  # mixed styles
    stdio = []
    for item in items:
        if not (isinstance(item, Mapping) and isinstance(item.get("input", ""), str)
                and isinstance(item.get("output"), str)):
            return None
        stdio.append((item.get("input", ""), item["output"]))
    return StdioSuite(tuple(stdio))


def _lines(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value) + "\n"
    if not isinstance(value, str):
        raise TypeError("text expected")
    return value


def _parse_inputs(inputs: Any, outputs: Any, function: str | None) -> Suite | None:
    if not (isinstance(inputs, list) and isinstance(outputs, list) and 0 < len(inputs) == len(outputs) <= MAX_TESTS):
        return None
    if function is None:
        return StdioSuite(tuple((_lines(i), _lines(o)) for i, o in zip(inputs, outputs)))
    cases = []
    for args, expected in zip(inputs, outputs):
        if isinstance(args, str):  # arguments as JSON lines (some prime_code rows)
            args = [json.loads(line) for line in args.split("\n") if line.strip()]
        if not isinstance(args, list):
            return None
        cases.append((plain_data.encode(args), expected, True))
    return CallSuite(function, tuple(cases))


def _parse_test_code(source: Any, entry: str | None) -> Suite | None:
    from reward_kit import code_replay

    sources = [source] if isinstance(source, str) else source
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
        return None
    replay = code_replay.compile_suite("\n\n".join(sources), entry)
    if replay is None or len(replay.units) > MAX_TESTS:
        return None
    return AssertSuite(replay)


def _as_lists(value: Any) -> Any:
    if type(value) in (list, tuple):
        return [_as_lists(item) for item in value]
    if type(value) is dict:
        return {key: _as_lists(item) for key, item in value.items()}
    return value


def call_matches(actual: Any, expected: Any, may_wrap: bool) -> bool:
    """The returned plain value against the reference's (JSON) one: tuples compare as lists;
    APPS/TACO wrap some outputs in a one-item list."""
    actual = _as_lists(actual)
    if actual == expected and _same_kind(actual, expected):
        return True
    return may_wrap and type(expected) is list and len(expected) == 1 and actual == expected[0] and _same_kind(
        actual, expected[0])


def _same_kind(actual: Any, expected: Any) -> bool:
    """``True == 1`` and ``1 == 1.0`` in Python; a bool is not an answer for a number here."""
    if type(expected) is bool or type(actual) is bool:
        return type(actual) is type(expected)
    if type(expected) in (list, tuple) and type(actual) in (list, tuple):
        return all(_same_kind(a, e) for a, e in zip(actual, expected))
    if type(expected) is dict and type(actual) is dict:
        return all(_same_kind(actual[k], expected[k]) for k in expected if k in actual)
    return True


# --- the grader --------------------------------------------------------------------------------


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
        session = _Session(runner, program, prelude, limits, budget, local_processes)
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


def _failure(status: Any) -> str:
    """A run's or call's failure status as a test status."""
    if status in _RUN_STATUSES:
        return str(status)
    return CRASH  # error, no_function, not_run, anything unknown


class _Session:
    """One sample: its requests to the executor, within its budget."""

    def __init__(self, executor: Executor, program: str, prelude: str, limits: dict[str, Any],
                 budget: float | None, processes: int | None) -> None:
        self.executor, self.program, self.prelude, self.limits = executor, program, prelude, limits
        self.processes = processes
        start = time.monotonic()
        self.until = None if budget is None else start + budget
        self.executor_failed = False

    def left(self) -> float | None:
        return None if self.until is None else self.until - time.monotonic()

    def execute(self, runs: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Raw results of ``runs`` (split into requests under Lambda's size limits), or None
        when the executor failed on this sample. Raises ExecutorUnavailable."""
        results: list[dict[str, Any]] = []
        for chunk in self._chunks(runs):
            left = self.left()
            if left is not None and left < MIN_SAMPLE_SECONDS:
                results += [{"status": DEADLINE, "calls": [{"status": DEADLINE}] * len(run.get("calls", []))}
                            for run in chunk]
                continue
            # No deadline (dry runs): every phase of every run may use its whole limit.
            budget = left if left is not None else self.limits["seconds"] * _phases(chunk) + 5.0
            request: dict[str, Any] = {"version": 1, "program": self.program, "prelude": self.prelude,
                                       "limits": self.limits, "budget_seconds": round(max(0.0, budget), 3),
                                       "runs": chunk}
            if self.processes is not None:
                request["max_processes"] = self.processes
            response = self.executor.execute(request, budget + TRANSPORT_MARGIN_SECONDS)
            got = response.get("runs") if response.get("status") == "ok" else None
            if not isinstance(got, list) or len(got) != len(chunk) or not all(isinstance(r, dict) for r in got):
                self.executor_failed = True
                return None
            results += got
        return results

    def _chunks(self, runs: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        base = len(self.program) + len(self.prelude) + 1024
        per_run_output = self.limits["output_bytes"] + 256
        chunks: list[list[dict[str, Any]]] = [[]]
        size, output, calls = base, 0, 0
        for run in runs:
            run_size = len(json.dumps(run))
            run_calls = len(run.get("calls", ()))
            run_output = per_run_output * max(1, run_calls)
            if chunks[-1] and (size + run_size > REQUEST_BUDGET_BYTES or output + run_output > RESPONSE_BUDGET_BYTES
                               or len(chunks[-1]) >= MAX_RUNS_PER_REQUEST or calls + run_calls > MAX_CALLS_PER_REQUEST):
                chunks.append([])
                size, output, calls = base, 0, 0
            chunks[-1].append(run)
            size, output, calls = size + run_size, output + run_output, calls + run_calls
        return chunks

    # -- stdin/stdout
    def stdio(self, suite: StdioSuite) -> list[str]:
        results = self.execute([{"stdin": stdin} for stdin, _ in suite.cases])
        if results is None:
            return [EXECUTOR_ERROR] * suite.size
        statuses = []
        for (_, expected), run in zip(suite.cases, results):
            if run.get("status") != "ok":
                statuses.append(_failure(run.get("status")))
            elif isinstance(run.get("stdout"), str) and same_output(run["stdout"], expected):
                statuses.append(PASSED)
            else:
                statuses.append(WRONG_ANSWER)
        return statuses

    # -- call-based
    def calls(self, suite: CallSuite) -> list[str]:
        runs = [{"calls": [{"function": suite.function, "args": args, "kwargs": {}}]} for args, _, _ in suite.cases]
        results = self.execute(runs)
        if results is None:
            return [EXECUTOR_ERROR] * suite.size
        statuses = []
        for (_, expected, may_wrap), run in zip(suite.cases, results):
            call = _first_call(run)
            if call.get("status") != "ok":
                statuses.append(_failure(call.get("status")))
                continue
            try:
                value = plain_data.decode(call.get("value"))
            except plain_data.NotPlain:
                statuses.append(NOT_PLAIN)
                continue
            statuses.append(PASSED if call_matches(value, expected, may_wrap) else WRONG_ANSWER)
        return statuses

    # -- assert-based: replay rounds
    def replay(self, suite: AssertSuite) -> list[str]:
        from reward_kit import code_replay

        memo: dict[str, dict[str, Any]] = {}
        out_of_time = False
        defined = code_replay.program_names(self.program)
        for round_number in range(MAX_ROUNDS + 1):
            current = code_replay.Round(memo, self.until, defined)
            current.run(suite.replay)
            if not current.pending or round_number == MAX_ROUNDS:
                break
            left = self.left()
            if left is not None and left < MIN_SAMPLE_SECONDS:
                out_of_time = True
                break
            keys, runs = _runs_for(current.pending)
            results = self.execute(runs)
            if results is None:
                return [EXECUTOR_ERROR] * suite.size
            _remember(memo, keys, results)
        unresolved_status = DEADLINE if out_of_time or current.aborted == "deadline" else CRASH
        return [_unit_status(current.units.get(unit), current.aborted, unresolved_status)
                for unit in suite.replay.units]


def _remember(memo: dict[str, dict[str, Any]], keys: list[list[str]], results: list[dict[str, Any]]) -> None:
    """Keep each call's answer for the next round (calls the executor did not run stay unknown)."""
    for run_keys, run in zip(keys, results):
        calls = run.get("calls")
        calls = calls if isinstance(calls, list) and len(calls) == len(run_keys) else (
            [{"status": _failure(run.get("status"))}] * len(run_keys))
        for key, answer in zip(run_keys, calls):
            if isinstance(answer, dict) and answer.get("status") != "not_run":
                memo[key] = answer


def _unit_status(state: Any, aborted: str | None, unresolved_status: str) -> str:
    """One test unit's status after the last round (``state``: its code_replay.UnitResult)."""
    if state is not None and state.unresolved:
        return unresolved_status
    if state is not None and state.failure is not None:
        return _failure(state.failure)
    if state is None or not state.executed:
        if aborted in ("unresolved", "deadline"):
            return unresolved_status
        return _failure(aborted) if aborted not in (None, WRONG_ANSWER) else WRONG_ANSWER
    return PASSED if state.passed == state.executed else WRONG_ANSWER


def _phases(runs: list[dict[str, Any]]) -> int:
    """Loading the program once per run, then each call."""
    return sum(1 + len(run.get("calls", ())) for run in runs)


def _first_call(run: dict[str, Any]) -> dict[str, Any]:
    calls = run.get("calls")
    if isinstance(calls, list) and calls and isinstance(calls[0], dict):
        return calls[0]
    return {"status": _failure(run.get("status"))}


def _runs_for(pending: Mapping[str, tuple[int, dict[str, Any]]]) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """The round's new calls as runs: one per group (the calls one test made), at most
    MAX_RUNS_PER_REQUEST runs and MAX_CALLS_PER_REQUEST calls per request."""
    groups: dict[int, list[str]] = {}
    for key, (group, _) in list(pending.items())[:MAX_CALLS_PER_REQUEST]:
        groups.setdefault(group, []).append(key)
    ordered = list(groups.values())
    if len(ordered) > MAX_RUNS_PER_REQUEST:  # merge neighbours
        size = math.ceil(len(ordered) / MAX_RUNS_PER_REQUEST)
        ordered = [sum(ordered[i:i + size], []) for i in range(0, len(ordered), size)]
    runs = [{"calls": [pending[key][1] for key in keys]} for keys in ordered]
    return ordered, runs
