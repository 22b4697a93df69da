"""What replayed test code sees (``reward_kit.code_replay``): program proxies, unknowns, its builtins.

- ``ProgramFunction`` (and ``Solution()``'s methods, ``ProgramModule`` for ``import solution``):
  a name of the program; calling it asks the ``Round`` replaying on this thread (``CURRENT``).
- ``UNKNOWN``: a program value this round does not know; operations on it give unknowns,
  decisions on it stop the unit for this round (``Unresolved``).
- ``ReplayNamespace``: the test module's globals (a name it never defines is the program's);
  ``builtins_for_replay()``: builtins with an identically seeded ``random``, a ``pytest`` with
  ``approx`` and ``raises``, non-standard-library imports as program modules, no ``print``
  output and no ``input``.
- The exceptions that steer a replay; all are BaseException, so test code's ``except
  Exception`` cannot swallow them.
"""

from __future__ import annotations

import builtins
import math
import random
import sys
import threading
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reward_kit.code_replay import Round

__all__ = ["CURRENT", "UNKNOWN", "ProgramFailed", "ProgramFunction", "ReplayBudget", "ReplayNamespace", "StopUnit",
           "Unresolved", "Unsupported", "builtins_for_replay", "contains_unknown"]

SEED = 20_240_601
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) - {"__main__"}


class Unresolved(BaseException):
    """A decision needs a program value not computed yet (this round)."""


class ProgramFailed(BaseException):
    """A program call failed (timeout, crash, not plain data ...): its unit fails; BaseException so
    test code's ``except Exception`` cannot turn it into a pass."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class Unsupported(BaseException):
    """The test used a program value in a way that cannot be decided on plain data."""


class ReplayBudget(BaseException):
    """The test code ran past its line budget or the deadline."""


class StopUnit(BaseException):
    """A failed assert ends its test function (pytest semantics)."""


CURRENT = threading.local()  # CURRENT.session: the Round replaying on this thread


def _session() -> Round:
    session: Round | None = getattr(CURRENT, "session", None)
    if session is None:  # a proxy used outside a replay (cannot happen through the grader)
        raise Unsupported()
    return session


def _unknown_op(self: Any, *args: Any, **kwargs: Any) -> Any:
    _session().mark_unresolved()
    return self


def _unknown_stop(self: Any, *args: Any, **kwargs: Any) -> Any:
    _session().mark_unresolved()
    raise Unresolved()


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


def contains_unknown(value: Any, depth: int = 0) -> bool:
    if value is UNKNOWN:
        return True
    if depth > 32:
        return False
    if type(value) in (list, tuple, set, frozenset):
        return any(contains_unknown(item, depth + 1) for item in value)
    if type(value) is dict:
        return any(contains_unknown(k, depth + 1) or contains_unknown(v, depth + 1) for k, v in value.items())
    return False


def _refuse(self: Any, *args: Any) -> Any:
    raise Unsupported()


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
        if issubclass(kind, (Unresolved, ProgramFailed, Unsupported, ReplayBudget, StopUnit)):
            return False
        return issubclass(kind, self.expected)


def _pytest_module() -> types.ModuleType:
    module = types.ModuleType("pytest")
    module.approx = _Approx  # type: ignore[attr-defined]
    module.raises = _Raises  # type: ignore[attr-defined]
    return module


class ReplayNamespace(dict[str, Any]):
    """The test module's globals: a name it never defines is the program's (a builtin's name
    too when the program defines it at its top level, e.g. its own ``filter``)."""

    program_names: frozenset[str] = frozenset()

    def __missing__(self, name: str) -> Any:
        replay_builtins = dict.get(self, "__builtins__", {})
        if name in replay_builtins and name not in self.program_names:
            return replay_builtins[name]
        return ProgramFunction(name)


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


def builtins_for_replay() -> dict[str, Any]:
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
