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


def test_assets_are_found_from_the_templates_and_foreign_entry_points_fail(tmp_path: Path) -> None:
    import json

    asset = tmp_path / "asset.abc"
    shutil.copytree(ROOT / "lambdas", asset)  # holds rlvr/ and rlaif/: too much for an rlvr function
    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Metadata": {"aws:asset:path": "asset.abc"},
                                     "Properties": {"Handler": "rlvr.handler.handler"}}}}
    (tmp_path / "S.template.json").write_text(json.dumps(template), encoding="utf-8")
    assert check_bundle.function_assets(tmp_path) == {asset: {"rlvr.handler"}}
    assert check_bundle.foreign_packages(asset, {"rlvr.handler"}) == ["rlaif"]
    assert check_bundle.main([str(tmp_path)]) == 1
