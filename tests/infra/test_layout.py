"""README's Layout section and docs/DESIGN.md's component map list every component folder."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def folders(parent: str) -> set[str]:
    return {p.name for p in (ROOT / parent).iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}


def test_readme_layout_and_design_map_name_every_component_folder() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):readme.index("## Reward contract and runtime")]
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    component_map = design[design.index("## Component map"):design.index("## Layout")]
    for name in sorted(folders("stacks")):
        assert re.search(rf"\b{name}/", layout), f"stacks/{name}/ missing from README Layout"
        assert f"stacks/{name}/" in component_map, f"stacks/{name}/ missing from DESIGN component map"
    for name in sorted(folders("lambdas")):
        assert re.search(rf"\b{name}/", layout), f"lambdas/{name}/ missing from README Layout"
        assert f"lambdas/{name}/" in component_map, f"lambdas/{name}/ missing from DESIGN component map"
