"""README's Layout section and docs/DESIGN.md's component map list every component folder, and
the map accounts for every module under stacks/ and lambdas/; no component under ``stacks/``
imports another; no block of complexity D or worse where ``make lint`` gates."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests import ROOT


def folders(parent: str) -> set[str]:
    return {p.name for p in (ROOT / parent).iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}


def component_map() -> str:
    """DESIGN.md's "Component map" section, up to the next top-level section."""
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    start = design.index("## Component map")
    return design[start:design.index("\n## ", start)]


def modules(top: str) -> list[str]:
    """Every module under ``top`` except tests, ``__init__`` files and caches, as repo paths."""
    return sorted(
        p.relative_to(ROOT).as_posix() for p in (ROOT / top).rglob("*.py")
        if p.name != "__init__.py" and not {"__pycache__", "tests"} & set(p.parts)
    )


def test_readme_layout_and_design_map_name_every_component_folder() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):readme.index("## Reward contract and runtime")]
    mapped = component_map()
    for name in sorted(folders("stacks")):
        assert re.search(rf"\b{name}/", layout), f"stacks/{name}/ missing from README Layout"
        assert f"stacks/{name}/" in mapped, f"stacks/{name}/ missing from DESIGN component map"
    for name in sorted(folders("lambdas")):
        assert re.search(rf"\b{name}/", layout), f"lambdas/{name}/ missing from README Layout"
        assert f"lambdas/{name}/" in mapped, f"lambdas/{name}/ missing from DESIGN component map"


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (type-checking imports included), relative ones resolved."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from stacks import x`
    return found


def test_no_stacks_component_imports_another_component() -> None:
    """Components share ``stacks.lambda_plumbing``, ``stacks.config`` and ``stacks.nag``; the
    stack composes them. A component that imports a sibling is wired where it should be handed in."""
    components = folders("stacks") - {"config"}
    assert {"reward_functions", "code_sandbox", "evaluator_registration"} <= components
    crossings = []
    for component in sorted(components):
        for path in sorted((ROOT / "stacks" / component).rglob("*.py")):
            for module in sorted(_imported_modules(path)):
                parts = module.split(".")
                if parts[0] == "stacks" and len(parts) > 1 and parts[1] in components - {component}:
                    crossings.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not crossings, crossings


def test_capacity_model_and_config_import_without_a_cycle() -> None:
    """The config layer imports the pure capacity model; only the CLI imports the config, so
    neither side needs an import deferred into a function."""
    model = _imported_modules(ROOT / "stacks" / "capacity" / "__init__.py")
    assert not {m for m in model if m.startswith("stacks.")}, model
    for path in sorted((ROOT / "stacks" / "config").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("stacks"):
                assert id(node) in top_level, f"{path.name}:{node.lineno} imports {node.module} lazily"
                assert not (node.module or "").startswith("stacks.capacity.cli"), path.name


def _makefile_complexity_paths() -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^COMPLEXITY_PATHS := (.+)$", makefile, re.MULTILINE)
    assert match, "Makefile: COMPLEXITY_PATHS (make lint's radon gate) is missing"
    return match.group(1).split()


def test_no_block_of_complexity_d_or_worse_where_make_lint_gates() -> None:
    """``make lint``'s gate, in the suite CI runs: radon's cyclomatic complexity stays below D
    (21) in every block of app.py, lambdas/, stacks/, tools/ and ops/."""
    from radon.complexity import cc_rank, cc_visit

    paths = _makefile_complexity_paths()
    assert {"app.py", "lambdas", "stacks", "tools", "ops"} <= set(paths)
    files = [p for path in paths for p in ([ROOT / path] if path.endswith(".py") else (ROOT / path).rglob("*.py"))]
    too_complex = [
        f"{file.relative_to(ROOT)}:{block.lineno} {block.fullname} {cc_rank(block.complexity)} ({block.complexity})"
        for file in files
        for block in cc_visit(file.read_text(encoding="utf-8"))
        if cc_rank(block.complexity) not in "ABC"
    ]
    assert len(files) > 50 and not too_complex, too_complex


def test_design_map_accounts_for_every_module() -> None:
    # A module is mapped when the map names it (`stacks/cost.py`) or its own folder
    # (`stacks/config/` maps stacks/config/judge.py, not stacks/config/sub/x.py): a new module
    # in a mapped folder needs nothing, a new folder one row (or one name in a row).
    names = set(re.findall(r"`([^`\s]+)`", component_map()))
    unmapped = [path for top in ("stacks", "lambdas") for path in modules(top)
                if path not in names and path.rsplit("/", 1)[0] + "/" not in names]
    assert not unmapped, f"add to docs/DESIGN.md's component map (the file or its folder): {unmapped}"


def test_module_finder_sees_nested_modules() -> None:
    # The check above is only as good as its list: nested packages are found, tests are not.
    found = modules("lambdas")
    assert "lambdas/reward_kit/graders/label.py" in found
    assert "lambdas/reward_kit/checks.py" in found
    assert not any(path.endswith("__init__.py") or "/tests/" in path for path in found)


# Test folders that mirror a source tree, and the source tree each mirrors.
MIRRORS = {"tests/lambdas": "lambdas", "tests/stacks": "stacks", "tests/synth": "stacks"}
# Fixtures and calls that synthesize a CDK app in the test process: only tests/synth may use them.
SYNTH_FIXTURES = {"synth", "team_synth"}
SYNTH_CALLS = {"App", "build_app", "synth"}


def synthesizes(source: str, *, app_runs: bool = True) -> bool:
    """True when ``source`` takes a synth fixture, builds or synthesizes an app, or (``app_runs``)
    runs app.py."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if SYNTH_FIXTURES & {arg.arg for arg in node.args.args}:
                return True
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name in SYNTH_CALLS:
                return True
        elif app_runs and isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            if isinstance(node.right, ast.Constant) and node.right.value == "app.py":
                return True  # a path to app.py: the app run as `cdk synth` runs it
    return False


def test_test_folders_mirror_the_source_tree() -> None:
    for tests_top, source_top in MIRRORS.items():
        for folder in sorted(p for p in (ROOT / tests_top).rglob("*") if p.is_dir() and "_" != p.name[0]
                             and not {"__snapshots__", "__pycache__"} & set(p.parts)):
            relative = folder.relative_to(ROOT / tests_top)
            assert (ROOT / source_top / relative).is_dir(), f"{folder.relative_to(ROOT)} mirrors no {source_top}/{relative}"
    # no test left in a folder that mirrors nothing
    allowed = {"lambdas", "stacks", "synth", "tools", "ops", "bench", "examples", "project", "fixtures"}
    assert folders("tests") <= allowed, folders("tests") - allowed


def test_only_tests_under_synth_build_an_app() -> None:
    # tests/project runs the repository's own commands (app.py, make synth) on clean copies.
    builders = [relative for relative, path in ((p.relative_to(ROOT).as_posix(), p) for p in sorted((ROOT / "tests").rglob("*.py")))
                if not relative.startswith("tests/synth/")
                and synthesizes(path.read_text(encoding="utf-8"), app_runs=not relative.startswith("tests/project/"))]
    assert builders == [], "these tests synthesize: move them (or their synth part) under tests/synth/"


def test_the_synth_check_sees_a_synth() -> None:
    assert synthesizes("def test_x(synth: Synth) -> None:\n    pass\n")
    assert synthesizes("app = cdk.App(context=context)\n")
    assert synthesizes("stacks = build_app(app, envs)\n")
    assert synthesizes("subprocess.run([sys.executable, str(ROOT / 'app.py')])\n")
    assert not synthesizes("subprocess.run([sys.executable, str(ROOT / 'app.py')])\n", app_runs=False)
    assert not synthesizes("def test_x(tmp_path):\n    assert synth_context()['environments']\n")
