"""The cost model's markdown tables (``python -m stacks.capacity`` prints them): $ per 1M
evaluations and per day by part, the judges without and with prompt caching, and the README's
judge example at a few prompt sizes.
"""

from __future__ import annotations

import math
from typing import Sequence

from stacks.cost_model import (
    BYTES_PER_GB,
    PER_MILLION,
    SECONDS_PER_DAY,
    CostProfile,
    cost_per_day,
    cost_per_million,
    judge_cost_per_evaluation,
    judge_input_split,
)
from stacks.cost_prices import PRICES, Prices


def _money(x: float) -> str:
    if x == 0:
        return "0"
    return f"{x:,.2f}" if x >= 0.995 else f"{x:.3f}" if x >= 0.0095 else f"{x:.2g}"


def _price(x: float) -> str:
    return f"{x:.10f}".rstrip("0").rstrip(".")


def cost_table(profiles: Sequence[CostProfile], prices: Prices = PRICES) -> str:
    """Markdown: the profiles, $ per 1M evaluations by part, then $ per day at each
    profile's target rate by part."""
    parts = ("requests", "compute", "logs", "judge")
    lines = [
        f"Prices: {prices.region}, as of {prices.as_of}, on-demand, arm64: "
        f"${_price(prices.lambda_requests_per_million)} per 1M requests, "
        f"${_price(prices.lambda_arm64_gb_second)} per GB-second, "
        f"${_price(prices.logs_ingestion_per_gb)} per GB of logs ingested.",
        "",
        "| function | evaluations/s | samples/invocation | memory MB | s/sample | log bytes/invocation | "
        + " | ".join(f"{part} $/1M" for part in parts) + " | total $/1M |",
        "|---|" + "---:|" * 10,
    ]
    for p in profiles:
        per_m = cost_per_million(p, prices)
        lines.append(
            f"| {p.name} | {p.evaluations_per_second:,g} | {p.samples_per_invocation:,} | {p.memory_mb:,} | "
            f"{p.seconds_per_sample:g} | {p.log_bytes_per_invocation:,.0f} | "
            + " | ".join(_money(getattr(per_m, part)) for part in parts) + f" | {_money(per_m.total)} |"
        )
    lines += [
        "",
        "| function | " + " | ".join(f"{part} $/day" for part in parts) + " | total $/day | logs GB/day |",
        "|---|" + "---:|" * 6,
    ]
    for p in profiles:
        per_day = cost_per_day(p, prices)
        gigabytes = p.evaluations_per_second * SECONDS_PER_DAY / p.samples_per_invocation * p.log_bytes_per_invocation / BYTES_PER_GB
        lines.append(
            f"| {p.name} | " + " | ".join(_money(getattr(per_day, part)) for part in parts)
            + f" | {_money(per_day.total)} | {gigabytes:,.2f} |"
        )
    return "\n".join(lines)


def judge_caching_rows(profiles: Sequence[CostProfile], prices: Prices = PRICES) -> list[str]:
    """Markdown rows: a judge's tokens per evaluation and $ per 1M evaluations without and
    with prompt caching (profiles without a judge are left out)."""
    rows = []
    for p in profiles:
        if p.judge_model_id is None:
            continue
        without = PER_MILLION * judge_cost_per_evaluation(p, prices, caching=False)
        with_caching = PER_MILLION * judge_cost_per_evaluation(p, prices)
        split = judge_input_split(p)
        saving = 1 - with_caching / without if without else 0.0
        rows.append(
            f"| {p.name} | {p.judge_model_id} | {p.judge_input_tokens_per_evaluation:,} | "
            f"{p.judge_cached_tokens_per_evaluation:,} | {p.judge_group_size:,} | "
            f"{split.uncached + split.cache_write:,.0f} | {_money(without)} | {_money(with_caching)} | {saving:.0%} |"
        )
    return rows


JUDGE_CACHING_HEADER = (
    "| function | judge model | input tokens/evaluation | cached prefix tokens | group size | "
    "input tokens paid in full or more/evaluation | judge $/1M without caching | judge $/1M with caching | saved |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|"
)


def judge_caching_table(profiles: Sequence[CostProfile], prices: Prices = PRICES) -> str:
    """The configured functions' judges without and with prompt caching ("" when none has one)."""
    rows = judge_caching_rows(profiles, prices)
    return "\n".join([JUDGE_CACHING_HEADER, *rows]) if rows else ""


# The README's RLAIF example spec (tests/stacks/test_cost.py checks they are the same).
EXAMPLE_JUDGE_SPEC = {
    "grader": "judge", "rubric": "Reward answers that are correct, concise and polite.",
    "criteria": {"accuracy": {"description": "the facts are right", "weight": 3}, "tone": "polite"},
    "max_score": 10, "include_reference": True, "include_prompt": True,
    "max_tokens": 512, "temperature": 0, "max_response_chars": 20000,
}
EXAMPLE_GROUP_SIZE = 8  # responses per prompt: AWS's RFT recipes default to 8 or more
EXAMPLE_RESPONSE_TOKENS = 1000  # the response block, closing instruction included
EXAMPLE_OUTPUT_TOKENS = 60  # the judge's JSON reply: two scores and a one-sentence reason
EXAMPLE_SHARED_TOKENS = (500, 2000, 8000)  # the prompt and reference block of a group
EXAMPLE_MODELS = ("us.amazon.nova-lite-v1:0", "us.amazon.nova-pro-v1:0",
                  "us.anthropic.claude-3-5-haiku-20241022-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1:0")


def example_profiles(models: Sequence[str] = EXAMPLE_MODELS,
                     shared_tokens: Sequence[int] = EXAMPLE_SHARED_TOKENS,
                     group_size: int = EXAMPLE_GROUP_SIZE) -> list[CostProfile]:
    """The README's judge example at a few prompt + reference sizes, per model: 1 sample per
    invocation, its system prompt as the spec makes it, ``EXAMPLE_RESPONSE_TOKENS`` of
    response and ``EXAMPLE_OUTPUT_TOKENS`` of reply."""
    from reward_kit.graders.judge.prompt import system_prompt
    from reward_kit.spec import validate_spec
    from stacks import judge_capacity

    spec = validate_spec(EXAMPLE_JUDGE_SPEC)
    system_tokens = math.ceil(len(system_prompt(spec)) / judge_capacity.CHARS_PER_TOKEN)
    profiles = []
    for model in models:
        for shared in shared_tokens:
            total = system_tokens + shared + EXAMPLE_RESPONSE_TOKENS
            cached = judge_capacity.cached_tokens_per_call(spec, model, total,
                                                           prefix_share=(system_tokens + shared) / total)
            profiles.append(CostProfile(
                name=f"example, {shared:,} prompt+reference tokens", evaluations_per_second=1,
                samples_per_invocation=1, memory_mb=512, seconds_per_sample=1, log_bytes_per_invocation=0,
                judge_model_id=model, judge_input_tokens_per_evaluation=total,
                judge_output_tokens_per_evaluation=EXAMPLE_OUTPUT_TOKENS,
                judge_cached_tokens_per_evaluation=cached, judge_group_size=group_size))
    return profiles


def example_caching_table(prices: Prices = PRICES) -> str:
    """The README's judge example without and with prompt caching (markdown)."""
    from reward_kit.graders.judge.prompt import system_prompt
    from reward_kit.spec import validate_spec

    system_chars = len(system_prompt(validate_spec(EXAMPLE_JUDGE_SPEC)))
    dated: dict[tuple[str, str], list[str]] = {}
    for model in EXAMPLE_MODELS:
        price = prices.judge_price(model)
        dated.setdefault((price.as_of, price.source), []).append(model.split(".", 1)[1])
    dated_text = "; ".join(f"{', '.join(models)} as of {as_of} ({source})" for (as_of, source), models in dated.items())
    return "\n".join([
        f"Judge example (the RLAIF section's example spec; system prompt {system_chars:,} characters), groups of "
        f"{EXAMPLE_GROUP_SIZE} responses, {EXAMPLE_RESPONSE_TOKENS:,} response and {EXAMPLE_OUTPUT_TOKENS} reply "
        f"tokens per call. Prices: {dated_text}.",
        "",
        JUDGE_CACHING_HEADER,
        *judge_caching_rows(example_profiles(), prices),
    ])
