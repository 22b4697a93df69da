"""IAM for a judge on a global inference profile (``global.<model>``), as the Bedrock user guide's
"Global cross-Region inference" example policy has it: the profile, the model in the source region
(and any listed region), and the region-less model ARN only through the profile with no region."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.config import parse_environments
from tests.cdk_context import CDK_CONTEXT, JUDGE_ENVIRONMENT

PROFILE = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
PROFILE_ARN = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{PROFILE}"


def global_env(**judge: Any) -> dict[str, Any]:
    env = copy.deepcopy(JUDGE_ENVIRONMENT)
    fn = env["reward_functions"]["judge-fm"]
    fn.update({"judge_model_id": PROFILE, **judge})
    env["reward_functions"] = {"judge-fm": fn}
    env["bedrock_quotas"] = {PROFILE: {"tokens_per_minute": 60_000_000, "requests_per_minute": 10_000}}
    return env


def judge_statements(env: dict[str, Any]) -> list[dict[str, Any]]:
    from aws_cdk import App

    from stacks.app_builder import build_app

    flags = {k: v for k, v in CDK_CONTEXT.items() if k.startswith("@")}
    app = App(context={**flags, "aws:cdk:bundling-stacks": []})
    (stack,) = build_app(app, list(parse_environments({"g": env}).values())).values()
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return [s for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"
            for p in r["Properties"].get("Policies", []) for s in p["PolicyDocument"]["Statement"]
            if "bedrock:InvokeModel" in str(s["Action"])]


@pytest.fixture(scope="module")
def statements() -> list[dict[str, Any]]:
    return judge_statements(global_env())


def test_the_profile_and_the_model_in_the_source_region(statements: list[dict[str, Any]]) -> None:
    (regional,) = [s for s in statements if s["Sid"] == "InvokeJudgeModel"]
    assert sorted(regional.pop("Resource")) == sorted([PROFILE_ARN, f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}"])
    assert regional == {"Sid": "InvokeJudgeModel", "Effect": "Allow", "Action": "bedrock:InvokeModel"}


def test_the_region_less_model_arn_only_through_the_profile(statements: list[dict[str, Any]]) -> None:
    (global_model,) = [s for s in statements if s["Sid"] == "InvokeJudgeModelGlobalProfile"]
    assert global_model == {
        "Sid": "InvokeJudgeModelGlobalProfile", "Effect": "Allow", "Action": "bedrock:InvokeModel",
        "Resource": f"arn:aws:bedrock:::foundation-model/{MODEL}",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "unspecified",
                                       "bedrock:InferenceProfileArn": PROFILE_ARN}},
    }
    assert len(statements) == 2


def test_listed_regions_add_their_models_and_the_source_region_once() -> None:
    statements = judge_statements(global_env(judge_inference_profile_regions=["us-east-1", "eu-west-1"]))
    (regional,) = [s for s in statements if s["Sid"] == "InvokeJudgeModel"]
    assert sorted(regional["Resource"]) == sorted([PROFILE_ARN, f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL}",
                                                   f"arn:aws:bedrock:eu-west-1::foundation-model/{MODEL}"])


def test_geographic_profiles_get_no_region_less_statement() -> None:
    env = global_env(judge_model_id="us.amazon.nova-pro-v1:0",
                     judge_inference_profile_regions=["us-east-1", "us-east-2", "us-west-2"])
    env["bedrock_quotas"] = {"us.amazon.nova-pro-v1:0": {"tokens_per_minute": 60_000_000,
                                                         "requests_per_minute": 10_000}}
    assert [s["Sid"] for s in judge_statements(env)] == ["InvokeJudgeModel"]
