"""One environment as deployed: its config (cdk.json) and its stack's outputs (CloudFormation).

Errors the operator can fix (an unknown environment or function, a stack that is not
deployed, an output missing) are ``OperatorError``: one line, exit code 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops import ROOT
from stacks.config import (
    NAME_OVERRIDE_KEYS,
    ConfigError,
    EnvironmentConfig,
    RewardFunctionConfig,
    parse_environments,
    select_environments,
    with_name_overrides,
)

CDK_JSON = ROOT / "cdk.json"


class OperatorError(Exception):
    """Something the operator can fix; printed as one line (exit code 2)."""


def load_environment(name: str, cdk_json: Path = CDK_JSON, *, name_prefix: str | None = None,
                     name_suffix: str | None = None) -> EnvironmentConfig:
    """The environment ``name`` from cdk.json, validated as ``cdk synth`` validates it."""
    try:
        context = json.loads(cdk_json.read_text(encoding="utf-8"))["context"]
    except (OSError, ValueError, KeyError) as exc:
        raise OperatorError(f"{cdk_json}: cannot read the CDK context ({exc})") from None
    try:
        raw = with_name_overrides(context.get("environments"), name,
                                  dict(zip(NAME_OVERRIDE_KEYS, (name_prefix, name_suffix))))
        (env,) = select_environments(parse_environments(raw, context.get("tags")), name)
    except ConfigError as exc:
        raise OperatorError(f"cdk.json: {exc}") from None
    return env


def reward_function(env: EnvironmentConfig, name: str) -> RewardFunctionConfig:
    for fn in env.reward_functions:
        if fn.name == name:
            return fn
    raise OperatorError(f"FN: must be one of {[fn.name for fn in env.reward_functions]} "
                        f"(reward functions of {env.name}), got {name!r}")


def stack_name(env: EnvironmentConfig) -> str:
    return env.deployment.stack_name(env.name)


def client(service: str, env: EnvironmentConfig) -> Any:
    """A boto3 client in the environment's region (or the session's); ``AWS_ENDPOINT_URL_<SERVICE>``
    redirects it (botocore reads it)."""
    import boto3  # lazy: the module is imported by tests that never call AWS

    return boto3.client(service, region_name=env.deployment.region)


@dataclass(frozen=True)
class StackOutputs:
    stack: str
    values: dict[str, str]

    def get(self, key: str) -> str:
        if key not in self.values:
            raise OperatorError(f"stack {self.stack} has no output {key} (deployed from an older commit? "
                                f"run make deploy ENV=...); outputs: {sorted(self.values)}")
        return self.values[key]

    def function(self, fn: RewardFunctionConfig, key: str) -> str:
        """``<Fn><key>``, e.g. ``function(fn, "VersionArn")``."""
        return self.get(f"{fn.construct_name}{key}")


def stack_outputs(env: EnvironmentConfig, cloudformation: Any | None = None) -> StackOutputs:
    """The stack's outputs from CloudFormation ``DescribeStacks``."""
    from botocore.exceptions import ClientError

    cfn = cloudformation or client("cloudformation", env)
    name = stack_name(env)
    try:
        (stack,) = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        raise OperatorError(f"stack {name}: {exc.response['Error'].get('Message', exc)} "
                            f"(deploy it first: make deploy ENV={env.name})") from None
    return StackOutputs(name, {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})
