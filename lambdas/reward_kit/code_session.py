"""The ``code`` grader's work for one sample: requests to the executor, raw results into test statuses.

``Session`` sends the sample's runs to the code executor (``reward_kit.code_executor``) within
the sample's time budget, split into requests under Lambda's payload limits, and reads the raw
results into one status per test: ``stdio`` (stdout against the expected output), ``calls``
(returned values against the expected ones), ``replay`` (assert-style tests replayed here in
rounds by ``reward_kit.code_replay``, the program's calls answered by the executor). A test's
status is ``passed``, ``wrong_answer``, one of the grader's own failures (``executor_error``,
``not_plain``, ``crash``, ``deadline``, ``syntax_error``) or the executor's run status.
"""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Any, Mapping

from reward_kit import plain_data
from reward_kit.code_reference import AssertSuite, CallSuite, StdioSuite, call_matches, same_output

if TYPE_CHECKING:  # the executor loads when a code grader is built
    from reward_kit.code_executor import Executor

__all__ = ["CRASH", "DEADLINE", "EXECUTOR_ERROR", "NOT_PLAIN", "PASSED", "SYNTAX_ERROR", "WRONG_ANSWER", "Session"]

MAX_ROUNDS = 6  # replay rounds (requests) per sample
MAX_CALLS_PER_REQUEST = 2_000
MAX_RUNS_PER_REQUEST = 100
REQUEST_BUDGET_BYTES = 5 * 1024 * 1024  # Lambda's synchronous request limit is 6 MB
RESPONSE_BUDGET_BYTES = 5 * 1024 * 1024
MIN_SAMPLE_SECONDS = 0.1
TRANSPORT_MARGIN_SECONDS = 3.0  # start-up / invoke overhead beyond the request's own budget
# Test statuses. Executor statuses pass through; these are the grader's own.
PASSED, WRONG_ANSWER, EXECUTOR_ERROR, NOT_PLAIN, CRASH, DEADLINE, SYNTAX_ERROR = (
    "passed", "wrong_answer", "executor_error", "not_plain", "crash", "deadline", "syntax_error")
_RUN_STATUSES = frozenset({"syntax_error", "timeout", "memory_limit", "output_limit", "file_limit", "crash",
                           "deadline", NOT_PLAIN})


def _failure(status: Any) -> str:
    """A run's or call's failure status as a test status."""
    if status in _RUN_STATUSES:
        return str(status)
    return CRASH  # error, no_function, not_run, anything unknown


class Session:
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
