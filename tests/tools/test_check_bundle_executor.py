"""tools/check_bundle.py on the code executor's asset (code_sandbox): its package alone, no lock."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from stacks.lambda_assets import ASSETS, asset_for_handler
from tests import ROOT
from tools import check_bundle


def _executor_asset(tmp_path: Path, name: str = "asset.executor") -> Path:
    asset = tmp_path / name
    shutil.copytree(ROOT / "lambdas/code_sandbox", asset / "code_sandbox")
    return asset


def test_the_executor_asset_has_no_requirements_and_no_lock() -> None:
    asset = ASSETS["code_sandbox"]
    assert (asset.packages, asset.requirements, asset.requirements_path) == (("code_sandbox",), None, None)
    assert asset_for_handler("code_sandbox.handler") is asset
    assert not asset.lock_path.exists()  # tools/lock.py writes none and removes a stale one


def test_a_clean_executor_bundle_passes(tmp_path: Path) -> None:
    asset = _executor_asset(tmp_path)
    assert check_bundle.check(asset, [check_bundle.SANDBOX_MODULE]) == []
    assert check_bundle.lock_mismatches(asset, {check_bundle.SANDBOX_MODULE}) == []


def test_an_executor_bundle_with_the_reward_runtime_or_a_package_fails(tmp_path: Path) -> None:
    asset = _executor_asset(tmp_path)
    shutil.copytree(ROOT / "lambdas/reward_kit", asset / "reward_kit")
    (asset / "six-1.16.0.dist-info").mkdir()
    (asset / "six-1.16.0.dist-info" / "METADATA").write_text("Name: six\nVersion: 1.16.0\n\n", encoding="utf-8")
    assert check_bundle.check_sandbox(asset) == [
        "asset.executor: the code executor's asset ships reward_kit (grader code)"]
    assert check_bundle.lock_mismatches(asset, {check_bundle.SANDBOX_MODULE}) == [
        "asset.executor: six==1.16.0 installed, but asset code_sandbox has no requirements"]


def test_an_executor_bundle_without_its_handler_fails(tmp_path: Path) -> None:
    asset = tmp_path / "asset.empty"
    asset.mkdir()
    (problem,) = check_bundle.check(asset, [check_bundle.SANDBOX_MODULE])
    assert problem.startswith("asset.empty: code_sandbox.handler failed") and "No module named 'code_sandbox'" in problem


def test_the_executor_asset_is_found_from_its_function(tmp_path: Path) -> None:
    asset = _executor_asset(tmp_path, "asset.abc")
    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Metadata": {"aws:asset:path": "asset.abc"},
                                     "Properties": {"Handler": "code_sandbox.handler.handler",
                                                    "Runtime": "python3.13"}}}}
    (tmp_path / "S.template.json").write_text(json.dumps(template), encoding="utf-8")
    assert check_bundle.function_assets(tmp_path) == {asset: {"code_sandbox.handler"}}
    assert check_bundle.foreign_packages(asset, {"code_sandbox.handler"}) == []
    assert check_bundle.main([str(tmp_path)]) == 0
