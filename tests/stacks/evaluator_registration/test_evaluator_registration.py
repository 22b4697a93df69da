"""Evaluator registration's config, without a synth: defaults (every function registers), the
switch and overrides, one-line errors naming the key, one registry per account and region, and
the schema agreeing with the config.

The registration in the synthesized templates: tests/synth/evaluator_registration/test_evaluator_registration.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from evaluator_registration import ai_registry
from stacks.config import ConfigError, parse_environments
from tests.cdk_context import CDK_CONTEXT

SECTION = "environments.dev.evaluator_registration"


def environments(**section: Any) -> dict[str, Any]:
    raw = copy.deepcopy({"dev": CDK_CONTEXT["environments"]["dev"]})
    if section:
        raw["dev"]["evaluator_registration"] = section
    return raw


def error(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_environments(raw)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_config_defaults_register_every_function() -> None:
    registration = parse_environments(environments())["dev"].evaluator_registration
    assert registration.enabled
    assert [e.function for e in registration.evaluators] == ["sentiment", "gsm8k", "code-tests"]
    assert registration.evaluator("gsm8k").name == "SageMaker-reward-gsm8k-dev"
    assert registration.evaluator("gsm8k").description == "Nova RFT reward function 'gsm8k' (dev): numeric grader"


def test_config_overrides_and_switch() -> None:
    raw = environments(enabled=False, evaluators={"gsm8k": {"name": "gsm8k-accuracy", "description": "GSM8K"}})
    registration = parse_environments(raw)["dev"].evaluator_registration
    assert not registration.enabled
    assert (registration.evaluator("gsm8k").name, registration.evaluator("gsm8k").description) == (
        "gsm8k-accuracy", "GSM8K")
    assert registration.evaluator("sentiment").name == "SageMaker-reward-sentiment-dev"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"enabled": "yes"}, f"{SECTION}.enabled: must be true or false, got 'yes'"),
        ({"enable": True},
         f"{SECTION}.enable: unknown key; allowed keys are ['enabled', 'evaluators', 'studio_domain_id']"),
        ({"evaluators": {"gsm8": {}}},
         f"{SECTION}.evaluators.gsm8: must be one of this environment's reward functions ['code-tests', 'gsm8k', 'sentiment']"),
        ({"evaluators": {"gsm8k": {"name": "-gsm8k"}}},
         f"{SECTION}.evaluators.gsm8k.name: must be a SageMaker hub content name: letters, digits and inner "
         f"hyphens, at most 63 characters ({ai_registry.EVALUATOR_NAME_PATTERN}), got '-gsm8k'"),
        ({"evaluators": {"gsm8k": {"name": "gsm8k_v2"}}}, f"{SECTION}.evaluators.gsm8k.name: must be a SageMaker"),
        ({"evaluators": {"gsm8k": {"name": "x" * 64}}}, f"{SECTION}.evaluators.gsm8k.name: must be a SageMaker"),
        ({"evaluators": {"gsm8k": {"description": ""}}},
         f"{SECTION}.evaluators.gsm8k.description: must be a non-empty string, got ''"),
        ({"evaluators": {"gsm8k": {"description": "x" * 1024}}},
         f"{SECTION}.evaluators.gsm8k.description: must be at most 1023 characters"),
        ({"evaluators": {"gsm8k": {"title": "x"}}},
         f"{SECTION}.evaluators.gsm8k.title: unknown key; allowed keys are ['description', 'name']"),
        ({"evaluators": {"sentiment": {"name": "shared"}, "gsm8k": {"name": "shared"}}},
         f"{SECTION}.evaluators.gsm8k.name: must be unique in the environment ('sentiment' is registered as it "
         "too), got 'shared'"),
        ({"evaluators": []}, f"{SECTION}.evaluators: must be a JSON object, got []"),
    ],
)
def test_config_errors_name_the_key(section: dict[str, Any], message: str) -> None:
    assert error(environments(**section)).startswith(message)


def test_a_default_name_sagemaker_rejects_asks_for_a_name() -> None:
    raw = environments()
    name = "n" * (64 - len("SageMaker-reward--dev"))  # a 64-character function name: Lambda's limit, not SageMaker's
    raw["dev"]["reward_functions"] = {name: raw["dev"]["reward_functions"]["gsm8k"]}
    assert error(raw).startswith(f"{SECTION}.evaluators.{name}.name: must be a SageMaker hub content name")
    raw["dev"]["evaluator_registration"] = {"evaluators": {name: {"name": "long-one"}}}
    assert parse_environments(raw)["dev"].evaluator_registration.evaluators[0].name == "long-one"


def test_environments_sharing_an_account_and_region_share_one_registry() -> None:
    raw = environments(evaluators={"gsm8k": {"name": "gsm8k"}})
    raw["dev"].update(account="111122223333", region="us-east-1")
    raw["stage"] = copy.deepcopy(raw["dev"])
    assert error(raw).startswith("environments.stage.evaluator_registration.evaluators.gsm8k.name: must differ from "
                                 "environment 'dev'")
    raw["stage"]["region"] = "us-west-2"  # another region: another hub
    assert parse_environments(raw)["stage"].evaluator_registration.evaluator("gsm8k").name == "gsm8k"
    raw["stage"]["region"] = "us-east-1"
    raw["stage"]["evaluator_registration"]["enabled"] = False  # registers nothing
    parse_environments(raw)


SCHEMA_MISTAKES = [
    {"enabled": "yes"},
    {"enable": True},
    {"evaluators": {"f": {"name": "-x"}}},
    {"evaluators": {"f": {"name": "x" * 64}}},
    {"evaluators": {"f": {"name": "a_b"}}},
    {"evaluators": {"f": {"description": " "}}},
    {"evaluators": {"f": {"description": "x" * 1024}}},
    {"evaluators": {"f": {"title": "x"}}},
    {"evaluators": []},
]


@pytest.mark.parametrize("section", SCHEMA_MISTAKES, ids=range(len(SCHEMA_MISTAKES)))
def test_schema_and_config_reject_the_same_mistakes(section: dict[str, Any]) -> None:
    from tests.project.test_schemas import ENV_VALIDATOR, environment

    raw = environment(evaluator_registration=section)
    with pytest.raises(ConfigError):
        parse_environments(copy.deepcopy(raw))
    assert not ENV_VALIDATOR.is_valid(raw)


def test_schema_accepts_what_the_config_accepts_with_the_same_limits() -> None:
    from tests.project.test_schemas import ENV_SCHEMA, ENV_VALIDATOR, environment

    raw = environment(evaluator_registration={"enabled": False, "evaluators": {"f": {"name": "F-1", "description": "d"}}})
    parse_environments(copy.deepcopy(raw))
    ENV_VALIDATOR.validate(raw)
    item = ENV_SCHEMA["$defs"]["evaluator_registration"]["properties"]["evaluators"]["additionalProperties"]
    assert item["properties"]["name"]["pattern"] == f"^{ai_registry.EVALUATOR_NAME_PATTERN}$"
    assert item["properties"]["name"]["maxLength"] == ai_registry.EVALUATOR_NAME_MAX
    assert item["properties"]["description"]["maxLength"] == ai_registry.EVALUATOR_DESCRIPTION_MAX
