"""stacks.judge_capacity: judge requests and tokens per minute against Bedrock quotas."""

from __future__ import annotations

import math

import pytest

from reward_kit.graders import judge
from reward_kit.spec import validate_spec
from stacks import judge_capacity as jc

JUDGE = {"grader": "judge", "rubric": "Reward polite, correct answers."}


def test_the_estimate_is_the_largest_request_in_tokens_plus_max_tokens() -> None:
    spec = validate_spec({**JUDGE, "max_response_chars": 1000, "max_tokens": 256})
    chars = judge.max_request_chars(spec)
    # system prompt + three texts of 1,000 characters each and their tags
    assert 3000 < chars < 3000 + len(judge.system_prompt(spec)) + 400
    assert jc.estimate_input_tokens_per_call(spec) == math.ceil(chars / jc.CHARS_PER_TOKEN)
    assert jc.estimate_output_tokens_per_call(spec) == 256
    assert jc.estimate_tokens_per_call(spec) == math.ceil(chars / jc.CHARS_PER_TOKEN) + 256


def test_the_estimate_follows_the_spec() -> None:
    base = jc.estimate_tokens_per_call(validate_spec(JUDGE))
    assert jc.estimate_tokens_per_call(validate_spec({**JUDGE, "include_reference": False})) < base
    assert jc.estimate_tokens_per_call(validate_spec({**JUDGE, "include_prompt": False})) < base
    assert jc.estimate_tokens_per_call(validate_spec({**JUDGE, "max_tokens": 2048})) == base - 512 + 2048
    assert jc.estimate_input_tokens_per_call(validate_spec({**JUDGE, "max_tokens": 2048})) == (
        jc.estimate_input_tokens_per_call(validate_spec(JUDGE)))
    longer = {**JUDGE, "criteria": {"accuracy": "the facts are right " * 20, "tone": "polite " * 20}}
    assert jc.estimate_tokens_per_call(validate_spec(longer)) > base


def test_multi_counts_each_judge_component() -> None:
    spec = validate_spec({
        "grader": "multi",
        "graders": {"quality": JUDGE, "format": {"grader": "regex", "pattern": "x", "target": "response"}},
    })
    assert len(jc.judge_specs(spec)) == 1
    quality = spec["graders"]["quality"]
    assert jc.tokens_per_sample(spec) == jc.JudgeTokens(jc.estimate_input_tokens_per_call(quality), 512)
    assert jc.tokens_per_sample(spec).total == jc.estimate_tokens_per_call(quality)
    assert jc.tokens_per_sample(spec, 1400, 100) == jc.JudgeTokens(1400, 100)
    assert jc.tokens_per_sample(spec, 1400, 100).total == 1500
    assert jc.judge_specs(validate_spec({"grader": "regex", "pattern": "x", "target": "response"})) == []
    # Two judge components: two calls a sample, each with its own estimate or the configured halves.
    two = validate_spec({"grader": "multi", "graders": {"a": JUDGE, "b": {**JUDGE, "max_tokens": 64}}})
    assert jc.tokens_per_sample(two).output == 512 + 64
    assert jc.tokens_per_sample(two, 1400, 100) == jc.JudgeTokens(2800, 200)


def test_a_half_left_unset_keeps_its_estimate() -> None:
    spec = validate_spec(JUDGE)
    estimated_input = jc.estimate_input_tokens_per_call(spec)
    assert jc.tokens_per_sample(spec, None, 40) == jc.JudgeTokens(estimated_input, 40)
    assert jc.tokens_per_sample(spec, 900, None) == jc.JudgeTokens(900, 512)


def test_the_issues_example_400_per_second_at_1500_tokens_is_36m_tokens_per_minute() -> None:
    need = jc.judge_need("tone", "us.amazon.nova-pro-v1:0", 400, 1, 1500)
    assert need.requests_per_minute == 24_000 and need.tokens_per_minute == 36_000_000


def _needs(*rates: float, tokens: int = 1500) -> list[jc.JudgeNeed]:
    return [jc.judge_need(f"fn{i}", "amazon.nova-pro-v1:0", rate, 1, tokens) for i, rate in enumerate(rates)]


def test_a_need_within_the_quota_passes() -> None:
    jc.check_quota("q", _needs(10), jc.BedrockQuota(tokens_per_minute=900_000, requests_per_minute=600),
                   cross_region=False)


def test_a_need_over_the_token_quota_is_one_line_naming_need_and_quota() -> None:
    with pytest.raises(jc.JudgeQuotaError) as info:
        jc.check_quota("environments.prod.bedrock_quotas.amazon.nova-pro-v1:0", _needs(400),
                       jc.BedrockQuota(tokens_per_minute=2_000_000, requests_per_minute=100_000), cross_region=False)
    message = str(info.value)
    assert "\n" not in message
    assert message == (
        "environments.prod.bedrock_quotas.amazon.nova-pro-v1:0.tokens_per_minute: judge model "
        "'amazon.nova-pro-v1:0' needs 36,000,000 tokens per minute at the target rate (function fn0) but the "
        "configured quota is 2,000,000; request 'On-demand InvokeModel tokens per minute' >= 36,000,000 for "
        "amazon.nova-pro-v1:0 in Service Quotas and set it here, or lower target_evaluations_per_second or the "
        "tokens per call (judge_input_tokens_per_call, judge_output_tokens_per_call)"
    )


def test_requests_are_checked_too_and_cross_region_names_its_quota() -> None:
    with pytest.raises(jc.JudgeQuotaError, match=r"\.requests_per_minute: .* needs 600 requests per minute .*"
                       r"'Cross-Region InvokeModel requests per minute' >= 600"):
        jc.check_quota("q", _needs(10, tokens=1), jc.BedrockQuota(tokens_per_minute=10**9, requests_per_minute=500),
                       cross_region=True)


def test_functions_sharing_a_model_are_summed() -> None:
    quota = jc.BedrockQuota(tokens_per_minute=10_000_000, requests_per_minute=10_000)
    jc.check_quota("q", _needs(100), quota, cross_region=False)  # 9M tokens/min: fits alone
    with pytest.raises(jc.JudgeQuotaError, match=r"needs 18,000,000 tokens per minute .*functions fn0, fn1 share it"):
        jc.check_quota("q", _needs(100, 100), quota, cross_region=False)


def test_the_table_matches_the_model() -> None:
    table = jc.judge_sizing_table((10, 400), 1500)
    assert "| 10 | 600 | 900,000 |" in table
    assert "| 400 | 24,000 | 36,000,000 |" in table
