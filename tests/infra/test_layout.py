"""README's Layout section and docs/DESIGN.md's component map list every component folder, and
the map accounts for every module under stacks/ and lambdas/."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


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
