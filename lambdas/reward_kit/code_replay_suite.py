"""Assert-style test code compiled for the replay (``reward_kit.code_replay``): ``compile_suite``.

Every ``assert`` that reads a name, a call or an attribute becomes a call of ``CHECK`` with its
unit id and the test as a thunk, so the replay decides it (``assert True`` tests nothing and
becomes ``pass``). Units: ``a<n>`` per top-level assert, ``f:<name>`` per ``test_*`` function
(asserts inside it are part of it). A ``def check(candidate)`` the code never calls itself is
called with the entry point (without one the reference is unusable). None: the code does not
parse or has no unit. Cached: several rollouts of one prompt share a reference.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["CHECK", "TEST_FILENAME", "ReplaySuite", "compile_suite"]

CHECK = "__reward_check__"
TEST_FILENAME = "<reference test>"


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
