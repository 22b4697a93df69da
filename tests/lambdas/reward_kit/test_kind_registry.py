"""The grader registry is data-driven: a new built-in kind touches its module, its row in
``reward_kit.kinds``, the JSON Schema, its example and its tests, and no other code.

Code that branches on a grader kind (compares a spec's ``grader`` with a kind's name) or imports
a grader module by name is a place a new kind would have to be added by hand; only the kinds
below have such places, each for a reason no new deterministic kind shares.
"""

from __future__ import annotations

import ast
from pathlib import Path

from reward_kit.kinds import GRADER_KINDS
from tests import ROOT

SOURCES = ("app.py", "lambdas", "stacks", "tools", "ops")
# Kinds code may name individually, and why.
NAMED_ON_PURPOSE = {
    "judge": "the RLAIF kind: its Bedrock sizing, cost, dashboard reasons and criteria metrics",
    "multi": "the composite kind: its components are the dimensions and time limits",
}
# Also a function kind's name (cdk.json's `kind`): comparisons with it are about functions.
FUNCTION_KIND_NAMES = {"code"}


def _python_files() -> list[Path]:
    files: list[Path] = []
    for source in SOURCES:
        path = ROOT / source
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def _module_of(kind: str) -> str:
    return GRADER_KINDS[kind].module.__name__


def _kind_places(tree: ast.AST, kinds: set[str], modules: dict[str, str]) -> set[str]:
    """The kinds a module names individually: compared with, or imported by module."""
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                elements = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
                named |= {e.value for e in elements if isinstance(e, ast.Constant) and e.value in kinds}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            base = node.module if isinstance(node, ast.ImportFrom) and node.module else ""
            for alias in node.names:
                for imported in (f"{base}.{alias.name}" if base else alias.name, base):
                    named |= {kind for kind, module in modules.items()
                              if imported == module or imported.startswith(f"{module}.")}
    return named


def _places() -> dict[str, set[str]]:
    """kind -> the files (outside kinds.py and the kind's own module) that name it."""
    modules = {kind: _module_of(kind) for kind in GRADER_KINDS}
    comparable = set(GRADER_KINDS) - FUNCTION_KIND_NAMES
    places: dict[str, set[str]] = {kind: set() for kind in GRADER_KINDS}
    for path in _python_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative == "lambdas/reward_kit/kinds.py":
            continue
        dotted = relative.removeprefix("lambdas/").removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for kind in _kind_places(tree, comparable, modules):
            own = dotted == modules[kind] or dotted.startswith(f"{modules[kind]}.")
            if not own:
                places[kind].add(relative)
    return places


def test_no_code_names_a_deterministic_kind_outside_its_module_and_the_table():
    places = _places()
    unexpected = {kind: sorted(files) for kind, files in places.items() if files and kind not in NAMED_ON_PURPOSE}
    assert unexpected == {}


def test_the_scan_finds_a_branch_on_a_kind():
    modules = {kind: _module_of(kind) for kind in GRADER_KINDS}
    branch = ast.parse('if spec["grader"] == "label":\n    pass\nfrom reward_kit.graders.numeric import build\n')
    assert _kind_places(branch, set(GRADER_KINDS), modules) == {"label", "numeric"}


def test_every_kind_has_its_json_schema_branch():
    """The other non-test place a new kind touches besides its example: the JSON Schema."""
    schema = (ROOT / "schemas" / "reward-spec.schema.json").read_text(encoding="utf-8")
    assert [kind for kind in GRADER_KINDS if f'"{kind}"' not in schema] == []
