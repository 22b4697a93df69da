"""tools/check_bundle.py (run by make synth) must catch a bundle without its dependencies."""

from __future__ import annotations

import shutil
from pathlib import Path

from tools import check_bundle

ROOT = Path(__file__).resolve().parents[2]


def test_a_bundle_without_dependencies_fails(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "lambdas", tmp_path / "asset.sources-only")
    problems = check_bundle.check(tmp_path / "asset.sources-only")
    assert len(problems) == len(check_bundle.CASES)
    assert all("No module named 'aws_lambda_powertools'" in problem for problem in problems)


def test_no_asset_is_an_error(tmp_path: Path) -> None:
    assert check_bundle.main([str(tmp_path)]) == 1
