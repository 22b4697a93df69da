"""Guardrails: tags on every taggable resource, a boundary on every role, narrow key policies,
the training roles' KMS statement, and the config's one-line errors for them.

Its synthesized half is tests/synth/guardrails/test_guardrails.py.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from stacks.config import ConfigError, parse_environments, parse_pipeline
from tests.cdk_context import CDK_CONTEXT, JUDGE_ENVIRONMENT
from tests.stacks.config.test_config import base, error, with_env


@cache
def tag_property(resource_type: str) -> str | None:
    """The property holding a type's tags, from the CloudFormation resource schemas cfn-lint
    ships (kept current with the registry): None for types that cannot be tagged."""
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return None  # custom resources take no tags
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    tagging = schema.get("tagging", {})
    if not tagging.get("taggable", "Tags" in schema.get("properties", {})):
        return None
    pointer = tagging.get("tagProperty", "/properties/Tags")
    return str(pointer).rsplit("/", 1)[-1]


def test_the_tag_list_comes_from_the_resource_schemas() -> None:
    assert tag_property("AWS::Lambda::Function") == "Tags"
    assert tag_property("AWS::KMS::Key") == "Tags"
    assert tag_property("AWS::IAM::Policy") is None
    assert tag_property("AWS::Lambda::Permission") is None
    assert tag_property("AWS::Lambda::Alias") is None
    assert tag_property("Custom::SageMakerEvaluator") is None


def test_environment_tags_win_over_app_wide_tags() -> None:
    raw = base()
    raw["dev"]["tags"] = {"project": "mine", "team": "ml"}
    (env,) = parse_environments(raw, {"project": "nova-rft-rewards", "owner": "platform"}).values()
    assert dict(env.guardrails.tags) == {"project": "mine", "team": "ml", "owner": "platform"}
    assert dict(config_of(JUDGE_ENVIRONMENT).guardrails.tags)["environment"] == "judge"


def config_of(environment: dict[str, Any]) -> Any:
    return parse_environments({"x": copy.deepcopy(environment)}, CDK_CONTEXT.get("tags"))["x"]


@pytest.mark.parametrize(("tags", "expected"), [
    ({"": "x"}, "environments.dev.tags: tag keys must be 1-128 characters"),
    ({"k" * 129: "x"}, "environments.dev.tags: tag keys must be 1-128 characters"),
    ({"team#1": "x"}, "environments.dev.tags: tag keys must be 1-128 characters: letters, digits, spaces and _.:/=+-@ only, got 'team#1'"),
    ({"AWS:cost": "x"}, "environments.dev.tags.AWS:cost: the 'aws:' prefix is reserved for AWS"),
    ({"team": "v" * 257}, "environments.dev.tags.team: must be a string of 0-256 characters"),
    ({"team": 3}, "environments.dev.tags.team: must be a string of 0-256 characters: letters, digits, spaces and _.:/=+-@ only, got 3"),
    ({"team": "a;b"}, "environments.dev.tags.team: must be a string"),
    ({f"k{i}": "v" for i in range(51)}, "environments.dev.tags: at most 50 tags per resource, got 51"),
    (["team"], "environments.dev.tags: must be a JSON object"),
])  # fmt: skip
def test_tag_rules_fail_in_one_line(tags: Any, expected: str) -> None:
    assert error(with_env(tags=tags)).startswith(expected)


def test_tag_values_may_be_empty_and_in_any_language() -> None:
    (env,) = parse_environments(with_env(tags={"チーム": "", "cost-center": "CC 12/ml+ops@x"})).values()
    assert dict(env.guardrails.tags) == {"チーム": "", "cost-center": "CC 12/ml+ops@x"}


def test_app_wide_tags_are_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^tags\.aws:x: the 'aws:' prefix"):
        parse_environments(base(), {"aws:x": "1"})


@pytest.mark.parametrize(("raw", "expected"), [
    ({"permissions_boundary": "arn:aws:iam::12345:policy/B"}, "environments.dev.permissions_boundary: must be a managed policy ARN"),
    ({"permissions_boundary": "no spaces"}, "environments.dev.permissions_boundary: must be a managed policy ARN"),
    ({"customer_managed_keys": {"logs": True}}, "environments.dev.customer_managed_keys.logs: unknown key"),
    ({"customer_managed_keys": {"log_groups": "yes"}}, "environments.dev.customer_managed_keys.log_groups: must be true or false"),
    ({"training": {"bucket": "amzn-s3-demo-bucket", "data_prefix": "d", "output_prefix": "o",
                   "kms_key_arn": "alias/training"}}, "environments.dev.training.kms_key_arn: must be a KMS key ARN"),
])  # fmt: skip
def test_guardrail_mistakes_fail_in_one_line(raw: dict[str, Any], expected: str) -> None:
    assert error(with_env(**raw)).startswith(expected)


PIPELINE = {
    "enabled": True, "account": "111111111111", "region": "us-east-1",
    "connection_arn": "arn:aws:codeconnections:us-east-1:111111111111:connection/12345678-aaaa-bbbb-cccc-1234567890ab",
    "repository": "my-org/nova-rft-rewards", "branch": "main", "stages": ["dev"],
}  # fmt: skip


def test_pipeline_is_off_unless_enabled() -> None:
    envs = parse_environments(base())
    assert parse_pipeline(None, envs) is None
    assert parse_pipeline({"enabled": False}, envs) is None
    assert parse_pipeline(CDK_CONTEXT.get("pipeline"), parse_environments(CDK_CONTEXT["environments"])) is None


@pytest.mark.parametrize(("changes", "expected"), [
    ({"connection_arn": "arn:aws:s3:::x"}, "pipeline.connection_arn: must be a CodeConnections connection ARN"),
    ({"stages": ["qa"]}, "pipeline.stages[0]: must be one of ['dev'], got 'qa'"),
    ({"stages": ["dev"]}, "pipeline.stages[0]: environment 'dev' must set account and region"),
    ({"stages": []}, "pipeline.stages: must be a non-empty list"),
    ({"branch": None}, "pipeline.branch: required"),
    ({"source": "x"}, "pipeline.source: unknown key"),
])  # fmt: skip
def test_pipeline_mistakes_fail_in_one_line(changes: dict[str, Any], expected: str) -> None:
    raw = {**PIPELINE, **changes}
    with pytest.raises(ConfigError) as info:
        parse_pipeline({k: v for k, v in raw.items() if v is not None}, parse_environments(base()))
    assert str(info.value).startswith(expected) and "\n" not in str(info.value)
