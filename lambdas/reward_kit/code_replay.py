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
"""

from __future__ import annotations

import ast
import builtins
import json
import math
import random
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from reward_kit import plain_data

__all__ = ["ReplaySuite", "Round", "UnitResult", "compile_suite"]

CHECK = "__reward_check__"
TEST_FILENAME = "<reference test>"
SEED = 20_240_601
MAX_LINES = 2_000_000  # lines of test code per replay
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) - {"__main__"}


class _Unresolved(BaseException):
    """A decision needs a program value not computed yet (this round)."""


class _ProgramFailed(BaseException):
    """A program call failed (timeout, crash, not plain data ...): its unit fails; BaseException so
    test code's ``except Exception`` cannot turn it into a pass."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class _Unsupported(BaseException):
    """The test used a program value in a way that cannot be decided on plain data."""


class _ReplayBudget(BaseException):
    """The test code ran past its line budget or the deadline."""


class _StopUnit(BaseException):
    """A failed assert ends its test function (pytest semantics)."""


def _unknown_op(self: Any, *args: Any, **kwargs: Any) -> Any:
    _session().mark_unresolved()
    return self


def _unknown_stop(self: Any, *args: Any, **kwargs: Any) -> Any:
    _session().mark_unresolved()
    raise _Unresolved()


class _Unknown:
    """A program value this round does not know: operations give unknowns, decisions stop."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: Any) -> _Unknown:
        return self

    def __copy__(self) -> _Unknown:
        return self


for _name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__add__", "__radd__", "__sub__",
              "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__",
              "__mod__", "__rmod__", "__pow__", "__rpow__", "__neg__", "__pos__", "__abs__", "__getitem__",
              "__getattr__", "__call__", "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__",
              "__invert__", "__lshift__", "__rshift__", "__round__", "__matmul__"):
    setattr(_Unknown, _name, _unknown_op)
for _name in ("__bool__", "__len__", "__iter__", "__contains__", "__index__", "__int__", "__float__",
              "__complex__", "__str__", "__repr__", "__format__", "__bytes__", "__reversed__", "__setitem__",
              "__delitem__", "__enter__", "__exit__", "__reduce__", "__reduce_ex__"):
    setattr(_Unknown, _name, _unknown_stop)
UNKNOWN = _Unknown()


def _refuse(self: Any, *args: Any) -> Any:
    raise _Unsupported()


class ProgramFunction:
    """A name of the program (a function, or ``Solution`` for its methods)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._name == "Solution" and not args and not kwargs:
            return _SolutionInstance()
        return _session().call(self._name, args, kwargs)

    __hash__ = object.__hash__


class _SolutionInstance:
    """``Solution()``: its methods are called on a fresh instance in the executor (LeetCode)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> ProgramFunction:
        if name.startswith("__"):
            raise AttributeError(name)
        return ProgramFunction(name)

    __hash__ = object.__hash__


class ProgramModule(types.ModuleType):
    """``import solution`` / ``from solution import f``: attributes are program functions."""

    __all__: list[str] = []

    def __getattr__(self, name: str) -> ProgramFunction:
        if name.startswith("__"):
            raise AttributeError(name)
        return ProgramFunction(name)


for _cls in (ProgramFunction, _SolutionInstance):
    for _name in ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__len__", "__iter__",
                  "__contains__", "__index__", "__int__", "__float__", "__str__", "__repr__", "__format__"):
        setattr(_cls, _name, _refuse)


class _Approx:
    """``pytest.approx`` on plain numbers (and lists/tuples of them)."""

    def __init__(self, expected: Any, rel: float | None = None, abs: float | None = None) -> None:  # noqa: A002
        self.expected, self.rel, self.abs = expected, 1e-6 if rel is None else rel, 1e-12 if abs is None else abs

    def _close(self, actual: Any, expected: Any) -> bool:
        if type(expected) in (list, tuple):
            return (type(actual) in (list, tuple) and len(actual) == len(expected)
                    and all(self._close(a, e) for a, e in zip(actual, expected)))
        if type(actual) in (int, float) and type(expected) in (int, float):
            return math.isclose(actual, expected, rel_tol=self.rel, abs_tol=self.abs)
        return bool(actual == expected)

    def __eq__(self, actual: object) -> bool:
        return self._close(actual, self.expected)

    __hash__ = None  # type: ignore[assignment]


class _Raises:
    def __init__(self, expected: Any) -> None:
        self.expected = expected

    def __enter__(self) -> _Raises:
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        if kind is None:
            raise AssertionError("DID NOT RAISE")
        if issubclass(kind, (_Unresolved, _ProgramFailed, _Unsupported, _ReplayBudget, _StopUnit)):
            return False
        return issubclass(kind, self.expected)


def _pytest_module() -> types.ModuleType:
    module = types.ModuleType("pytest")
    module.approx = _Approx  # type: ignore[attr-defined]
    module.raises = _Raises  # type: ignore[attr-defined]
    return module


# --- the compiled test code ---------------------------------------------------------------------


@dataclass(frozen=True)
class ReplaySuite:
    code: Any  # the rewritten test module, compiled
    units: tuple[str, ...]  # unit ids: "a<n>" per assert, "f:<name>" per test function
    functions: tuple[str, ...]  # test_* functions, in order
    check_entry: str | None  # call check(ProgramFunction(entry)) after the module ran


class _RewriteAsserts(ast.NodeTransformer):
    def __init__(self) -> None:
        self.asserts = 0

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        self.generic_visit(node)
        if not any(isinstance(n, (ast.Name, ast.Call, ast.Attribute)) for n in ast.walk(node.test)):
            return ast.copy_location(ast.Pass(), node)  # `assert True`: not a test of the program
        self.asserts += 1
        thunk = ast.Lambda(ast.arguments([], [], None, [], [], None, []), node.test)
        call = ast.Call(ast.Name(CHECK, ast.Load()), [ast.Constant(f"a{self.asserts}"), thunk], [])
        return ast.copy_location(ast.Expr(call), node)


@lru_cache(maxsize=256)  # several rollouts of one prompt share a reference
def compile_suite(source: str, entry_point: str | None) -> ReplaySuite | None:
    """The suite of ``source``, or None when it does not parse or has nothing runnable."""
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    functions = tuple(node.name for node in module.body
                      if isinstance(node, ast.FunctionDef) and node.name.startswith("test") and not node.args.args)
    has_check = any(isinstance(node, ast.FunctionDef) and node.name == "check" and node.args.args
                    for node in module.body)
    calls_check = any(_calls_named(node, "check") for node in module.body)
    check_entry = entry_point if has_check and not calls_check else None
    if has_check and not calls_check and not entry_point:
        return None  # check(candidate) with nothing to call it with
    rewriter = _RewriteAsserts()
    module = ast.fix_missing_locations(rewriter.visit(module))
    units = _units(module, functions, rewriter.asserts)
    if not units:
        return None
    try:
        code = compile(module, TEST_FILENAME, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return ReplaySuite(code, units, functions, check_entry)


def _calls_named(node: ast.stmt, name: str) -> bool:
    """A module-level statement that is a call of ``name`` (``check(candidate)``)."""
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name) and node.value.func.id == name)


def _units(module: ast.Module, functions: tuple[str, ...], asserts: int) -> tuple[str, ...]:
    """The top-level asserts (those not inside a test function), then the test functions."""
    in_functions: set[Any] = set()
    for node in module.body:
        if isinstance(node, ast.FunctionDef) and node.name in functions:
            in_functions |= {n.args[0].value for n in ast.walk(node) if isinstance(n, ast.Call)
                             and isinstance(n.func, ast.Name) and n.func.id == CHECK
                             and isinstance(n.args[0], ast.Constant)}
    return tuple([f"a{i}" for i in range(1, asserts + 1) if f"a{i}" not in in_functions]
                 + [f"f:{name}" for name in functions])


# --- one replay ---------------------------------------------------------------------------------

_LOCAL = threading.local()


def _session() -> Round:
    session: Round | None = getattr(_LOCAL, "session", None)
    if session is None:  # a proxy used outside a replay (cannot happen through the grader)
        raise _Unsupported()
    return session


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
        if _contains_unknown(args) or _contains_unknown(kwargs):
            self.mark_unresolved()
            return UNKNOWN
        try:
            encoded = {"function": name, "args": plain_data.encode(list(args)), "kwargs": plain_data.encode(kwargs)}
        except (plain_data.NotPlain, ValueError, RecursionError):
            raise _Unsupported() from None
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
                raise _ProgramFailed("not_plain") from None
        if status == "error":
            self._program_raised = True
            kind = getattr(builtins, str(answer.get("error")), None)
            if isinstance(kind, type) and issubclass(kind, Exception):
                raise kind()
            raise Exception()
        raise _ProgramFailed(str(status))

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
        except _Unresolved:
            verdict = None
        except _ProgramFailed as exc:
            result.failure = result.failure or exc.status
            verdict = False
        except _ReplayBudget:
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
                raise _StopUnit()
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
                raise _ReplayBudget()
        return self.trace

    # -- running it
    def run(self, suite: ReplaySuite) -> None:
        namespace = _Namespace()
        namespace.program_names = self.defined
        namespace["__name__"] = "reward_test"
        namespace["__builtins__"] = _replay_builtins()
        namespace[CHECK] = self.check
        previous = sys.gettrace()
        _LOCAL.session = self
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
                except _StopUnit:
                    pass
                except _Unresolved:
                    self.units[self._unit].unresolved = True
                except _ProgramFailed as exc:
                    unit = self.units[self._unit]
                    unit.failure = unit.failure or exc.status
                except _ReplayBudget:
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
            _LOCAL.session = None

    def _guard(self, body: Callable[[], Any]) -> bool:
        """Run module-level code; False when it stopped (the units it did not reach fail)."""
        try:
            body()
            return True
        except _Unresolved:
            self.aborted = "unresolved"
        except _ProgramFailed as exc:
            self.aborted = exc.status
        except _ReplayBudget:
            self.aborted = "deadline"
        except BaseException:  # noqa: BLE001 - the test code stopped with an exception
            self.aborted = "crash" if self._program_raised else "wrong_answer"
        return False


def _contains_unknown(value: Any, depth: int = 0) -> bool:
    if value is UNKNOWN:
        return True
    if depth > 32:
        return False
    if type(value) in (list, tuple, set, frozenset):
        return any(_contains_unknown(item, depth + 1) for item in value)
    if type(value) is dict:
        return any(_contains_unknown(k, depth + 1) or _contains_unknown(v, depth + 1) for k, v in value.items())
    return False


class _Namespace(dict[str, Any]):
    """The test module's globals: a name it never defines is the program's (a builtin's name
    too when the program defines it at its top level, e.g. its own ``filter``)."""

    program_names: frozenset[str] = frozenset()

    def __missing__(self, name: str) -> Any:
        replay_builtins = dict.get(self, "__builtins__", {})
        if name in replay_builtins and name not in self.program_names:
            return replay_builtins[name]
        return ProgramFunction(name)


def program_names(program: str) -> frozenset[str]:
    """The functions and classes a program defines at its top level, read from its syntax tree
    (never run here); empty when it does not parse."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    return frozenset(node.name for node in tree.body
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))


def _seeded_random() -> types.ModuleType:
    generator = random.Random(SEED)
    module = types.ModuleType("random")
    for name in dir(random):
        if not name.startswith("_"):
            setattr(module, name, getattr(random, name))
    for name in dir(generator):
        if not name.startswith("_") and callable(getattr(generator, name)):
            setattr(module, name, getattr(generator, name))
    return module


def _replay_builtins() -> dict[str, Any]:
    table = dict(vars(builtins))
    modules: dict[str, types.ModuleType] = {"random": _seeded_random(), "pytest": _pytest_module()}
    real_import = builtins.__import__

    def _import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        top = name.partition(".")[0]
        if top in modules:
            return modules[top]
        if level == 0 and top in _STDLIB:
            return real_import(name, globals, locals, fromlist, level)
        return ProgramModule(top)

    table["__import__"] = _import
    table["print"] = lambda *args, **kwargs: None
    table["input"] = _refuse
    return table
