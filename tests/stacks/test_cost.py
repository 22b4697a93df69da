"""stacks.cost: the cost model against hand-computed examples, its inputs, and the table."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import replace

import pytest

from stacks import capacity, cost
from stacks.capacity import cli as capacity_cli
from tests.cdk_context import FIXTURE_CDK_JSON

HAND = cost.CostProfile(
    name="hand", evaluations_per_second=400, samples_per_invocation=1, memory_mb=1024,
    seconds_per_sample=0.02, log_bytes_per_invocation=300,
)
JUDGED = cost.CostProfile(
    name="judged", evaluations_per_second=50, samples_per_invocation=8, memory_mb=2048,
    seconds_per_sample=0.0123, log_bytes_per_invocation=1000,
    judge_model_id="us.amazon.nova-pro-v1:0", judge_input_tokens_per_evaluation=1200,
    judge_output_tokens_per_evaluation=80,
)


def test_one_sample_per_invocation_by_hand() -> None:
    per_m = cost.cost_per_million(HAND)
    # 1M invocations: 1M x $0.20/1M; 1M x 0.020 s x 1 GB x $0.0000133334; 1M x 300 B = 0.3 GB x $0.50
    assert per_m.requests == pytest.approx(0.20)
    assert per_m.compute == pytest.approx(0.266668)
    assert per_m.logs == pytest.approx(0.15)
    assert per_m.judge == 0
    assert per_m.total == pytest.approx(0.616668)
    per_day = cost.cost_per_day(HAND)  # 400/s x 86,400 s = 34.56M evaluations a day
    assert (per_day.requests, per_day.compute, per_day.logs) == pytest.approx((6.912, 9.21604608, 5.184))


def test_batched_judge_by_hand() -> None:
    # 125,000 invocations per 1M evaluations; billed 8 x 12.3 ms = 98.4 ms -> 99 ms
    assert cost.billed_seconds(JUDGED) == pytest.approx(0.099)
    per_m = cost.cost_per_million(JUDGED)
    assert per_m.requests == pytest.approx(0.025)
    assert per_m.compute == pytest.approx(125_000 * 0.099 * 2 * 0.0000133334)  # 24,750 GB-s = $0.33000165
    assert per_m.compute == pytest.approx(0.33000165)
    assert per_m.logs == pytest.approx(0.0625)  # 125,000 x 1,000 B = 0.125 GB
    # Nova Pro: 1,200 x $0.0008 + 80 x $0.0032 per 1,000 tokens = $0.001216 an evaluation
    assert per_m.judge == pytest.approx(1216.0)
    assert cost.cost_per_day(JUDGED).judge == pytest.approx(1216.0 * 4.32)  # 50/s = 4.32M a day


def test_billing_rounds_up_to_the_millisecond_without_float_noise() -> None:
    assert cost.billed_seconds(HAND) == pytest.approx(0.020)  # 0.02 s is 20.000000000000004 ms in binary
    assert cost.billed_seconds(replace(HAND, seconds_per_sample=0.0201)) == pytest.approx(0.021)


def test_prices_are_overridable() -> None:
    prices = cost.with_overrides(cost.PRICES, ["logs_ingestion_per_gb=0.25", "region=eu-west-1",
                                               "judge:amazon.nova-pro-v1:0=0.001,0.004"])
    assert prices.region == "eu-west-1" and prices.logs_ingestion_per_gb == 0.25
    assert cost.cost_per_million(HAND, prices).logs == pytest.approx(0.075)
    assert cost.cost_per_million(JUDGED, prices).judge == pytest.approx(1e6 * (1.2 + 0.32) / 1000)
    assert cost.PRICES.logs_ingestion_per_gb == 0.50  # the defaults are untouched
    with pytest.raises(ValueError, match="unknown price 'logs'"):
        cost.with_overrides(cost.PRICES, ["logs=1"])
    with pytest.raises(ValueError, match="expected name=value"):
        cost.with_overrides(cost.PRICES, ["logs_ingestion_per_gb"])
    with pytest.raises(ValueError, match="no token price for judge model 'acme.model-v1'"):
        cost.cost_per_million(replace(JUDGED, judge_model_id="acme.model-v1"))


def test_profiles_reject_impossible_inputs() -> None:
    with pytest.raises(ValueError, match="hand: samples_per_invocation out of range: 0"):
        replace(HAND, samples_per_invocation=0)
    with pytest.raises(ValueError, match="evaluations_per_second"):
        replace(HAND, evaluations_per_second=0)


def test_system_log_records_are_counted_unless_the_level_drops_them() -> None:
    assert 400 < cost.SYSTEM_LOG_BYTES_PER_INVOCATION < 700
    assert 200 < cost.SYSTEM_TEXT_LOG_BYTES_PER_INVOCATION < cost.SYSTEM_LOG_BYTES_PER_INVOCATION


def test_the_seed_handler_constant_is_what_it_logs() -> None:
    from bench.dataset import build_batch
    from bench.naive_handler import lambda_handler

    samples, _ = build_batch(1000)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        lambda_handler(samples, None)
    per_sample = len(out.getvalue().encode()) / len(samples)
    assert per_sample == pytest.approx(cost.SEED_HANDLER_LOG_BYTES_PER_SAMPLE, rel=0.005)


def test_function_profile_uses_the_handlers_record() -> None:
    from reward_kit.lambda_runtime import estimate_record_bytes

    environments = capacity_cli.shipped_environments(FIXTURE_CDK_JSON)
    fn = environments["prod"].reward_functions[0]
    quiet = cost.function_profile(fn, system_log_level="WARN")
    loud = cost.function_profile(fn, system_log_level="INFO")
    assert loud.log_bytes_per_invocation - quiet.log_bytes_per_invocation == cost.SYSTEM_LOG_BYTES_PER_INVOCATION
    assert quiet.log_bytes_per_invocation == estimate_record_bytes(
        ["correctness", "format"], 1, service=fn.function_name, seconds=0.02)
    assert (quiet.evaluations_per_second, quiet.memory_mb, quiet.seconds_per_sample) == (400, 1024, 0.02)


def test_environment_profiles_follow_each_environments_log_levels() -> None:
    from reward_kit.lambda_runtime import estimate_debug_line_bytes, estimate_record_bytes

    environments = capacity_cli.shipped_environments(FIXTURE_CDK_JSON)
    assert (environments["dev"].system_log_level, environments["prod"].system_log_level) == ("INFO", "WARN")
    rows = {p.name: p for p in cost.environment_profiles(environments)}
    dev_fn = environments["dev"].function("sentiment")
    debug_line = estimate_debug_line_bytes(dev_fn.function_name, 1)
    for env, extra in (("dev", debug_line + cost.SYSTEM_LOG_BYTES_PER_INVOCATION), ("prod", 0)):
        fn = environments[env].function("sentiment")
        record = estimate_record_bytes(["correctness", "format"] if env == "prod" else ["sentiment"], 1,
                                       service=fn.function_name, seconds=0.02)
        assert rows[f"{env}.sentiment"].log_bytes_per_invocation == record + extra
    seed = rows["seed handler, as prod.sentiment"]
    assert seed.log_bytes_per_invocation == cost.SEED_HANDLER_LOG_BYTES_PER_SAMPLE + cost.SYSTEM_TEXT_LOG_BYTES_PER_INVOCATION


def test_a_judged_function_costs_the_tokens_the_quota_check_counts() -> None:
    from stacks import judge_capacity
    from stacks.config import parse_environments
    from tests.cdk_context import JUDGE_ENVIRONMENT

    raw = json.loads(json.dumps(JUDGE_ENVIRONMENT))
    raw["reward_functions"]["judge-fm"].update(judge_input_tokens_per_call=1200, judge_output_tokens_per_call=80)
    env = parse_environments({"judge": raw})["judge"]
    fns = {fn.name: fn for fn in env.reward_functions}
    fm, xr = (cost.function_profile(fns[name], system_log_level=env.system_log_level) for name in ("judge-fm", "judge-xr"))
    assert (fm.judge_model_id, fm.judge_input_tokens_per_evaluation, fm.judge_output_tokens_per_evaluation) == (
        "amazon.nova-pro-v1:0", 1200, 80)
    assert cost.cost_per_million(fm).judge == pytest.approx(1216.0)  # as by hand above
    assert fns["judge-fm"].judge_need.tokens_per_minute == 50 * 60 * (1200 + 80)  # the quota check's tokens
    # Not configured: estimated from the spec, as the quota check does; the profile id prices as
    # its foundation model.
    helpfulness = fns["judge-xr"].reward_spec["graders"]["helpfulness"]
    estimate = (judge_capacity.estimate_input_tokens_per_call(helpfulness),
                judge_capacity.estimate_output_tokens_per_call(helpfulness))
    assert (xr.judge_model_id, xr.judge_input_tokens_per_evaluation, xr.judge_output_tokens_per_evaluation) == (
        "us.amazon.nova-pro-v1:0", *estimate)
    assert xr.judge_input_tokens_per_evaluation + xr.judge_output_tokens_per_evaluation == (
        fns["judge-xr"].judge_need.tokens_per_minute / (50 * 60))
    assert cost.cost_per_million(xr).judge == pytest.approx(1e6 * (estimate[0] * 0.0008 + estimate[1] * 0.0032) / 1000)
    bad = json.loads(json.dumps(JUDGE_ENVIRONMENT))
    bad["reward_functions"]["judge-fm"]["judge_input_tokens_per_call"] = -1
    with pytest.raises(ValueError, match=r"judge-fm\.judge_input_tokens_per_call: must be an integer"):
        parse_environments({"judge": bad})


def test_every_judge_call_of_a_sample_is_priced() -> None:
    from stacks.config import parse_environments
    from tests.cdk_context import JUDGE_ENVIRONMENT

    raw = json.loads(json.dumps(JUDGE_ENVIRONMENT))
    fm = raw["reward_functions"]["judge-fm"]
    rubric = fm["reward_spec"]
    fm["reward_spec"] = {"grader": "multi", "graders": {"a": rubric, "b": {**rubric, "name": "b"}}}
    fm.update(judge_input_tokens_per_call=1200, judge_output_tokens_per_call=80, target_evaluations_per_second=10)
    env = parse_environments({"judge": raw})["judge"]
    profile = cost.function_profile(env.function("judge-fm"), system_log_level="WARN")
    assert (profile.judge_input_tokens_per_evaluation, profile.judge_output_tokens_per_evaluation) == (2400, 160)
    assert cost.cost_per_million(profile).judge == pytest.approx(2 * 1216.0)


def test_cli_prints_sizing_then_judge_then_cost(capsys: pytest.CaptureFixture[str]) -> None:
    from stacks import judge_capacity

    assert capacity_cli.main(["--cdk-json", str(FIXTURE_CDK_JSON)]) == 0
    out = capsys.readouterr().out
    tables, costs = out.split("\n\nPrices: ", 1)
    sizing, judge = tables.split("\n\nJudge profile: ", 1)
    assert sizing == capacity.sizing_table()
    assert "Judge profile: " + judge == judge_capacity.judge_sizing_table()
    profiles = cost.environment_profiles(capacity_cli.shipped_environments(FIXTURE_CDK_JSON))
    costs, example = costs.split("\n\nJudge example ", 1)  # no configured judge: no caching table between
    assert "Prices: " + costs == cost.cost_table(profiles)
    assert "Judge example " + example == cost.example_caching_table() + "\n"
    assert [p.name for p in profiles] == ["dev.sentiment", "dev.gsm8k", "dev.code-tests", "dev.code-tests executor",
                                          "prod.sentiment", "prod.gsm8k", "seed handler, as prod.sentiment"]
    capacity_cli.main(["--cdk-json", str(FIXTURE_CDK_JSON), "--price", "logs_ingestion_per_gb=0"])
    assert "| 0 | " in capsys.readouterr().out
    with pytest.raises(SystemExit):
        capacity_cli.main(["--price", "nope=1"])


def test_estimate_matches_a_real_handler_run(monkeypatch, capsys) -> None:
    import importlib

    from reward_kit import names
    from reward_kit.lambda_runtime import estimate_record_bytes

    spec = {"grader": "label", "labels": ["positive", "negative"]}
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(spec))
    import rlvr.handler as module

    sample = {"id": "a", "messages": [{"role": "assistant", "content": "\\boxed{positive}"}],
              "metadata": {"reference_answer": "positive"}}
    for version in ("12", None):  # as deployed (Lambda sets the version), and run locally
        if version:
            monkeypatch.setenv(names.ENV_LAMBDA_FUNCTION_VERSION, version)
        else:
            monkeypatch.delenv(names.ENV_LAMBDA_FUNCTION_VERSION)
        module = importlib.reload(module)
        module.handler([sample], None)
        line = capsys.readouterr().out
        seconds = json.loads(line)[names.METRIC_BATCH_SECONDS]
        assert len(line.encode()) == estimate_record_bytes(["label"], 1, service="reward", seconds=seconds,
                                                           rewards=(1,), version=version)


def test_readme_cost_table_comes_from_the_model() -> None:
    text = (capacity_cli.ROOT / "README.md").read_text(encoding="utf-8")
    table = cost.cost_table(cost.environment_profiles(capacity_cli.shipped_environments(FIXTURE_CDK_JSON)))
    assert table in text, "README cost table differs from `python -m stacks.capacity`"
