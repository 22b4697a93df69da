"""schemas/*.schema.json agree with the validators they describe (so they cannot drift).

- They accept every shipped spec (examples/, README, cdk.json) and environment (cdk.json,
  the README example, the test-only judge environment).
- They reject the mistakes the validators reject (each case is asserted against both).
- Their key sets, kinds and limits are the validators' own (reward_kit.kinds, stacks.config).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from reward_kit import kinds
from reward_kit.settings import JUDGE_CACHE_ENTRIES, JUDGE_MAX_CONCURRENCY
from reward_kit.spec import SpecError, validate_spec
from stacks.config import LOG_RETENTION_DAYS, ConfigError, parse_environments
from stacks.config import reward_functions as function_config
from stacks.config import training as training_config
from tests import ROOT
from tests.cdk_context import CDK_CONTEXT, JUDGE_ENVIRONMENT
from tests.project.test_readme_specs import SPECS

SCHEMAS = ROOT / "schemas"
SPEC_SCHEMA = json.loads((SCHEMAS / "reward-spec.schema.json").read_text(encoding="utf-8"))
ENV_SCHEMA = json.loads((SCHEMAS / "environments.schema.json").read_text(encoding="utf-8"))
REGISTRY = Registry().with_resource("reward-spec.schema.json", Resource.from_contents(SPEC_SCHEMA))
SPEC_VALIDATOR = Draft202012Validator(SPEC_SCHEMA)
ENV_VALIDATOR = Draft202012Validator(ENV_SCHEMA, registry=REGISTRY)

EXAMPLE_SPECS = {p.parent.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(ROOT.glob("examples/*/spec.json"))}
CDK_SPECS = {
    f"{env}.{name}": fn["reward_spec"]
    for env, settings in {**CDK_CONTEXT["environments"], "judge": JUDGE_ENVIRONMENT}.items()
    for name, fn in settings["reward_functions"].items()
}

README_SPECS: list[dict[str, Any]] = SPECS
SHIPPED_SPECS = {**{f"example-{k}": v for k, v in EXAMPLE_SPECS.items()},
                 **{f"readme-{i}": s for i, s in enumerate(README_SPECS)}, **CDK_SPECS}


def test_both_schemas_are_valid_json_schema() -> None:
    Draft202012Validator.check_schema(SPEC_SCHEMA)
    Draft202012Validator.check_schema(ENV_SCHEMA)


@pytest.mark.parametrize("spec", list(SHIPPED_SPECS.values()), ids=list(SHIPPED_SPECS))
def test_every_shipped_spec_is_accepted(spec: dict[str, Any]) -> None:
    SPEC_VALIDATOR.validate(spec)
    SPEC_VALIDATOR.validate(validate_spec(spec))  # the normalized form too (what the Lambda gets)


def test_every_shipped_environment_is_accepted() -> None:
    ENV_VALIDATOR.validate(CDK_CONTEXT["environments"])
    ENV_VALIDATOR.validate({"judge": JUDGE_ENVIRONMENT})


LABEL = {"grader": "label", "labels": ["a", "b"]}
SPEC_MISTAKES = [
    {"grader": "labels"},
    {"grader": "label"},
    {"grader": "label", "labels": []},
    {"grader": "label", "labels": ["a", "a"]},
    {**LABEL, "tolerence": 1},
    {"grader": "numeric", "tolerance": -1},
    {"grader": "numeric", "tolerance": True},
    {"grader": "math", "timeout_seconds": 0},
    {"grader": "math", "timeout_seconds": 61},
    {"grader": "math", "format_score": 1},
    {"grader": "math", "name": "has space"},
    {"grader": "math", "range": [0]},
    {"grader": "math", "range": ["0", 1]},
    {"grader": "json_schema"},
    {"grader": "json_schema", "schema": {}, "parse_score": 1},
    {"grader": "numeric", "reference_key": " "},
    {"grader": "math", "reference_key": 3},
    {"grader": "regex", "pattern": "x", "reference_key": "answer"},
    {"grader": "regex"},
    {"grader": "regex", "pattern": "x", "flags": ["VERBOSE"]},
    {"grader": "regex", "pattern": "x", "target": "prompt"},
    {"grader": "multi"},
    {"grader": "multi", "graders": {}},
    {"grader": "multi", "graders": {"a": {"grader": "multi", "graders": {"b": LABEL}}}},
    {"grader": "multi", "graders": {"a": {**LABEL, "range": [0, 1]}}},
    {"grader": "multi", "graders": {"a": LABEL}, "weights": {"a": -1}},
    {"grader": "multi", "graders": {"a": LABEL}, "length_penalty": {"max_chars": 0}},
    {"grader": "multi", "graders": {"a": LABEL}, "length_penalty": {"max_chars": 10, "weight": 0}},
    {"grader": "multi", "graders": {"a": LABEL}, "gates": {"a": {"min": 1}}},
    {"grader": "judge"},
    {"grader": "judge", "rubric": "  "},
    {"grader": "judge", "rubric": "r", "max_score": 101},
    {"grader": "judge", "rubric": "r", "max_tokens": 8},
    {"grader": "judge", "rubric": "r", "criteria": {}},
    {"grader": "judge", "rubric": "r", "criteria": {"a": 3}},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("spec", SPEC_MISTAKES, ids=[json.dumps(s)[:60] for s in SPEC_MISTAKES])
def test_spec_mistakes_are_rejected_by_both(spec: Any) -> None:
    with pytest.raises(SpecError):
        validate_spec(spec)
    assert not SPEC_VALIDATOR.is_valid(spec)


def environment(**changes: Any) -> dict[str, Any]:
    env: dict[str, Any] = {
        "training": {"bucket": "amzn-s3-demo-bucket", "data_prefix": "in", "output_prefix": "out"},
        "reward_functions": {"f": {"reward_spec": LABEL, "target_evaluations_per_second": 1,
                                   "expected_seconds_per_sample": 0.1}},
    }
    for key, value in changes.items():
        if key.startswith("fn_"):
            env["reward_functions"]["f"][key[3:]] = value
        else:
            env[key] = value
    return {"dev": env}


ENV_MISTAKES = [
    environment(account="1234", region="us-east-1"),
    environment(account="123456789012"),
    environment(region="us-east-1"),
    environment(log_retention_days=10),
    environment(alarm_email="nope"),
    environment(account_concurrency_limit=100),
    environment(headroom=0.5),
    environment(tracing="yes"),
    environment(retention=7),
    environment(training={"bucket": "B", "data_prefix": "d", "output_prefix": "o"}),
    environment(training={"bucket": "bkt", "data_prefix": "d/*", "output_prefix": "o"}),
    environment(training={"bucket": "bkt", "data_prefix": "d"}),
    environment(reward_functions={}),
    environment(reward_functions={"Bad_Name": {}}),
    environment(fn_kind="sandbox"),
    environment(fn_kind="rlhf"),
    environment(fn_memory_mb=64),
    environment(fn_timeout_seconds=901),
    environment(fn_target_evaluations_per_second=0),
    environment(fn_samples_per_invocation=0),
    environment(fn_provisioned_concurrency=0),
    environment(fn_reward_spec={"grader": "nope"}),
    environment(fn_judge_max_concurrency=JUDGE_MAX_CONCURRENCY.maximum + 1,
                fn_reward_spec={"grader": "judge", "rubric": "r"}, fn_judge_model_id="amazon.nova-pro-v1:0"),
    environment(fn_judge_model_id="Nova Pro", fn_reward_spec={"grader": "judge", "rubric": "r"}),
    environment(fn_judge_prompt_caching="yes", fn_reward_spec={"grader": "judge", "rubric": "r"},
                fn_judge_model_id="amazon.nova-pro-v1:0"),
    environment(fn_judge_prefix_share=1.5, fn_reward_spec={"grader": "judge", "rubric": "r"},
                fn_judge_model_id="amazon.nova-pro-v1:0"),
    environment(fn_tolerance=1),
    environment(production=True),
    environment(production=True, account="123456789012"),
    environment(production="yes", account="123456789012", region="us-east-1"),
    environment(log_group_removal_policy="snapshot"),
    environment(name_prefix="Team"),
    environment(name_suffix="x" * 17),
    environment(fn_live_version=0),
    environment(tags={"aws:team": "x"}),
    environment(tags={"team": "a;b"}),
    environment(tags={"k" * 129: "x"}),
    environment(tags={"team": "v" * 257}),
    environment(permissions_boundary="has spaces"),
    environment(customer_managed_keys={"logs": True}),
    environment(training={"bucket": "bkt", "data_prefix": "d", "output_prefix": "o", "kms_key_arn": "alias/x"}),
]


@pytest.mark.parametrize("raw", ENV_MISTAKES, ids=range(len(ENV_MISTAKES)))
def test_environment_mistakes_are_rejected_by_both(raw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        parse_environments(copy.deepcopy(raw))
    assert not ENV_VALIDATOR.is_valid(raw)


def test_the_minimal_environment_is_valid_for_both() -> None:
    parse_environments(environment())
    ENV_VALIDATOR.validate(environment())


# --- the same keys, kinds and limits as the validators ------------------------------------------


def test_spec_schema_lists_every_grader_kind_and_its_keys() -> None:
    defs = SPEC_SCHEMA["$defs"]
    assert [ref["$ref"].split("/")[-1] for ref in defs["grader"]["oneOf"]] == list(kinds.GRADER_KINDS)
    for name, kind in kinds.GRADER_KINDS.items():
        own = set(defs[name]["properties"]) - {"grader", "name", "description", "format_score"}
        assert own == set(kind.keys), name


def test_environment_schema_has_the_config_keys_and_limits() -> None:
    from stacks.config import ENVIRONMENT_KEYS

    env = ENV_SCHEMA["$defs"]["environment"]
    fn = ENV_SCHEMA["$defs"]["reward_function"]
    assert set(env["properties"]) == set(ENVIRONMENT_KEYS)
    assert set(env["properties"]["training"]["properties"]) == set(training_config.KEYS)
    assert set(fn["properties"]) == set(function_config.KEYS)
    assert env["properties"]["log_retention_days"]["enum"] == list(LOG_RETENTION_DAYS)
    assert fn["properties"]["kind"]["enum"] == sorted(kinds.FUNCTION_KINDS)
    assert fn["properties"]["judge_max_concurrency"]["maximum"] == JUDGE_MAX_CONCURRENCY.maximum
    assert fn["properties"]["judge_cache_entries"]["maximum"] == JUDGE_CACHE_ENTRIES.maximum
    assert (fn["properties"]["memory_mb"]["minimum"], fn["properties"]["memory_mb"]["maximum"]) == (
        function_config.MEMORY_MB_RANGE
    )
    assert (fn["properties"]["timeout_seconds"]["minimum"], fn["properties"]["timeout_seconds"]["maximum"]) == (
        function_config.TIMEOUT_SECONDS_RANGE
    )
