"""Judge model ids are checked at synth against the forms Bedrock uses (provider, region or global
prefix, version suffix); `judge_model_id_unchecked: true` accepts a model newer than the list."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.config import ConfigError, parse_environments
from stacks.config.model_ids import GEOS, PROVIDERS
from tests.cdk_context import JUDGE_ENVIRONMENT

PATH = "environments.j.reward_functions.judge-fm"


def env_with(model_id: str, **extra: Any) -> dict[str, Any]:
    env = copy.deepcopy(JUDGE_ENVIRONMENT)
    env["reward_functions"] = {"judge-fm": {**env["reward_functions"]["judge-fm"], "judge_model_id": model_id, **extra}}
    env["bedrock_quotas"] = {model_id: {"tokens_per_minute": 100_000_000, "requests_per_minute": 100_000}}
    return {"j": env}


def error(model_id: str, **extra: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_environments(env_with(model_id, **extra))
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("model_id", [
    "amazon.nova-pro-v1:0", "amazon.nova-2-lite-v1:0", "amazon.nova-pro-v1:0:300k",
    "anthropic.claude-3-5-sonnet-20240620-v1:0", "meta.llama3-1-70b-instruct-v1:0",
    "mistral.mistral-7b-instruct-v0:2", "openai.gpt-oss-120b-1:0", "deepseek.r1-v1:0",
])
def test_foundation_model_ids_pass(model_id: str) -> None:
    fn = parse_environments(env_with(model_id))["j"].function("judge-fm")
    assert fn.judge_model_id == model_id and not fn.judge_is_inference_profile


@pytest.mark.parametrize("model_id", [
    "us.amazon.nova-pro-v1:0", "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "apac.amazon.nova-micro-v1:0",
    "us-gov.anthropic.claude-3-haiku-20240307-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
])
def test_inference_profile_ids_pass(model_id: str) -> None:
    env = env_with(model_id, judge_inference_profile_regions=["us-east-1", "us-west-2"])
    assert parse_environments(env)["j"].function("judge-fm").judge_is_inference_profile


@pytest.mark.parametrize(("model_id", "problem"), [
    ("amazn.nova-pro-v1:0", "'amazn.nova-pro-v1:0' has an unknown provider 'amazn'"),
    ("amazon.nova-pro-v1", "'amazon.nova-pro-v1' has no version suffix (':0' as in 'amazon.nova-pro-v1:0')"),
    ("uss.amazon.nova-pro-v1:0", "'uss.amazon.nova-pro-v1:0' has an unknown inference profile prefix 'uss'"),
    ("us.amazon.nova-pro-v1", "'us.amazon.nova-pro-v1' has no version suffix"),
])
def test_a_mistyped_id_is_one_line_naming_the_accepted_forms(model_id: str, problem: str) -> None:
    message = error(model_id)
    assert message.startswith(f"{PATH}.judge_model_id: {problem}")
    assert "'<provider>.<model>:<version>'" in message and "'<geo>.<provider>.<model>:<version>'" in message
    assert str(list(GEOS)) in message and str(list(PROVIDERS)) in message
    assert message.endswith("set judge_model_id_unchecked: true")


def test_a_brand_new_model_passes_with_the_explicit_override() -> None:
    model_id = "newco.frontier-judge-v1"  # an unknown provider without a version suffix
    assert "judge_model_id" in error(model_id)
    fn = parse_environments(env_with(model_id, judge_model_id_unchecked=True))["j"].function("judge-fm")
    assert fn.judge_model_id == model_id
    assert error(model_id, judge_model_id_unchecked="yes") == (
        f"{PATH}.judge_model_id_unchecked: must be true or false, got 'yes'")


def test_the_override_is_a_judge_key() -> None:
    env = copy.deepcopy(JUDGE_ENVIRONMENT)
    env["reward_functions"]["signed"]["judge_model_id_unchecked"] = True
    with pytest.raises(ConfigError, match=r"signed\.judge_model_id_unchecked: only valid for kind 'rlaif'"):
        parse_environments({"j": env})
