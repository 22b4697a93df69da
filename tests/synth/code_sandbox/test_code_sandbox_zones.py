"""`code_sandbox.availability_zones` for the VPC the stack creates: an environment with an account
and a code function synthesizes offline (no zone lookup), and when the lookup fails the error
names that key.

This is the half that synthesizes; the rest is tests/stacks/code_sandbox/test_code_sandbox_zones.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

from stacks.config import parse_environments
from tests.cdk_context import CDK_CONTEXT
from tests.stacks.code_sandbox.test_code_sandbox_zones import ACCOUNT, REGION, created_vpc_env

LOOKUP_KEY = f"availability-zones:account={ACCOUNT}:region={REGION}"


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
