"""The cost model of reward Lambdas, $ per 1M evaluations and per day, as one namespace:
what ``python -m stacks.capacity`` and ``stacks.environment_sizing`` use (``from stacks import
cost``). Pure functions and frozen dataclasses, no CDK import. Its parts:

- ``stacks.cost_model``: the formulas (``CostProfile``, ``Cost``, ``cost_per_million``, ``cost_per_day``);
- ``stacks.cost_prices``: dated, overridable prices (``Prices``, ``JudgePrice``, ``with_overrides``);
- ``stacks.cost_profiles``: the profiles of configured functions and of the article's seed handler;
- ``stacks.cost_report``: the markdown tables and the README's judge example.
"""

from __future__ import annotations

from stacks.cost_model import (
    BILLING_GRANULARITY_SECONDS,
    BYTES_PER_GB,
    PER_MILLION,
    SECONDS_PER_DAY,
    Cost,
    CostProfile,
    JudgeInputSplit,
    billed_seconds,
    cost_per_day,
    cost_per_million,
    judge_cost_per_evaluation,
    judge_input_split,
)
from stacks.cost_prices import (
    PRICES,
    JudgePrice,
    Prices,
    with_overrides,
)
from stacks.cost_profiles import (
    APPLICATION_LEVELS_WITH_DEBUG_LINE,
    SEED_HANDLER_LOG_BYTES_PER_SAMPLE,
    SYSTEM_LEVELS_WITH_INVOCATION_RECORDS,
    SYSTEM_LOG_BYTES_PER_INVOCATION,
    SYSTEM_LOG_RECORDS,
    SYSTEM_TEXT_LOG_BYTES_PER_INVOCATION,
    SYSTEM_TEXT_LOG_LINES,
    environment_profiles,
    executor_profile,
    function_profile,
    seed_profile,
)
from stacks.cost_report import (
    EXAMPLE_GROUP_SIZE,
    EXAMPLE_JUDGE_SPEC,
    EXAMPLE_MODELS,
    EXAMPLE_OUTPUT_TOKENS,
    EXAMPLE_RESPONSE_TOKENS,
    EXAMPLE_SHARED_TOKENS,
    JUDGE_CACHING_HEADER,
    cost_table,
    example_caching_table,
    example_profiles,
    judge_caching_rows,
    judge_caching_table,
)

__all__ = [
    "APPLICATION_LEVELS_WITH_DEBUG_LINE",
    "billed_seconds",
    "BILLING_GRANULARITY_SECONDS",
    "BYTES_PER_GB",
    "Cost",
    "cost_per_day",
    "cost_per_million",
    "cost_table",
    "CostProfile",
    "environment_profiles",
    "example_caching_table",
    "EXAMPLE_GROUP_SIZE",
    "EXAMPLE_JUDGE_SPEC",
    "EXAMPLE_MODELS",
    "EXAMPLE_OUTPUT_TOKENS",
    "example_profiles",
    "EXAMPLE_RESPONSE_TOKENS",
    "EXAMPLE_SHARED_TOKENS",
    "executor_profile",
    "function_profile",
    "JUDGE_CACHING_HEADER",
    "judge_caching_rows",
    "judge_caching_table",
    "judge_cost_per_evaluation",
    "judge_input_split",
    "JudgeInputSplit",
    "JudgePrice",
    "PER_MILLION",
    "Prices",
    "PRICES",
    "SECONDS_PER_DAY",
    "SEED_HANDLER_LOG_BYTES_PER_SAMPLE",
    "seed_profile",
    "SYSTEM_LEVELS_WITH_INVOCATION_RECORDS",
    "SYSTEM_LOG_BYTES_PER_INVOCATION",
    "SYSTEM_LOG_RECORDS",
    "SYSTEM_TEXT_LOG_BYTES_PER_INVOCATION",
    "SYSTEM_TEXT_LOG_LINES",
    "with_overrides",
]
