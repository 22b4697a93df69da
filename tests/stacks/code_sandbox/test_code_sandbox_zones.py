"""`code_sandbox.availability_zones` for the VPC the stack creates: an environment with an account
and a code function synthesizes offline (no zone lookup), and when the lookup fails the error
names that key.

Its synthesized half is tests/synth/code_sandbox/test_code_sandbox_zones.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.config import ConfigError, parse_environments
from tests.cdk_context import SANDBOX_ENVIRONMENT

ACCOUNT, REGION = "123456789012", "eu-west-1"


def created_vpc_env(**sandbox: Any) -> dict[str, Any]:
    """The test-only sandbox environment, but in a VPC the stack creates."""
    env = copy.deepcopy(SANDBOX_ENVIRONMENT)
    env.update(account=ACCOUNT, region=REGION)
    env["code_sandbox"] = sandbox
    return env


def config_error(env: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_environments({"zoned": env})
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(("zones", "message"), [
    (["us-east-1a"], "environments.zoned.code_sandbox.availability_zones[0]: must be a zone of the environment's "
     "region 'eu-west-1', e.g. 'eu-west-1a', got 'us-east-1a'"),
    (["eu-west-1a", "eu-west-1a"], "environments.zoned.code_sandbox.availability_zones: must not repeat a zone"),
    ([], "environments.zoned.code_sandbox.availability_zones: must be a non-empty list of zones"),
    ("eu-west-1a", "environments.zoned.code_sandbox.availability_zones: must be a non-empty list of zones"),
    (["eu-west-1"], "environments.zoned.code_sandbox.availability_zones[0]: "),
    (["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1d", "eu-west-1e"],
     "environments.zoned.code_sandbox.availability_zones: at most 4 zones (one /26 subnet each) fit in 10.213.0.0/24"),
])
def test_zone_mistakes_are_one_line_errors_naming_the_key(zones: Any, message: str) -> None:
    assert config_error(created_vpc_env(availability_zones=zones)).startswith(message)


def test_the_environment_schema_accepts_zones_for_the_created_vpc_and_the_new_judge_keys() -> None:
    from tests.project.test_schemas import ENV_VALIDATOR

    env = created_vpc_env(availability_zones=["eu-west-1a", "eu-west-1b"])
    assert list(ENV_VALIDATOR.iter_errors({"zoned": env})) == []
    env["code_sandbox"]["subnet_ids"] = ["subnet-0aaa1111bbbb22223"]  # subnets still need a vpc_id
    assert list(ENV_VALIDATOR.iter_errors({"zoned": env})) != []
