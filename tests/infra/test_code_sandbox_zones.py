"""`code_sandbox.availability_zones` for the VPC the stack creates: an environment with an account
and a code function synthesizes offline (no zone lookup), and when the lookup fails the error
names that key.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

from stacks.config import ConfigError, parse_environments

from .conftest import CDK_CONTEXT, SANDBOX_ENVIRONMENT

ACCOUNT, REGION = "123456789012", "eu-west-1"
LOOKUP_KEY = f"availability-zones:account={ACCOUNT}:region={REGION}"


def created_vpc_env(**sandbox: Any) -> dict[str, Any]:
    """The test-only sandbox environment, but in a VPC the stack creates."""
    env = copy.deepcopy(SANDBOX_ENVIRONMENT)
    env.update(account=ACCOUNT, region=REGION)
    env["code_sandbox"] = sandbox
    return env


def synth(env: dict[str, Any], **context: Any) -> tuple[Any, Any]:
    from aws_cdk import App

    from stacks.app_builder import build_app

    flags = {k: v for k, v in CDK_CONTEXT.items() if k.startswith("@")}
    app = App(context={**flags, "aws:cdk:bundling-stacks": [], **context})
    (stack,) = build_app(app, list(parse_environments({"zoned": env}).values())).values()
    return stack, app.synth()


def missing_lookups(assembly: Any) -> list[str]:
    """The context keys the assembly asks the CLI to look up (its manifest's ``missing``)."""
    manifest = json.loads((Path(assembly.directory) / "manifest.json").read_text(encoding="utf-8"))
    return [m["key"] for m in manifest.get("missing", [])]


def config_error(env: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_environments({"zoned": env})
    assert "\n" not in str(info.value)
    return str(info.value)


def test_given_zones_need_no_lookup_and_place_the_subnets() -> None:
    stack, assembly = synth(created_vpc_env(availability_zones=["eu-west-1b", "eu-west-1c"]))
    assert missing_lookups(assembly) == []
    template = assembly.get_stack_by_name(stack.stack_name).template
    zones = sorted(r["Properties"]["AvailabilityZone"] for r in template["Resources"].values()
                   if r["Type"] == "AWS::EC2::Subnet")
    assert zones == ["eu-west-1b", "eu-west-1c"]


def test_without_zones_an_account_needs_the_lookup() -> None:
    # What fails offline today: CDK asks the CLI to look the zones up in the account.
    _stack, assembly = synth(created_vpc_env())
    assert missing_lookups(assembly) == [LOOKUP_KEY]


def test_a_failed_lookup_names_the_key_to_set() -> None:
    failed = {"$providerError": "Need to perform AWS calls for account 123456789012, but no credentials have been "
              "configured", "$dontSaveContext": True}
    with pytest.raises(RuntimeError) as info:  # the synth fails on the error annotations
        synth(created_vpc_env(), **{LOOKUP_KEY: failed})
    (line,) = [line for line in str(info.value).splitlines() if "code_sandbox" in line]
    assert line.startswith("ERROR environments.zoned.code_sandbox.availability_zones: CDK could not look up the "
                           "availability zones of account 123456789012 in eu-west-1 (no AWS credentials?); set it")
    assert "['eu-west-1a', 'eu-west-1b']" in line


def test_a_cached_lookup_still_works_and_adds_no_error() -> None:
    stack, _assembly = synth(created_vpc_env(), **{LOOKUP_KEY: ["eu-west-1a", "eu-west-1b", "eu-west-1c"]})
    assert Annotations.from_stack(stack).find_error("*", Match.any_value()) == []


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
    from .test_schemas import ENV_VALIDATOR

    env = created_vpc_env(availability_zones=["eu-west-1a", "eu-west-1b"])
    assert list(ENV_VALIDATOR.iter_errors({"zoned": env})) == []
    env["code_sandbox"]["subnet_ids"] = ["subnet-0aaa1111bbbb22223"]  # subnets still need a vpc_id
    assert list(ENV_VALIDATOR.iter_errors({"zoned": env})) != []
