"""``python -m stacks.capacity -c env=NAME``: one environment's functions as sized for it.

Per function: where the rate comes from (``training_shape`` or a stated rate), the rate,
seconds per invocation, the derived reserved concurrency (what a SageMaker recipe's
``lambda_concurrency_limit`` gets) and, for a judge, requests and tokens per minute against
the environment's Bedrock quota for that model; then the cost per day at that rate
(``stacks.cost``). The numbers are the ones synth checks, from the same config objects.
"""

from __future__ import annotations

from typing import Any

from stacks import capacity, cost, judge_capacity


def _rate_source(fn: Any) -> str:
    shape = fn.training_shape
    return shape.describe() if shape is not None else "target_evaluations_per_second"


def _quota_use(need: float, quota: int | None) -> str:
    if quota is None:
        return f"{judge_capacity.fmt(need)} (no quota configured)"
    return f"{judge_capacity.fmt(need)} of {quota:,} ({100 * need / quota:.0f}%)"


def environment_table(env: Any, prices: cost.Prices = cost.PRICES) -> str:
    lines = [
        f"Environment {env.name}: headroom {env.headroom:g}, {env.invocation_overhead_seconds:g} s overhead per "
        f"invocation; reserved concurrency {env.total_reserved_concurrency:,} of "
        f"{capacity.max_reservable(env.account_concurrency_limit):,} reservable "
        f"(account_concurrency_limit {env.account_concurrency_limit:,}).",
        "",
        "| function | rate from | evaluations/s | samples per invocation | seconds per invocation "
        "| reserved concurrency | judge requests/min (quota) | judge tokens/min (quota) | $ per day |",
        "|---|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for fn in env.reward_functions:
        seconds = capacity.seconds_per_invocation(fn.expected_seconds_per_sample, fn.samples_per_invocation,
                                                  env.invocation_overhead_seconds)
        need = fn.judge_need
        requests = tokens = "-"
        if need is not None:
            quota = env.bedrock_quotas.for_model(need.model_id)
            requests = _quota_use(need.requests_per_minute, quota.requests_per_minute if quota else None)
            tokens = _quota_use(need.tokens_per_minute, quota.tokens_per_minute if quota else None)
        profile = cost.function_profile(fn, system_log_level=env.system_log_level,
                                        application_log_level=env.application_log_level)
        per_day = cost.cost_per_day(profile, prices).total
        lines.append(
            f"| {fn.name} | {_rate_source(fn)} | {fn.target_evaluations_per_second:,.4g} | {fn.samples_per_invocation} "
            f"| {seconds:g} | {fn.reserved_concurrency:,} | {requests} | {tokens} | {per_day:,.2f} |"
        )
    return "\n".join(lines)
