"""The code sandbox component's config, without a synth: which functions are code functions, the
executor's limits against its graders' (size, time, the account's concurrency), the schema's
executor keys, and the README's examples.

The synthesized executor, its network and its IAM, evaluated as IAM does:
tests/synth/code_sandbox/test_code_sandbox.py.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from stacks.config import KIND_HANDLERS, ConfigError, parse_environments
from stacks.config.code_sandbox import EXECUTOR_RUNTIME_MB
from tests import ROOT
from tests.cdk_context import SANDBOX_ENVIRONMENT


def _env_with(spec: Any = None, **sandbox: Any) -> dict[str, Any]:
    env = copy.deepcopy(SANDBOX_ENVIRONMENT)
    if spec is not None:
        env["reward_functions"]["humaneval"]["reward_spec"] = spec
    if sandbox:
        env["code_sandbox"] = sandbox
    return {"x": env}


def config_error(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_environments(raw)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_judge_and_code_in_one_function_is_a_one_line_synth_error() -> None:
    spec = {"grader": "multi", "graders": {"run": {"grader": "code"}, "style": {"grader": "judge", "rubric": "r"}}}
    assert config_error(_env_with(spec)) == (
        "environments.x.reward_functions.humaneval.reward_spec.graders: a judge (needs the network to call "
        "Bedrock) and a code grader (runs in a sandbox without network) cannot share one reward function; "
        "use two functions"
    )


def test_code_beside_deterministic_graders_is_a_code_function() -> None:
    spec = {"grader": "multi", "graders": {"run": {"grader": "code"}, "format": {"grader": "regex", "pattern": "```"}}}
    fn = parse_environments(_env_with(spec))["x"].function("humaneval")
    assert (fn.kind, fn.handler, fn.judge) == ("code", KIND_HANDLERS["code"], None)
    raw = _env_with(spec)
    raw["x"]["reward_functions"]["humaneval"]["kind"] = "rlvr"
    assert config_error(raw) == (
        "environments.x.reward_functions.humaneval.kind: the reward_spec implies kind 'code' (its graders need "
        "a code sandbox); set kind 'code' or omit kind, got 'rlvr'"
    )


EXISTING_VPC = {key: SANDBOX_ENVIRONMENT["code_sandbox"][key] for key in ("vpc_id", "subnet_ids", "availability_zones")}


@pytest.mark.parametrize(
    ("sandbox", "message"),
    [
        ({"cidr": "8.8.8.0/24"}, "environments.x.code_sandbox.cidr: must be a private IPv4 CIDR with a prefix of /16 "
         "to /24, e.g. '10.213.0.0/24', got '8.8.8.0/24'"),
        ({"vpc_id": "vpc-0abc12345def67890", "subnet_ids": ["subnet-0aaa1111bbbb22223"]},
         "environments.x.code_sandbox.availability_zones: required (the subnets' availability zones, in order)"),
        ({"vpc_id": "vpc-0abc12345def67890", "subnet_ids": ["subnet-0aaa1111bbbb22223"],
          "availability_zones": ["eu-west-1a", "eu-west-1b"]},
         "environments.x.code_sandbox.availability_zones: must list one zone per subnet (1), "
         'got ["eu-west-1a", "eu-west-1b"]'),
        ({"subnet_ids": ["subnet-0aaa1111bbbb22223"]},
         "environments.x.code_sandbox.subnet_ids: only with vpc_id (an existing VPC); omit it to have the stack "
         "create the VPC"),
        ({"vpc": "x"}, "environments.x.code_sandbox.vpc: unknown key"),
        ({"executor": {"memory": 2048}}, "environments.x.code_sandbox.executor.memory: unknown key"),
        ({"executor": {"memory_mb": 64}}, "environments.x.code_sandbox.executor.memory_mb: must be an integer"),
        ({"executor": {"timeout_seconds": 901}}, "environments.x.code_sandbox.executor.timeout_seconds: must be an "
         "integer"),
        ({**EXISTING_VPC, "executor": []}, "environments.x.code_sandbox.executor: must be a JSON object, got []"),
    ],
)
def test_sandbox_config_errors_name_the_key(sandbox: dict[str, Any], message: str) -> None:
    assert config_error(_env_with(**sandbox)).startswith(message)


def test_the_executor_must_hold_the_largest_program_a_grader_allows() -> None:
    spec = {"grader": "multi", "graders": {"run": {"grader": "code", "memory_mb": 2048},
                                           "format": {"grader": "regex", "pattern": "```"}}}
    raw = _env_with(spec, **EXISTING_VPC, executor={"memory_mb": 2048})
    assert config_error(raw) == (
        f"environments.x.code_sandbox.executor.memory_mb: must be at least {2048 + EXECUTOR_RUNTIME_MB} MB (the "
        "largest program a code grader allows, environments.x.reward_functions.humaneval.reward_spec.graders.run."
        f"memory_mb = 2048, plus {EXECUTOR_RUNTIME_MB} MB for the executor itself), got 2048"
    )
    raw["x"]["code_sandbox"]["executor"]["memory_mb"] = 2048 + EXECUTOR_RUNTIME_MB
    assert parse_environments(raw)["x"].code_sandbox.executor.memory_mb == 2048 + EXECUTOR_RUNTIME_MB


def test_the_executor_must_outlast_every_grader() -> None:
    raw = _env_with(None, **EXISTING_VPC, executor={"timeout_seconds": 299})
    assert config_error(raw) == (
        "environments.x.code_sandbox.executor.timeout_seconds: must be at least 300 (the timeout of code function "
        "'humaneval': a grader gives a sample up to its own time left, and the executor must not die first); "
        "omit it to use that, got 299"
    )
    raw["x"]["code_sandbox"]["executor"]["timeout_seconds"] = 600
    assert parse_environments(raw)["x"].code_sandbox.executor.timeout_seconds == 600
    raw["x"]["code_sandbox"]["executor"] = {}
    assert parse_environments(raw)["x"].code_sandbox.executor.timeout_seconds == 300  # the grader's default


def test_the_executor_counts_against_the_accounts_concurrency() -> None:
    raw = _env_with(None, **EXISTING_VPC)
    humaneval = raw["x"]["reward_functions"]["humaneval"]
    humaneval["samples_per_invocation"] = 32  # reserved 46 x 32 at once: 1,472 executor environments
    message = config_error(raw)
    assert message.startswith("environments.x.account_concurrency_limit: reserved concurrency totals 1523, ")
    assert "(humaneval=46, gsm8k=5, code executor=1472)" in message
    assert "the code executor needs each code function's reserved concurrency x samples_per_invocation" in message
    raw["x"]["account_concurrency_limit"] = 3000
    cfg = parse_environments(raw)["x"]
    (grader,) = [fn for fn in cfg.reward_functions if fn.kind == "code"]
    assert cfg.executor_reserved_concurrency == grader.reserved_concurrency * 32 == 1472


def test_environments_without_code_have_no_executor() -> None:
    raw = _env_with(None)
    del raw["x"]["reward_functions"]["humaneval"]
    cfg = parse_environments(raw)["x"]
    assert (cfg.runs_code, cfg.executor_reserved_concurrency) == (False, 0)
    assert cfg.total_reserved_concurrency == sum(fn.reserved_concurrency for fn in cfg.reward_functions)


def test_the_environment_schema_has_the_executor_keys_and_limits() -> None:
    from stacks.config import code_sandbox as sandbox_config
    from tests.project.test_schemas import ENV_SCHEMA

    section = ENV_SCHEMA["$defs"]["environment"]["properties"]["code_sandbox"]
    assert set(section["properties"]) == set(sandbox_config.SANDBOX_KEYS)
    executor_schema = section["properties"]["executor"]
    assert set(executor_schema["properties"]) == set(sandbox_config.EXECUTOR_KEYS)
    assert executor_schema["additionalProperties"] is False
    for key, (lo, hi) in (("memory_mb", sandbox_config.EXECUTOR_MEMORY_MB_RANGE),
                          ("timeout_seconds", sandbox_config.EXECUTOR_TIMEOUT_SECONDS_RANGE)):
        assert (executor_schema["properties"][key]["minimum"], executor_schema["properties"][key]["maximum"]) == (lo, hi)


@pytest.mark.parametrize("executor_section", [{"memory": 2048}, {"memory_mb": 64}, {"memory_mb": 10241},
                                              {"timeout_seconds": 0}, {"timeout_seconds": 901}, [],
                                              {"memory_mb": "2048"}])
def test_executor_mistakes_are_rejected_by_schema_and_validator(executor_section: Any) -> None:
    from tests.project.test_schemas import ENV_VALIDATOR

    raw = _env_with(None, **EXISTING_VPC, executor=executor_section)
    config_error(copy.deepcopy(raw))
    assert not ENV_VALIDATOR.is_valid(raw)


def test_a_valid_executor_section_passes_both() -> None:
    from tests.project.test_schemas import ENV_VALIDATOR

    raw = _env_with(None, **EXISTING_VPC, executor={"memory_mb": 3008, "timeout_seconds": 600})
    ENV_VALIDATOR.validate(raw)
    assert parse_environments(raw)["x"].code_sandbox.executor.memory_mb == 3008


def test_executor_concurrency_is_the_sum_of_reserved_times_samples_at_once() -> None:
    from stacks import capacity

    assert capacity.executor_concurrency([]) == 0
    assert capacity.executor_concurrency([(16, 8)]) == 128
    assert capacity.executor_concurrency([(16, 8), (5, 1), (3, 64)]) == 128 + 5 + 192
    for bad in ([(1, 0)], [(-1, 1)]):
        with pytest.raises(ValueError):
            capacity.executor_concurrency(bad)


def test_the_readme_code_sandbox_examples_parse() -> None:
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, re.DOTALL)
              if b.lstrip().startswith('{"code_sandbox"')]
    assert any("executor" in b["code_sandbox"] for b in blocks) and any("vpc_id" in b["code_sandbox"] for b in blocks)
    for block in blocks:
        raw = _env_with(None)
        raw["x"]["code_sandbox"] = block["code_sandbox"]
        parse_environments(raw)
