"""Prompt caching in the configuration, the cost model and the quota check: the judge_* keys,
the Lambda environment they set, the cost without and with caching by hand, the README's
example, and a quota need that caching does not lower (cache reads count when a request
starts)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from reward_kit import names
from stacks import cost, judge_capacity
from stacks.config import parse_environments
from tests import ROOT
from tests.cdk_context import JUDGE_ENVIRONMENT

CACHED = cost.CostProfile(
    name="cached", evaluations_per_second=100, samples_per_invocation=1, memory_mb=512, seconds_per_sample=1,
    log_bytes_per_invocation=0, judge_model_id="us.amazon.nova-pro-v1:0", judge_input_tokens_per_evaluation=3000,
    judge_output_tokens_per_evaluation=100, judge_cached_tokens_per_evaluation=2000, judge_group_size=8,
)


def _environment(**fm: object) -> Any:
    raw = json.loads(json.dumps(JUDGE_ENVIRONMENT))
    raw["reward_functions"]["judge-fm"].update(target_evaluations_per_second=5, **fm)  # within the quota
    return parse_environments({"judge": raw})["judge"]


def test_nova_by_hand() -> None:
    # Without: 3,000 input x $0.0008 + 100 output x $0.0032 per 1,000 tokens = $0.00272 an evaluation.
    assert 1e6 * cost.judge_cost_per_evaluation(CACHED, caching=False) == pytest.approx(2720.0)
    # With: 1,000 uncached x 0.0008; of 2,000 cached, 1/8 written at the input price, 7/8 read at 25%.
    split = cost.judge_input_split(CACHED)
    assert (split.uncached, split.cache_write, split.cache_read) == (1000, 250, 1750)
    by_hand = (1000 * 0.0008 + 250 * 0.0008 + 1750 * 0.0002 + 100 * 0.0032) / 1000
    assert cost.judge_cost_per_evaluation(CACHED) == pytest.approx(by_hand)
    assert cost.cost_per_million(CACHED).judge == pytest.approx(1670.0)


def test_claude_writes_cost_more_and_a_group_of_one_pays_for_it() -> None:
    claude = replace(CACHED, judge_model_id="us.anthropic.claude-sonnet-4-20250514-v1:0")
    price = cost.PRICES.judge_price(claude.judge_model_id)
    assert (price.cache_write, price.cache_read) == pytest.approx((0.00375, 0.0003))
    by_hand = (1000 * 0.003 + 250 * 0.00375 + 1750 * 0.0003 + 100 * 0.015) / 1000
    assert cost.judge_cost_per_evaluation(claude) == pytest.approx(by_hand)
    alone = replace(claude, judge_group_size=1)  # written every time, never read: 25% more on the prefix
    assert cost.judge_cost_per_evaluation(alone) > cost.judge_cost_per_evaluation(alone, caching=False)


def test_price_overrides_take_cache_prices() -> None:
    prices = cost.with_overrides(cost.PRICES, ["judge:acme.judge-v1=0.001,0.002,0.0001,0.0015",
                                               "judge:acme.plain-v1=0.001,0.002"])
    def four(model: str) -> tuple[float, ...]:
        price = prices.judge_price(model)
        return (price.input, price.output, price.cache_read, price.cache_write)

    assert four("acme.judge-v1") == (0.001, 0.002, 0.0001, 0.0015)
    assert four("acme.plain-v1") == (0.001, 0.002, 0.001, 0.001)  # no discount assumed
    with pytest.raises(ValueError, match="expected name=value"):
        cost.with_overrides(cost.PRICES, ["judge:acme.x-v1=1,2,3"])


def test_config_keys_reach_the_lambda_and_the_cost_model() -> None:
    env = _environment(judge_input_tokens_per_call=8000, judge_output_tokens_per_call=100,
                       judge_group_size=8, judge_prefix_share=0.8)
    fn = env.function("judge-fm")
    assert (fn.judge.prompt_caching, fn.judge.group_size, fn.judge.prefix_share) == (True, 8, 0.8)
    assert names.ENV_JUDGE_PROMPT_CACHING not in fn.environment_variables()  # on: the runtime default
    profile = cost.function_profile(fn, system_log_level="WARN")
    assert (profile.judge_cached_tokens_per_evaluation, profile.judge_group_size) == (6400, 8)
    assert cost.cost_per_million(profile).judge < 1e6 * cost.judge_cost_per_evaluation(profile, caching=False) / 2
    # Off: nothing cached in the model, and the Lambda is told.
    off = _environment(judge_input_tokens_per_call=8000, judge_prefix_share=0.8, judge_prompt_caching=False)
    fn_off = off.function("judge-fm")
    assert fn_off.environment_variables()[names.ENV_JUDGE_PROMPT_CACHING] == "false"
    assert cost.function_profile(fn_off, system_log_level="WARN").judge_cached_tokens_per_evaluation == 0
    # A model the table does not know: declared with its minimum.
    declared = _environment(judge_prompt_cache_min_tokens=512).function("judge-fm")
    assert declared.environment_variables()[names.ENV_JUDGE_PROMPT_CACHE_MIN_TOKENS] == "512"
    # The quota need is the same with caching on or off (reads count when the request starts).
    assert fn.judge_need == fn_off.judge_need


@pytest.mark.parametrize("key, value, message", [
    ("judge_prompt_caching", "yes", "judge_prompt_caching: must be true or false, got 'yes'"),
    ("judge_group_size", 0, "judge_group_size: must be an integer in 1..4096, got 0"),
    ("judge_prefix_share", 1.5, "judge_prefix_share: must be a finite number"),
    ("judge_prompt_cache_min_tokens", 0, "judge_prompt_cache_min_tokens: must be an integer in 1..1000000, got 0"),
])
def test_bad_values_fail_naming_the_key(key: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"judge.reward_functions.judge-fm.{message}")):
        _environment(**{key: value})


def test_cached_prefix_only_where_a_checkpoint_counts() -> None:
    spec = {"grader": "judge", "rubric": "short", "name": "q", "criteria": {}, "max_score": 10,
            "include_reference": True, "include_prompt": True, "max_tokens": 512, "temperature": 0,
            "max_response_chars": 20000}
    model = "amazon.nova-pro-v1:0"
    # The system prompt alone is far below 1,000 tokens: nothing without a measured share.
    assert judge_capacity.cached_tokens_per_call(spec, model, 5000) == 0
    # A share whose prefix clears the minimum (lower bound: characters / 6) is cached whole.
    assert judge_capacity.cached_tokens_per_call(spec, model, 5000, prefix_share=0.5) == 2500
    assert judge_capacity.cached_tokens_per_call(spec, model, 1200, prefix_share=0.9) == 0  # 1,080: too short
    assert judge_capacity.cached_tokens_per_call(spec, "meta.llama3-70b-instruct-v1:0", 5000, prefix_share=0.5) == 0
    assert judge_capacity.cached_tokens_per_call(spec, "meta.llama3-70b-instruct-v1:0", 5000, prefix_share=0.5,
                                                 min_tokens_override=1000) == 2500


def test_the_example_is_the_readme_spec_and_its_table_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, re.DOTALL) if '"grader": "judge"' in b
              and b.lstrip().startswith("{")]
    assert cost.EXAMPLE_JUDGE_SPEC in blocks
    table = cost.example_caching_table()
    assert table in readme, "regenerate the README's caching table: python -m stacks.capacity"
    # Caching pays where the prefix clears the minimum, never below it.
    rows = {(p.judge_model_id, p.judge_input_tokens_per_evaluation): p for p in cost.example_profiles()}
    for profile in rows.values():
        with_caching = cost.judge_cost_per_evaluation(profile)
        without = cost.judge_cost_per_evaluation(profile, caching=False)
        assert with_caching < without if profile.judge_cached_tokens_per_evaluation else with_caching == without
