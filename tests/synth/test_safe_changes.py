"""Issue 15: versioned reward functions, redeployable stacks, production environments, paste-ready
recipe fields. Small extra synths (bundling skipped) where two configurations are compared.

This is the half that synthesizes; the rest is tests/stacks/test_safe_changes.py.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from reward_kit.spec import spec_hash, validate_spec
from stacks.app_builder import stack_name
from stacks.config import (
    parse_environments,
)
from tests.cdk_context import CDK_CONTEXT, SHIPPED_ENVIRONMENTS
from tests.stacks.config.test_config import base, error
from tests.synth.test_stacks import ENVS, alias_of, config, function_resource, resources, version_of

FAKE_VERSION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:SageMaker-reward-x-dev:7"


def synth_one(raw_env: dict[str, Any], name: str = "dev") -> dict[str, Any]:
    """Synthesize one environment the way app.py does (bundling skipped); its template."""
    from aws_cdk import App

    from stacks.app_builder import build_app

    flags = {key: value for key, value in CDK_CONTEXT.items() if key != "environments"}  # cdk.json's flags
    app = App(context={**flags, "aws:cdk:bundling-stacks": []})
    stacks = build_app(app, list(parse_environments({name: raw_env}, CDK_CONTEXT.get("tags")).values()))
    return app.synth().get_stack_by_name(stacks[name].stack_name).template  # type: ignore[no-any-return]


def resolve(value: Any, refs: dict[str, str]) -> Any:
    """Resolve the Fn::Join / Ref / Fn::GetAtt of an output value with made-up physical values."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(resolve(part, refs) for part in parts)
    if "Ref" in value:
        return refs[value["Ref"]]
    raise AssertionError(f"unexpected intrinsic {value}")


def lookup(document: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        assert isinstance(document, dict) and key in document, (dotted, key, document)
        document = document[key]
    return document


def version_id_and_description(template: dict[str, Any]) -> tuple[str, str]:
    (version_id,) = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Version"]
    return version_id, template["Resources"][version_id]["Properties"]["Description"]


def test_a_spec_change_publishes_a_new_version_with_the_new_spec_hash() -> None:
    raw = base()["dev"]
    changed = copy.deepcopy(raw)
    changed["reward_functions"]["sentiment"]["reward_spec"]["labels"].append("mixed")
    first_id, first_description = version_id_and_description(synth_one(raw))
    second_id, second_description = version_id_and_description(synth_one(changed))
    again_id, _ = version_id_and_description(synth_one(copy.deepcopy(raw)))
    first_hash = spec_hash(validate_spec(raw["reward_functions"]["sentiment"]["reward_spec"]))
    second_hash = spec_hash(validate_spec(changed["reward_functions"]["sentiment"]["reward_spec"]))
    assert first_hash != second_hash
    assert first_id != second_id  # a new AWS::Lambda::Version: CloudFormation publishes a new version
    assert again_id == first_id  # the same config keeps its version (no needless publish)
    assert first_hash in first_description and second_hash in second_description


def test_a_code_change_publishes_a_new_version() -> None:
    # The version's logical id hashes the function's code location: another asset, another version.
    from aws_cdk import App, Stack
    from aws_cdk import aws_lambda as lambda_

    from stacks.reward_functions import RewardFunction

    env = parse_environments(base())["dev"]
    ids = []
    for source in ("one", "two"):
        stack = Stack(App(), "S")
        rf = RewardFunction(stack, "R", environment=env, function=env.reward_functions[0],
                            code=lambda_.Code.from_inline(f"# {source}"))
        ids.append(stack.resolve(rf.version.function_arn))
    assert ids[0] != ids[1]


@pytest.mark.parametrize("env", ENVS)
def test_versions_are_retained_and_described_by_their_spec_hash(synth: Any, env: str) -> None:
    for fn in config(synth, env).reward_functions:
        fn_id, props = function_resource(synth, env, fn.function_name)
        _, version = version_of(synth, env, fn_id)
        assert version["DeletionPolicy"] == version["UpdateReplacePolicy"] == "Retain"
        assert version["Properties"]["Description"].startswith(f"reward spec {fn.spec_hash} ")
        assert fn.spec_hash == spec_hash(json.loads(props["Environment"]["Variables"]["REWARD_SPEC"]))
        assert fn.spec_hash in props["Description"]


def test_live_version_pins_the_alias_for_a_rollback() -> None:
    raw = base()["dev"]
    raw["reward_functions"]["sentiment"]["live_version"] = 3
    template = synth_one(raw)
    (alias,) = [v for v in template["Resources"].values() if v["Type"] == "AWS::Lambda::Alias"]
    assert alias["Properties"]["FunctionVersion"] == "3"
    assert "pinned to version 3" in alias["Properties"]["Description"]
    # The deploy still publishes the new version (retained); outputs name version 3 (test_live_version_outputs).
    assert any(v["Type"] == "AWS::Lambda::Version" for v in template["Resources"].values())
    raw["reward_functions"]["sentiment"]["live_version"] = 0
    assert error({"dev": raw}) == ("environments.dev.reward_functions.sentiment.live_version: "
                                   "must be an integer >= 1, got 0")


@pytest.mark.parametrize("env", ENVS)
def test_recipe_fields_are_yaml_with_the_recipes_nesting(synth: Any, env: str) -> None:
    outputs = synth.templates[env]["Outputs"]
    for fn in config(synth, env).reward_functions:
        fn_id, _ = function_resource(synth, env, fn.function_name)
        version_id, _ = version_of(synth, env, fn_id)
        text = resolve(outputs[f"{fn.construct_name}SageMakerRecipeFields"]["Value"], {version_id: FAKE_VERSION_ARN})
        fields = yaml.safe_load(text)
        assert lookup(fields, "run.reward_lambda_arn") == FAKE_VERSION_ARN
        assert lookup(fields, "training_config.rollout.rewards.api_endpoint.lambda_arn") == FAKE_VERSION_ARN
        limit = lookup(fields, "training_config.rollout.rewards.api_endpoint.lambda_concurrency_limit")
        assert limit == fn.reserved_concurrency and isinstance(limit, int)
        assert set(fields) == {"run", "training_config"}


def test_removal_policy_is_per_environment_config() -> None:
    raw = base()["dev"]
    raw["log_group_removal_policy"] = "retain"
    groups = [v for v in synth_one(raw)["Resources"].values() if v["Type"] == "AWS::Logs::LogGroup"]
    assert len(groups) == 3  # the function's, and the evaluator registration's handler and provider
    assert all(g["DeletionPolicy"] == "Retain" and "LogGroupName" not in g["Properties"] for g in groups)
    production = base()["dev"] | {"production": True, "account": "111122223333", "region": "eu-west-1",
                                  "log_group_removal_policy": "destroy"}
    groups = [v for v in synth_one(production)["Resources"].values() if v["Type"] == "AWS::Logs::LogGroup"]
    assert all(g["DeletionPolicy"] == "Delete" for g in groups)
    assert "/aws/lambda/SageMaker-reward-sentiment-dev" in [g["Properties"].get("LogGroupName") for g in groups]
    bad = base()
    bad["dev"]["log_group_removal_policy"] = "snapshot"
    assert error(bad) == "environments.dev.log_group_removal_policy: must be one of ['destroy', 'retain'], got 'snapshot'"


def test_name_prefix_and_suffix_make_a_second_copy_with_other_names() -> None:
    raw = base()["dev"] | {"name_prefix": "team2", "name_suffix": "preview"}
    env = parse_environments({"dev": raw})["dev"]
    assert stack_name(env) == "team2-NovaRftRewards-dev-preview"
    template = synth_one(raw)
    named = [v["Properties"].get("FunctionName") for v in template["Resources"].values()
             if v["Type"] == "AWS::Lambda::Function"]
    assert [name for name in named if name] == ["team2-SageMaker-reward-sentiment-dev-preview"]
    groups = [v["Properties"].get("LogGroupName") for v in template["Resources"].values()
              if v["Type"] == "AWS::Logs::LogGroup"]
    assert [name for name in groups if name] == ["/aws/lambda/team2-SageMaker-reward-sentiment-dev-preview"]
    # The evaluator it registers is named after the function, so the copy's does not collide either.
    (registration,) = [v for v in template["Resources"].values() if v["Type"] == "Custom::SageMakerEvaluator"]
    assert registration["Properties"]["EvaluatorName"] == "team2-SageMaker-reward-sentiment-dev-preview"
    # Nothing else carries a fixed name (roles and policies are named by CloudFormation).
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role":
            assert "RoleName" not in resource["Properties"]
    # Account-unique CloudWatch names carry the affixes too (the dashboard; alarms, when on).
    (dashboard,) = [v for v in template["Resources"].values() if v["Type"] == "AWS::CloudWatch::Dashboard"]
    assert dashboard["Properties"]["DashboardName"] == "team2-NovaRftRewards-dev-preview"
    for alarm in (v for v in template["Resources"].values() if v["Type"] == "AWS::CloudWatch::Alarm"):
        assert alarm["Properties"]["AlarmName"].startswith("team2-NovaRftRewards-dev-preview-")
    plain = parse_environments(base())["dev"]
    assert stack_name(plain) == "NovaRftRewards-dev"


def test_shipped_prod_is_a_production_environment(synth: Any) -> None:
    assert "prod" in SHIPPED_ENVIRONMENTS
    prod = config(synth, "prod")
    assert prod.production and prod.account and prod.region
    assert not config(synth, "dev").production


def test_alias_follows_the_latest_version(synth: Any) -> None:
    fn = config(synth, "dev").reward_functions[0]
    fn_id, _ = function_resource(synth, "dev", fn.function_name)
    version_id, _ = version_of(synth, "dev", fn_id)
    _, alias = alias_of(synth, "dev", fn_id)
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    assert len(resources(synth, "dev", "AWS::Lambda::Alias")) == len(config(synth, "dev").reward_functions)


def test_the_dry_run_prints_the_hash_the_stack_deploys(synth: Any, tmp_path: Any) -> None:
    import io

    from reward_kit import dryrun
    from tests.cdk_context import ROOT

    fn = config(synth, "dev").function("sentiment")
    spec_file = tmp_path / "spec.json"  # the spec as written in cdk.json, not normalized
    spec_file.write_text(json.dumps(CDK_CONTEXT["environments"]["dev"]["reward_functions"]["sentiment"]["reward_spec"]))
    out = io.StringIO()
    assert dryrun.main(["--data", str(ROOT / "examples" / "label" / "samples.jsonl"), "--spec", str(spec_file)],
                       stdout=out, stderr=io.StringIO()) == 0
    assert f"spec hash: {fn.spec_hash}\n" in out.getvalue()
    fn_id, _ = function_resource(synth, "dev", fn.function_name)
    _, version = version_of(synth, "dev", fn_id)
    assert fn.spec_hash in version["Properties"]["Description"]
