"""Assert-style code tests with verdicts in the grader: the test code runs HERE, the program THERE.

A reference's test code (top-level asserts, HumanEval's ``def check(candidate)``, pytest-style
``def test_*():``) is trusted: it runs in the grader, never in the executor, so the program can
neither read its expected values (frame walking) nor rewrite it. Every name the test code uses
without defining it (``add``, ``candidate`` when ``check`` is called with the entry point,
``from solution import f``, any non-standard-library module) is a proxy: calling it is a call
into the program, which the executor runs and answers with plain data
(``reward_kit.plain_data``: exact builtin types). Every comparison (``==``, ``in``, ``<``,
``abs(a - b) < eps``, ``math.isclose``) is then Python's own, on builtin values: an object
with an always-true ``__eq__`` cannot cross the boundary, it arrives as ``not_plain`` and
the test fails.

The test code is replayed in rounds. A call whose arguments are known but whose result is
not is recorded and yields an ``_Unknown`` placeholder that poisons what it touches (any
decision on it stops that unit for this round); the executor answers the round's calls in
one request; the next replay knows them. HumanEval/32 (``solution = candidate(coeffs)`` then
``assert fabs(poly(coeffs, solution)) < 1e-4``) takes two rounds. ``random`` is a fresh,
identically seeded module in every replay, so each round asks for the same calls.

Units (each one test): every ``assert`` statement (all its executions must pass; one on
constants only, such as HumanEval's ``assert True``, tests nothing and is left out), and every
top-level ``test_*`` function (it must return without an exception and with its asserts
passing; asserts inside it are part of it). A unit passes only if the program was called
for it. A reference with no unit is invalid (``invalid_reference``), never a pass.

Not supported (the unit fails, it is never fooled): a program value used as something other
than plain data (a program class, instances kept across statements, ``isinstance`` with a
program type, attributes of a returned object), program constants read without a call, and
test code that passes functions to the program. The test code's own cost is bounded by a
line budget and a wall deadline checked on every line (a single huge C-level operation such
as ``2 ** f(x)`` on a program's value is not interruptible: keep such arithmetic out of tests).

This module holds the replay itself (``Round``, one ``UnitResult`` per unit) and
``program_names``; the test code is compiled by ``reward_kit.code_replay_suite``, and what it
sees while it runs (proxies, unknowns, its builtins) is ``reward_kit.code_replay_proxies``.
"""

from __future__ import annotations

import ast
import builtins
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from reward_kit import plain_data
from reward_kit.code_replay_proxies import (
    CURRENT,
    UNKNOWN,
    ProgramFailed,
    ProgramFunction,
    ReplayBudget,
    ReplayNamespace,
    StopUnit,
    Unresolved,
    Unsupported,
    builtins_for_replay,
    contains_unknown,
)
from reward_kit.code_replay_suite import CHECK, TEST_FILENAME, ReplaySuite

__all__ = ["Round", "UnitResult", "program_names"]

MAX_LINES = 2_000_000  # lines of test code per replay


@dataclass
class UnitResult:
    executed: int = 0
    passed: int = 0
    unresolved: bool = False
    failure: str | None = None  # the program call status that failed it, if any
    calls: int = 0


@dataclass
class Round:
    """One replay of the test code against what the program has answered so far."""

    memo: dict[str, dict[str, Any]]
    deadline: float | None
    defined: frozenset[str] = frozenset()  # program_names(program)
    units: dict[str, UnitResult] = field(default_factory=dict)
    pending: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # key -> (group, call)
    group: int = 0
    aborted: str | None = None  # the module or a check() stopped: units after it never ran
    _unit: str | None = None  # the test function running, if any
    _calls_since_check: int = 0
    _lines: int = 0
    _pending_mark: bool = False
    _program_raised: bool = False  # a program call raised since the last check
    _failed_status: str | None = None  # a program call failed (timeout, crash ...) since the last check

    # -- calls into the program
    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self._calls_since_check += 1
        if self._unit is not None:
            self.units[self._unit].calls += 1
        if contains_unknown(args) or contains_unknown(kwargs):
            self.mark_unresolved()
            return UNKNOWN
        try:
            encoded = {"function": name, "args": plain_data.encode(list(args)), "kwargs": plain_data.encode(kwargs)}
        except (plain_data.NotPlain, ValueError, RecursionError):
            raise Unsupported() from None
        key = json.dumps(encoded, sort_keys=True)
        answer = self.memo.get(key)
        if answer is None:
            self.pending.setdefault(key, (self.group, encoded))
            self.mark_unresolved()
            return UNKNOWN
        status = answer.get("status")
        if status not in ("ok", "error"):
            # Recorded before raising: test code that swallows the exception (a bare except)
            # still fails the unit.
            self._failed_status = self._failed_status or str(status)
            if self._unit is not None:
                unit = self.units[self._unit]
                unit.failure = unit.failure or str(status)
        if status == "ok":
            try:
                return plain_data.decode(answer.get("value"))  # a fresh copy each time
            except plain_data.NotPlain:
                raise ProgramFailed("not_plain") from None
        if status == "error":
            self._program_raised = True
            kind = getattr(builtins, str(answer.get("error")), None)
            if isinstance(kind, type) and issubclass(kind, Exception):
                raise kind()
            raise Exception()
        raise ProgramFailed(str(status))

    def mark_unresolved(self) -> None:
        if self._unit is not None:
            self.units[self._unit].unresolved = True
        self._pending_mark = True

    # -- asserts
    def check(self, unit: str, thunk: Callable[[], Any]) -> None:
        target = self._unit or unit
        result = self.units.setdefault(target, UnitResult())
        if self._unit is None:
            result.executed += 1
        calls_before = self._calls_since_check
        verdict = self._verdict(thunk, result)
        if self._failed_status is not None:
            result.failure = result.failure or self._failed_status
            verdict = False if verdict is not None else None
        self._pending_mark = False
        self._program_raised = False
        self._failed_status = None
        if self._unit is None:
            result.calls += self._calls_since_check
        involved = self._calls_since_check > 0 or calls_before > 0
        self._calls_since_check = 0
        self.group += 1
        self._count(result, verdict, involved)

    def _verdict(self, thunk: Callable[[], Any], result: UnitResult) -> bool | None:
        """The assert's outcome: True, False, or None when an unknown answer took part."""
        try:
            verdict: bool | None = bool(thunk())
        except Unresolved:
            verdict = None
        except ProgramFailed as exc:
            result.failure = result.failure or exc.status
            verdict = False
        except ReplayBudget:
            raise
        except BaseException:  # noqa: BLE001 - the assert raised: it failed
            verdict = False
            if self._program_raised:  # the program's own exception: a crash, not a wrong answer
                result.failure = result.failure or "crash"
        if self._pending_mark and verdict is not None:
            verdict = None  # an unknown took part (in the assert, or since the previous one)
        return verdict

    def _count(self, result: UnitResult, verdict: bool | None, involved: bool) -> None:
        if verdict is None:
            result.unresolved = True
        elif self._unit is not None:  # an assert inside a test function: it stops the function
            if not (verdict and involved):
                raise StopUnit()
        elif verdict and involved:
            result.passed += 1

    # -- the line budget
    def trace(self, frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename != TEST_FILENAME:
            return None
        if event == "line":
            self._lines += 1
            if self._lines > MAX_LINES or (self.deadline is not None and not self._lines & 255
                                           and time.monotonic() > self.deadline):
                raise ReplayBudget()
        return self.trace

    # -- running it
    def run(self, suite: ReplaySuite) -> None:
        namespace = ReplayNamespace()
        namespace.program_names = self.defined
        namespace["__name__"] = "reward_test"
        namespace["__builtins__"] = builtins_for_replay()
        namespace[CHECK] = self.check
        previous = sys.gettrace()
        CURRENT.session = self
        sys.settrace(self.trace)
        try:
            if not self._guard(lambda: exec(suite.code, namespace)):
                return
            entry = suite.check_entry
            if entry is not None:
                check = namespace.get("check")
                if not callable(check) or not self._guard(lambda: check(ProgramFunction(entry))):
                    return
            for name in suite.functions:
                self._unit = f"f:{name}"
                self._program_raised = False
                self.units.setdefault(self._unit, UnitResult()).executed += 1
                function = namespace.get(name)
                try:
                    function()  # type: ignore[misc]
                except StopUnit:
                    pass
                except Unresolved:
                    self.units[self._unit].unresolved = True
                except ProgramFailed as exc:
                    unit = self.units[self._unit]
                    unit.failure = unit.failure or exc.status
                except ReplayBudget:
                    self.aborted = "deadline"
                    return
                except BaseException:  # noqa: BLE001 - the test function failed
                    if self._program_raised:
                        unit = self.units[self._unit]
                        unit.failure = unit.failure or "crash"
                else:
                    unit = self.units[self._unit]
                    if not unit.unresolved and unit.failure is None and unit.calls > 0:
                        unit.passed += 1
                finally:
                    self.group += 1
                    self._unit = None
        finally:
            sys.settrace(previous)
            CURRENT.session = None

    def _guard(self, body: Callable[[], Any]) -> bool:
        """Run module-level code; False when it stopped (the units it did not reach fail)."""
        try:
            body()
            return True
        except Unresolved:
            self.aborted = "unresolved"
        except ProgramFailed as exc:
            self.aborted = exc.status
        except ReplayBudget:
            self.aborted = "deadline"
        except BaseException:  # noqa: BLE001 - the test code stopped with an exception
            self.aborted = "crash" if self._program_raised else "wrong_answer"
        return False


def program_names(program: str) -> frozenset[str]:
    """The functions and classes a program defines at its top level, read from its syntax tree
    (never run here); empty when it does not parse."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    return frozenset(node.name for node in tree.body
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
