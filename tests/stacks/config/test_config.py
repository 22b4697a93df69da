"""stacks.config: every bad setting fails with ONE line that names the key (no synth here)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from stacks import capacity
from stacks.config import (
    LOG_RETENTION_DAYS,
    ConfigError,
    parse_environments,
    select_environments,
)
from tests import ROOT
from tests.cdk_context import CDK_CONTEXT, JUDGE_ENVIRONMENT

FN = "environments.dev.reward_functions.sentiment"


def base() -> dict[str, Any]:
    return {
        "dev": {
            "training": {"bucket": "amzn-s3-demo-bucket", "data_prefix": "rft/train", "output_prefix": "rft/out"},
            # Ample quotas for the judges some tests give this function (quota checks: below).
            "bedrock_quotas": {model: {"tokens_per_minute": 10**9, "requests_per_minute": 10**6}
                               for model in ("amazon.nova-pro-v1:0", "us.amazon.nova-pro-v1:0")},
            "reward_functions": {
                "sentiment": {  # no kind: derived from the spec
                    "reward_spec": {"grader": "label", "labels": ["positive", "negative", "neutral"]},
                    "target_evaluations_per_second": 10,
                    "expected_seconds_per_sample": 0.05,
                }
            },
        }
    }


def error(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_environments(raw)
    message = str(info.value)
    assert "\n" not in message, message
    return message


def with_fn(**changes: Any) -> dict[str, Any]:
    raw = base()
    fn = raw["dev"]["reward_functions"]["sentiment"]
    for key, value in changes.items():
        if value is None:
            fn.pop(key, None)
        else:
            fn[key] = value
    return raw


def with_env(**changes: Any) -> dict[str, Any]:
    raw = base()
    raw["dev"].update(changes)
    return raw


# --- the shipped configuration -----------------------------------------------------------


def test_shipped_cdk_json_is_valid_and_sized_for_10_and_400_per_second() -> None:
    envs = parse_environments(copy.deepcopy(CDK_CONTEXT["environments"]))
    assert list(envs) == ["dev", "prod"]
    for env, rate in (("dev", 10), ("prod", 400)):
        functions = [fn for fn in envs[env].reward_functions if fn.kind != "code"]
        assert {fn.name for fn in functions} == {"sentiment", "gsm8k"}
        assert all(fn.kind == "rlvr" and fn.handler == "rlvr.handler.handler" for fn in functions)
        assert all(fn.target_evaluations_per_second == rate for fn in functions)
        assert envs[env].total_reserved_concurrency <= capacity.max_reservable(envs[env].account_concurrency_limit)
    assert all(fn.reward_spec["grader"] == "multi" for fn in envs["prod"].reward_functions)
    prod_gsm8k = envs["prod"].function("gsm8k")
    assert prod_gsm8k.reserved_concurrency == capacity.reserved_concurrency(400, 0.05, 1)
    assert prod_gsm8k.provisioned_concurrency is not None
    code = envs["dev"].function("code-tests")  # dev also shows a code function
    assert (code.kind, code.handler) == ("code", "code_grader.handler.handler")


def test_defaults_and_derived_values() -> None:
    env = parse_environments(base())["dev"]
    fn = env.function("sentiment")
    assert (env.log_retention_days, env.account_concurrency_limit, env.headroom) == (30, 1000, 1.5)
    assert (env.account, env.region, env.alarm_email, env.tracing) == (None, None, None, False)
    assert (fn.memory_mb, fn.timeout_seconds, fn.samples_per_invocation) == (1024, 300, 1)
    assert fn.function_name == "SageMaker-reward-sentiment-dev"
    assert fn.reserved_concurrency == 3  # ceil(10 * (0.05 + 0.1) * 1.5) = ceil(2.25)
    assert fn.reward_spec["labels"] == ["positive", "negative", "neutral"]  # normalized spec kept
    assert fn.provisioned_concurrency is None and fn.judge_model_id is None


def test_config_is_frozen() -> None:
    env = parse_environments(base())["dev"]
    with pytest.raises(AttributeError):
        env.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        env.reward_functions[0].reserved_concurrency = 5  # type: ignore[misc]


def test_judge_environment_parses() -> None:
    env = parse_environments({"judge": copy.deepcopy(JUDGE_ENVIRONMENT)})["judge"]
    xr = env.function("judge-xr")
    assert xr.judge_is_inference_profile and xr.judge_inference_profile_regions == ("us-east-1", "us-east-2", "us-west-2")
    assert not env.function("judge-fm").judge_is_inference_profile
    assert all(fn.handler == "rlaif.handler.handler" for fn in env.reward_functions if fn.judge is not None)
    assert env.function("signed").handler == "rlvr.handler.handler"


# --- one-line errors naming the key --------------------------------------------------------


def test_negative_rate() -> None:
    assert error(with_fn(target_evaluations_per_second=-5)) == (
        f"{FN}.target_evaluations_per_second: must be a finite number > 0, got -5"
    )


def test_rate_must_be_a_number_not_a_bool_or_string() -> None:
    assert error(with_fn(target_evaluations_per_second=True)).startswith(f"{FN}.target_evaluations_per_second: ")
    assert error(with_fn(expected_seconds_per_sample="1")).startswith(f"{FN}.expected_seconds_per_sample: ")


def test_missing_required_rate() -> None:
    assert error(with_fn(target_evaluations_per_second=None)) == (
        f"{FN}.target_evaluations_per_second: required (a number > 0, or a training_shape)"
    )


def test_reserved_total_above_the_account_limit() -> None:
    raw = with_fn(target_evaluations_per_second=1000, expected_seconds_per_sample=1.0)
    message = error(raw)
    assert message.startswith("environments.dev.account_concurrency_limit: reserved concurrency totals 1650")
    assert "at most 900 reservable" in message and "quota of at least 1750" in message
    assert "sentiment=1650" in message
    raw["dev"]["account_concurrency_limit"] = 2000  # after a quota raise it fits
    assert parse_environments(raw)["dev"].function("sentiment").reserved_concurrency == 1650


def test_reserved_total_sums_every_function_of_the_environment() -> None:
    raw = with_fn(target_evaluations_per_second=400, expected_seconds_per_sample=0.5)  # 360 each
    fns = raw["dev"]["reward_functions"]
    fns["b"] = copy.deepcopy(fns["sentiment"])
    assert parse_environments(copy.deepcopy(raw))["dev"].total_reserved_concurrency == 720
    fns["c"] = copy.deepcopy(fns["sentiment"])
    assert "reserved concurrency totals 1080" in error(raw)


def test_environments_sharing_an_account_share_the_pool() -> None:
    raw = with_fn(target_evaluations_per_second=400, expected_seconds_per_sample=1.0)  # 660
    raw["dev"].update(account="123456789012", region="us-east-1")
    raw["prod"] = copy.deepcopy(raw["dev"])
    message = error(raw)
    assert message.startswith("environments.prod.account_concurrency_limit: environments ['dev', 'prod'] share")
    assert message.endswith("share account 123456789012 in us-east-1: reserved concurrency totals 1320, but an "
                            "account limit of 1000 leaves at most 900 reservable (100 must stay unreserved); "
                            "a quota of at least 1420 is needed (dev=660, prod=660)")


def test_unknown_grader_in_reward_spec() -> None:
    message = error(with_fn(reward_spec={"grader": "bleu"}))
    assert message.startswith(f"{FN}.reward_spec.grader: must be one of [")
    assert "'label'" in message and "'numeric'" in message


def test_malformed_reward_spec() -> None:
    assert error(with_fn(reward_spec="numeric")).startswith(f"{FN}.reward_spec: must be a JSON object")
    assert error(with_fn(reward_spec={"grader": "label"})) == (
        f"{FN}.reward_spec.labels: required (a non-empty list of strings)"
    )
    assert error(with_fn(reward_spec={"grader": "numeric", "tolerence": 1})).startswith(
        f"{FN}.reward_spec.tolerence: unknown key"
    )
    assert error(with_fn(reward_spec=None)).startswith(f"{FN}.reward_spec: required")


def test_missing_judge_model() -> None:
    message = error(with_fn(reward_spec=JUDGE_SPEC))
    assert message.startswith(f"{FN}.judge_model_id: required (a Bedrock model or inference profile id")


JUDGE_SPEC = {"grader": "judge", "rubric": "Reward correct, polite answers."}


def test_kind_is_derived_from_the_spec_and_a_given_kind_must_agree() -> None:
    # rlvr functions get no JUDGE_MODEL_ID and no bedrock:InvokeModel, so a judge there would fail at run time.
    fn = parse_environments(with_fn(reward_spec=JUDGE_SPEC, judge_model_id="amazon.nova-pro-v1:0"))["dev"]
    assert (fn.function("sentiment").kind, fn.function("sentiment").handler) == ("rlaif", "rlaif.handler.handler")
    assert parse_environments(with_fn())["dev"].function("sentiment").kind == "rlvr"
    assert parse_environments(with_fn(kind="rlvr"))["dev"].function("sentiment").kind == "rlvr"
    message = error(with_fn(kind="rlvr", reward_spec=JUDGE_SPEC, judge_model_id="amazon.nova-pro-v1:0"))
    assert message == (f"{FN}.kind: the reward_spec implies kind 'rlaif' (its graders need a Bedrock judge); "
                       "set kind 'rlaif' or omit kind, got 'rlvr'")
    message = error(with_fn(kind="rlaif", judge_model_id="amazon.nova-pro-v1:0"))  # label spec
    assert message == (f"{FN}.kind: the reward_spec implies kind 'rlvr' (its graders need no platform service); "
                       "set kind 'rlvr' or omit kind, got 'rlaif'")


def test_judge_concurrency_default_range_and_environment() -> None:
    fn = parse_environments(with_fn(kind="rlaif", judge_model_id="amazon.nova-pro-v1:0",
                                    reward_spec=JUDGE_SPEC))["dev"].function("sentiment")
    assert fn.judge_max_concurrency == 16
    assert fn.environment_variables()["JUDGE_MAX_CONCURRENCY"] == "16"
    assert fn.environment_variables()["JUDGE_MODEL_ID"] == "amazon.nova-pro-v1:0"
    message = error(with_fn(kind="rlaif", judge_model_id="amazon.nova-pro-v1:0", reward_spec=JUDGE_SPEC,
                            judge_max_concurrency=0))
    assert message == f"{FN}.judge_max_concurrency: must be an integer in 1..64, got 0"
    assert error(with_fn(judge_max_concurrency=4)).startswith(
        f"{FN}.judge_max_concurrency: only valid for kind 'rlaif'"
    )


def test_inference_profile_needs_its_regions() -> None:
    message = error(with_fn(reward_spec=JUDGE_SPEC, judge_model_id="us.amazon.nova-pro-v1:0"))
    assert message.startswith(f"{FN}.judge_inference_profile_regions: required when judge_model_id")
    message = error(with_fn(reward_spec=JUDGE_SPEC, judge_model_id="us.amazon.nova-pro-v1:0",
                            judge_inference_profile_regions=["us-east-1", "mars-1"]))
    assert message.startswith(f"{FN}.judge_inference_profile_regions[1]: must be a region name")


def test_judge_keys_are_rejected_where_they_do_not_apply() -> None:
    assert error(with_fn(judge_model_id="amazon.nova-pro-v1:0")).startswith(
        f"{FN}.judge_model_id: only valid for kind 'rlaif'"
    )
    assert error(with_fn(reward_spec=JUDGE_SPEC, judge_model_id="amazon.nova-pro-v1:0",
                         judge_inference_profile_regions=["us-east-1"])).startswith(
        f"{FN}.judge_inference_profile_regions: only valid when judge_model_id is a cross-region inference profile"
    )
    assert error(with_fn(reward_spec=JUDGE_SPEC, judge_model_id="Nova Pro")).startswith(f"{FN}.judge_model_id: must be")


def test_bad_log_retention_lists_the_allowed_values() -> None:
    message = error(with_env(log_retention_days=10))
    assert message == (
        f"environments.dev.log_retention_days: must be one of {list(LOG_RETENTION_DAYS)}, got 10"
    )
    assert "1, 3, 5, 7, 14, 30" in message and "3653" in message


def test_log_levels_default_to_cost_and_are_validated() -> None:
    env = parse_environments(base())["dev"]
    assert (env.application_log_level, env.system_log_level) == ("INFO", "WARN")
    assert env.function("sentiment").environment_variables()["POWERTOOLS_LOG_LEVEL"] == "INFO"
    detail = parse_environments(with_env(application_log_level="TRACE", system_log_level="DEBUG"))["dev"]
    assert (detail.application_log_level, detail.system_log_level) == ("TRACE", "DEBUG")
    # Python has no TRACE: Powertools gets DEBUG, Lambda's own filter passes everything.
    assert detail.function("sentiment").environment_variables()["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert error(with_env(system_log_level="ERROR")) == (
        "environments.dev.system_log_level: must be one of ['DEBUG', 'INFO', 'WARN'], got 'ERROR'"
    )
    assert error(with_env(application_log_level="info")) == (
        "environments.dev.application_log_level: must be one of ['DEBUG', 'INFO', 'TRACE'], got 'info'"
    )


@pytest.mark.parametrize("level", ["WARN", "ERROR", "FATAL"])
def test_an_application_level_above_info_would_drop_the_metrics(level: str) -> None:
    assert error(with_env(application_log_level=level)) == (
        "environments.dev.application_log_level: must be one of ['TRACE', 'DEBUG', 'INFO']: a higher level "
        "drops the per-invocation metrics record (Lambda files it as INFO) and with it every reward metric, "
        f"got '{level}'"
    )


def test_kind_code_needs_a_code_spec() -> None:
    assert error(with_fn(kind="code")) == (
        f"{FN}.kind: the reward_spec implies kind 'rlvr' (its graders need no platform service); "
        "set kind 'rlvr' or omit kind, got 'code'"
    )


def test_unknown_kind() -> None:
    assert error(with_fn(kind="rlhf")) == (
        f"{FN}.kind: must be one of ['code', 'rlaif', 'rlvr'] (or omitted: derived from reward_spec), got 'rlhf'"
    )


def test_unknown_keys_are_typos() -> None:
    assert error(with_fn(target_evaluation_per_second=3)).startswith(
        f"{FN}.target_evaluation_per_second: unknown key; allowed keys are ["
    )
    assert error(with_env(retention=7)).startswith("environments.dev.retention: unknown key")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("memory_mb", 64, "must be an integer in 128..10240, got 64"),
        ("memory_mb", 20000, "must be an integer in 128..10240, got 20000"),
        ("timeout_seconds", 3, "must be an integer in 30..900, got 3"),
        ("timeout_seconds", 901, "must be an integer in 30..900, got 901"),
        ("samples_per_invocation", 0, "must be an integer >= 1, got 0"),
        ("samples_per_invocation", 2.5, "must be an integer >= 1, got 2.5"),
        ("expected_seconds_per_sample", 0, "must be a finite number > 0, got 0"),
        ("provisioned_concurrency", 0, "must be an integer >= 1, got 0"),
    ],
)
def test_function_limits(key: str, value: Any, expected: str) -> None:
    assert error(with_fn(**{key: value})) == f"{FN}.{key}: {expected}"


def test_provisioned_concurrency_cannot_exceed_reserved() -> None:
    assert error(with_fn(provisioned_concurrency=4)) == (
        f"{FN}.provisioned_concurrency: must be an integer in 1..3 (the reserved concurrency the capacity "
        "model gives this function), got 4"
    )
    assert parse_environments(with_fn(provisioned_concurrency=3))["dev"].function("sentiment").provisioned_concurrency == 3


def test_timeout_must_cover_the_expected_invocation() -> None:
    message = error(with_fn(samples_per_invocation=200, expected_seconds_per_sample=0.5, timeout_seconds=300))
    assert message.startswith(f"{FN}.timeout_seconds: 300 s does not cover 3 x the expected invocation time of 100.1 s")


def test_function_name_length_is_checked() -> None:
    raw = base()
    raw["dev"]["reward_functions"]["a" * 50] = raw["dev"]["reward_functions"].pop("sentiment")
    message = error(raw)
    assert message.startswith(f"environments.dev.reward_functions.{'a' * 50}: function name 'SageMaker-reward-")
    assert "Lambda allows 64" in message


@pytest.mark.parametrize("name", ["Sentiment", "senti_ment", "-x", "x-", "ab c"])
def test_function_names_are_lowercase_dns_like(name: str) -> None:
    raw = base()
    raw["dev"]["reward_functions"][name] = raw["dev"]["reward_functions"].pop("sentiment")
    assert error(raw).startswith(f"environments.dev.reward_functions.{name}: function names must match [a-z0-9-]")


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"account": "1234"}, "account"),
        ({"account": "123456789012"}, "region"),
        ({"region": "us-east-1"}, "account"),
        ({"alarm_email": "not-an-email"}, "alarm_email"),
        ({"account_concurrency_limit": 50}, "account_concurrency_limit"),
        ({"headroom": 0.5}, "headroom"),
        ({"tracing": "yes"}, "tracing"),
        ({"training": {"bucket": "B", "data_prefix": "d", "output_prefix": "o"}}, "training.bucket"),
        ({"training": {"bucket": "bkt", "data_prefix": "d/*", "output_prefix": "o"}}, "training.data_prefix"),
        ({"training": {"bucket": "bkt", "data_prefix": "d", "output_prefix": "d/out"}}, "training.output_prefix"),
        ({"training": {"bucket": "bkt", "data_prefix": "d"}}, "training.output_prefix"),
        ({"reward_functions": {}}, "reward_functions"),
    ],
)
def test_environment_settings(changes: dict[str, Any], key: str) -> None:
    assert error(with_env(**changes)).startswith(f"environments.dev.{key}: ")


def test_prefixes_are_normalized() -> None:
    raw = with_env(training={"bucket": "bkt", "data_prefix": "/in/", "output_prefix": "out/"})
    training = parse_environments(raw)["dev"].training
    assert (training.data_prefix, training.output_prefix) == ("in", "out")


def test_environment_selection() -> None:
    envs = parse_environments({**base(), "prod": base()["dev"]})
    assert [env.name for env in select_environments(envs, None)] == ["dev", "prod"]
    assert [env.name for env in select_environments(envs, "prod")] == ["prod"]
    with pytest.raises(ConfigError, match=re.escape("env: must be one of ['dev', 'prod'] (from -c env=<name>), got 'stage'")):
        select_environments(envs, "stage")


def test_missing_environments() -> None:
    assert error(None).startswith("environments: missing from cdk.json context")  # type: ignore[arg-type]
    assert error({}) == "environments: must define at least one environment"


def test_readme_environment_example_parses() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```json\n(.*?)```", readme, re.DOTALL) if b.lstrip().startswith('"staging"')]
    assert len(blocks) == 1
    env = parse_environments(json.loads("{" + blocks[0] + "}"))["staging"]
    assert env.function("gsm8k").reserved_concurrency == capacity.reserved_concurrency(100, 0.05, 1)


def test_function_names_that_become_the_same_construct_id_are_rejected() -> None:
    raw = base()
    functions = raw["dev"]["reward_functions"]
    functions["a-1b"] = functions["a1b"] = functions.pop("sentiment")
    assert error(raw) == (
        "environments.dev.reward_functions.a1b: collides with 'a-1b': both become 'A1b' "
        "in construct ids and stack outputs; rename one"
    )


def test_log_retention_is_stored_as_whole_days() -> None:
    env = parse_environments(with_env(log_retention_days=30.0))["dev"]
    assert env.log_retention_days == 30 and type(env.log_retention_days) is int


# --- Bedrock quotas for the judge ----------------------------------------------------------------

QUOTA_PATH = "environments.dev.bedrock_quotas"
JUDGE = {"grader": "judge", "rubric": "Reward polite answers."}


def judge_env(*functions: tuple[str, float, int], model: str = "amazon.nova-pro-v1:0",
              quota: tuple[int, int] | None = (4_000_000, 2_000)) -> dict[str, Any]:
    """One environment whose functions (name, evaluations/s, measured tokens per call) share ``model``;
    the tokens are configured as 100 output and the rest input; ``quota`` is (tokens, requests) per
    minute, None for no quota configured."""
    raw = base()
    env = raw["dev"]
    env["reward_functions"] = {
        name: {"reward_spec": JUDGE, "judge_model_id": model, "target_evaluations_per_second": rate,
               "judge_input_tokens_per_call": tokens - 100, "judge_output_tokens_per_call": 100,
               "expected_seconds_per_sample": 1.0, "timeout_seconds": 60,
               **({"judge_inference_profile_regions": ["us-east-1", "us-west-2"]} if model.startswith("us.") else {})}
        for name, rate, tokens in functions
    }
    env["bedrock_quotas"] = {} if quota is None else {
        model: {"tokens_per_minute": quota[0], "requests_per_minute": quota[1]}}
    return raw


def test_a_judge_within_its_quota_synthesizes_and_reports_its_need() -> None:
    env = parse_environments(judge_env(("tone", 10, 1500)))["dev"]
    need = env.function("tone").judge_need
    assert (need.requests_per_minute, need.tokens_per_minute) == (600, 900_000)  # 10/s x 60 x 1,500
    assert env.bedrock_quotas.for_model("amazon.nova-pro-v1:0").tokens_per_minute == 4_000_000


def test_a_judge_over_its_quota_fails_with_one_line_naming_function_need_and_quota() -> None:
    message = error(judge_env(("tone", 400, 1500)))
    assert message == (
        f"{QUOTA_PATH}.amazon.nova-pro-v1:0.tokens_per_minute: judge model 'amazon.nova-pro-v1:0' needs "
        "36,000,000 tokens per minute at the target rate (function tone) but the configured quota is 4,000,000; "
        "request 'On-demand InvokeModel tokens per minute' >= 36,000,000 for amazon.nova-pro-v1:0 in Service "
        "Quotas and set it here, or lower target_evaluations_per_second or the tokens per call "
        "(judge_input_tokens_per_call, judge_output_tokens_per_call)"
    )


def test_requests_per_minute_are_checked_and_a_profile_names_the_cross_region_quota() -> None:
    message = error(judge_env(("tone", 50, 110), model="us.amazon.nova-pro-v1:0", quota=(10**9, 2_000)))
    assert message.startswith(f"{QUOTA_PATH}.us.amazon.nova-pro-v1:0.requests_per_minute: judge model "
                              "'us.amazon.nova-pro-v1:0' needs 3,000 requests per minute")
    assert "request 'Cross-Region InvokeModel requests per minute' >= 3,000" in message


def test_two_functions_sharing_a_judge_model_are_summed() -> None:
    parse_environments(judge_env(("tone", 20, 1500)))  # 1.8M tokens/min: fits alone
    message = error(judge_env(("tone", 20, 1500), ("helpfulness", 30, 1500)))  # 1.8M + 2.7M
    assert message.startswith(f"{QUOTA_PATH}.amazon.nova-pro-v1:0.tokens_per_minute: judge model "
                              "'amazon.nova-pro-v1:0' needs 4,500,000 tokens per minute at the target rate "
                              "(functions tone, helpfulness share it) but the configured quota is 4,000,000")
    # Different models have their own quotas: not summed.
    raw = judge_env(("tone", 20, 1500))
    raw["dev"]["reward_functions"]["helpfulness"] = {
        **raw["dev"]["reward_functions"]["tone"], "judge_model_id": "amazon.nova-lite-v1:0",
        "target_evaluations_per_second": 30}
    raw["dev"]["bedrock_quotas"]["amazon.nova-lite-v1:0"] = {"tokens_per_minute": 4_000_000,
                                                            "requests_per_minute": 2_000}
    parse_environments(raw)


def test_a_raised_quota_in_config_makes_it_fit() -> None:
    assert error(judge_env(("tone", 400, 1500))).startswith(f"{QUOTA_PATH}.amazon.nova-pro-v1:0.tokens_per_minute")
    env = parse_environments(judge_env(("tone", 400, 1500), quota=(36_000_000, 24_000)))["dev"]
    assert env.function("tone").judge_need.tokens_per_minute == 36_000_000


def test_without_a_measured_value_tokens_per_call_are_estimated_from_the_spec() -> None:
    from stacks import judge_capacity

    raw = judge_env(("tone", 10, 1500), quota=(10**9, 10**6))
    tone = raw["dev"]["reward_functions"]["tone"]
    del tone["judge_input_tokens_per_call"], tone["judge_output_tokens_per_call"]
    fn = parse_environments(raw)["dev"].function("tone")
    assert fn.judge_tokens_per_sample == judge_capacity.estimate_tokens_per_call(fn.reward_spec) > 15_000
    assert fn.judge_need.tokens_per_minute == 600 * fn.judge_tokens_per_sample
    # One half measured, the other still estimated: output is the spec's max_tokens.
    tone["judge_input_tokens_per_call"] = 1400
    fn = parse_environments(raw)["dev"].function("tone")
    assert (fn.judge_tokens.input, fn.judge_tokens.output) == (1400, fn.reward_spec["max_tokens"])
    assert fn.judge_need.tokens_per_minute == 600 * (1400 + fn.reward_spec["max_tokens"])


def test_a_judge_model_without_a_configured_quota_is_one_line_naming_what_to_add() -> None:
    message = error(judge_env(("tone", 10, 1500), quota=None))
    assert message == (
        f"{QUOTA_PATH}: no quota configured for judge model 'amazon.nova-pro-v1:0' (used by tone, needing 600 "
        "requests and 900,000 tokens per minute at the target rate): add \"amazon.nova-pro-v1:0\": "
        "{\"tokens_per_minute\": N, \"requests_per_minute\": N} with the account's 'On-demand InvokeModel tokens "
        "per minute' and 'On-demand InvokeModel requests per minute' for amazon.nova-pro-v1:0"
    )


def test_environments_in_one_account_and_region_share_the_judge_quota() -> None:
    raw = judge_env(("tone", 20, 1500))
    raw["dev"].update(account="123456789012", region="us-east-1")
    raw["prod"] = copy.deepcopy(raw["dev"])
    raw["prod"]["reward_functions"]["tone"]["target_evaluations_per_second"] = 30
    message = error(raw)  # 1.8M + 2.7M tokens per minute of one 4M quota
    assert message.startswith(
        "environments.dev.bedrock_quotas.amazon.nova-pro-v1:0.tokens_per_minute: judge model "
        "'amazon.nova-pro-v1:0' in account 123456789012 us-east-1 (environments ['dev', 'prod']) needs 4,500,000 "
        "tokens per minute at the target rate (functions dev/tone, prod/tone share it)")
    raw["prod"]["region"] = "us-west-2"  # another region: its own quota
    parse_environments(raw)


@pytest.mark.parametrize(
    ("quotas", "expected"),
    [
        ({"Nova Pro": {"tokens_per_minute": 1, "requests_per_minute": 1}},
         f"{QUOTA_PATH}.Nova Pro: keys must be judge model ids"),
        ({"amazon.nova-pro-v1:0": {"tokens_per_minute": 1}},
         f"{QUOTA_PATH}.amazon.nova-pro-v1:0.requests_per_minute: required"),
        ({"amazon.nova-pro-v1:0": {"tokens_per_minute": 0, "requests_per_minute": 1}},
         f"{QUOTA_PATH}.amazon.nova-pro-v1:0.tokens_per_minute: must be an integer >= 1, got 0"),
        ({"amazon.nova-pro-v1:0": {"tokens_per_minute": 1, "requests_per_minute": 1, "tpm": 3}},
         f"{QUOTA_PATH}.amazon.nova-pro-v1:0.tpm: unknown key"),
        ([], f"{QUOTA_PATH}: must be a JSON object"),
    ],
)
def test_bad_quota_config_is_one_line_naming_the_key(quotas: Any, expected: str) -> None:
    assert error(with_env(bedrock_quotas=quotas)).startswith(expected)


def test_judge_tokens_per_call_and_cache_entries_are_checked() -> None:
    raw = judge_env(("tone", 10, 100))  # 0 input tokens
    assert error(raw).startswith(
        "environments.dev.reward_functions.tone.judge_input_tokens_per_call: must be an integer in 1..1000000, got 0")
    raw = judge_env(("tone", 10, 1500))
    raw["dev"]["reward_functions"]["tone"]["judge_output_tokens_per_call"] = 2.5
    assert error(raw).startswith("environments.dev.reward_functions.tone.judge_output_tokens_per_call: must be an "
                                 "integer in 1..1000000")
    raw = judge_env(("tone", 10, 1500))
    raw["dev"]["reward_functions"]["tone"]["judge_cache_entries"] = 100_001
    assert error(raw).startswith("environments.dev.reward_functions.tone.judge_cache_entries: must be an integer in "
                                 "1..100000")
    raw["dev"]["reward_functions"]["tone"]["judge_cache_entries"] = 5000
    fn = parse_environments(raw)["dev"].function("tone")
    assert fn.environment_variables()["JUDGE_CACHE_ENTRIES"] == "5000"
    for key in ("judge_input_tokens_per_call", "judge_output_tokens_per_call"):
        assert error(with_fn(**{key: 1500})) == f"{FN}.{key}: only valid for kind 'rlaif', this function is kind 'rlvr'"
    assert error(with_fn(judge_tokens_per_call=1500)).startswith(f"{FN}.judge_tokens_per_call: unknown key")
