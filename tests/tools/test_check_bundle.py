"""tools/check_bundle.py (run by make synth) must catch a bundle without its dependencies."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests import ROOT
from tools import check_bundle


def test_a_bundle_without_dependencies_fails(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "lambdas", tmp_path / "asset.sources-only")
    problems = check_bundle.check(tmp_path / "asset.sources-only")
    missing_re2, missing_regex, *imports = problems
    assert missing_re2.endswith("re2/_re2.cpython-313-aarch64-linux-gnu.so is missing")
    assert missing_regex.endswith("regex/_regex.cpython-313-aarch64-linux-gnu.so is missing")
    assert len(imports) == len(check_bundle.CASES)
    assert all("No module named 'aws_lambda_powertools'" in problem for problem in imports)


def test_an_extension_for_another_platform_fails(tmp_path: Path) -> None:
    asset = tmp_path / "asset.x"
    (asset / "re2").mkdir(parents=True)
    (asset / "re2" / "_re2.cpython-313-aarch64-linux-gnu.so").write_bytes(b"")
    (asset / "re2" / "_re2.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert check_bundle.check_extensions(asset) == [
        "asset.x: re2/_re2.cpython-311-x86_64-linux-gnu.so is not built for CPython 3.13 aarch64"]


def test_no_asset_is_an_error(tmp_path: Path) -> None:
    assert check_bundle.main([str(tmp_path)]) == 1


def test_assets_are_found_from_the_templates_and_foreign_entry_points_fail(tmp_path: Path) -> None:
    import json

    asset = tmp_path / "asset.abc"
    shutil.copytree(ROOT / "lambdas", asset)  # holds rlvr/, rlaif/, code_grader/, ...: too much for an rlvr function
    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Metadata": {"aws:asset:path": "asset.abc"},
                                     "Properties": {"Handler": "rlvr.handler.handler"}}}}
    (tmp_path / "S.template.json").write_text(json.dumps(template), encoding="utf-8")
    assert check_bundle.function_assets(tmp_path) == {asset: {"rlvr.handler"}}
    assert check_bundle.foreign_packages(asset, {"rlvr.handler"}) == [
        "code_grader", "code_sandbox", "evaluator_registration", "rlaif"]
    assert check_bundle.main([str(tmp_path)]) == 1


def test_an_evaluator_bundle_without_its_pinned_sdk_fails(tmp_path: Path) -> None:
    asset = tmp_path / "asset.evaluator-sources-only"
    shutil.copytree(ROOT / "lambdas/evaluator_registration", asset / "evaluator_registration")
    (problem,) = check_bundle.check_evaluator(asset)
    assert "No module named 'boto" in problem


def test_an_evaluator_bundle_with_the_sdk_passes_and_a_mixed_asset_fails(tmp_path: Path) -> None:
    import boto3
    import botocore
    import dateutil
    import jmespath
    import s3transfer
    import six
    import urllib3

    asset = tmp_path / "asset.evaluator"
    shutil.copytree(ROOT / "lambdas/evaluator_registration", asset / "evaluator_registration")
    for module in (boto3, botocore, dateutil, jmespath, s3transfer, urllib3):
        shutil.copytree(Path(module.__file__).parent, asset / module.__name__)
    shutil.copy(six.__file__, asset / "six.py")
    assert check_bundle.check_evaluator(asset) == []
    shutil.copytree(ROOT / "lambdas/reward_kit", asset / "reward_kit")
    assert check_bundle.check_evaluator(asset) == [f"{asset.name}: the evaluator-registration asset ships reward_kit"]


def test_the_evaluator_handler_is_checked_its_own_way_and_node_functions_are_skipped(tmp_path: Path) -> None:
    import json

    asset = tmp_path / "asset.evaluator"
    shutil.copytree(ROOT / "lambdas/evaluator_registration", asset / "evaluator_registration")
    template = {"Resources": {
        "Handler": {"Type": "AWS::Lambda::Function", "Metadata": {"aws:asset:path": "asset.evaluator"},
                    "Properties": {"Handler": "evaluator_registration.handler.on_event", "Runtime": "python3.13"}},
        "Framework": {"Type": "AWS::Lambda::Function", "Metadata": {"aws:asset:path": "asset.framework"},
                      "Properties": {"Handler": "framework.onEvent", "Runtime": "nodejs22.x"}},
    }}
    (tmp_path / "S.template.json").write_text(json.dumps(template), encoding="utf-8")
    assert check_bundle.function_assets(tmp_path) == {asset: {"evaluator_registration.handler"}}
    (problem,) = check_bundle.check(asset, ["evaluator_registration.handler"])
    assert "No module named 'boto" in problem  # sources only: its pinned SDK is missing
    shutil.copytree(ROOT / "lambdas/rlvr", asset / "rlvr")
    assert check_bundle.foreign_packages(asset, {"evaluator_registration.handler"}) == ["rlvr"]
