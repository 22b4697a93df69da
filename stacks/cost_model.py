"""Cost model for reward Lambdas: $ per 1M evaluations and per day, beside the sizing model.

Pure functions and frozen dataclasses, no CDK import (like ``stacks.capacity``). Per
function, from its configuration::

    invocations per 1M evaluations = 1e6 / samples_per_invocation
    requests = invocations x request price
    compute  = invocations x billed seconds x memory GB x arm64 GB-second price
               billed seconds = samples_per_invocation x expected_seconds_per_sample,
               rounded up to Lambda's 1 ms billing granularity
    logs     = invocations x log bytes per invocation / 1e9 x ingestion price per GB
    judge    = 1e6 x (uncached input x input price + cache writes x write price
                      + cache reads x read price + output x output price) / 1,000
               tokens per evaluation: every judge call of the spec, each from
               judge_input_tokens_per_call / judge_output_tokens_per_call or estimated
               from the spec, the very numbers the Bedrock quota check uses
               cached prefix C per call (stacks.judge_capacity.cached_tokens_per_call):
               the system prompt, plus the prompt and reference when judge_prefix_share
               says how much of the input they are, wherever the judge would put a
               checkpoint (reward_kit.judge_prompt_cache); 0 with caching off
               per group of g = judge_group_size calls: one writes C, g - 1 read it
               (a conservative reading: later groups would read the system prompt too)
    per day  = per 1M evaluations x target_evaluations_per_second x 86,400 / 1e6

What the model leaves out, on purpose: the invoke round trip that the sizing model counts in
``invocation_overhead_seconds`` (Lambda bills the handler's duration, not the caller's
wait), cold-start INIT time (minutes a day at most for a warm fleet), log storage after
ingestion ($0.03 per GB-month, compressed), the free tier, CloudWatch custom metrics (a
fixed monthly price per metric, not per evaluation) and Bedrock's batch or provisioned
throughput prices. Log bytes are decimal GB, as AWS bills them.

The prices are ``stacks.cost_prices``; the profiles of the shipped environments
``stacks.cost_profiles``; the tables ``stacks.cost_report``; ``stacks.cost`` gathers them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from stacks.cost_prices import PRICES, Prices

SECONDS_PER_DAY = 86_400
PER_MILLION = 1_000_000
BYTES_PER_GB = 1_000_000_000  # CloudWatch Logs bills decimal GB
BILLING_GRANULARITY_SECONDS = 0.001  # Lambda bills duration per 1 ms


@dataclass(frozen=True)
class CostProfile:
    """What the cost of one reward function depends on."""

    name: str
    evaluations_per_second: float
    samples_per_invocation: int
    memory_mb: int
    seconds_per_sample: float
    log_bytes_per_invocation: float
    judge_model_id: str | None = None
    # Bedrock tokens of one evaluation: every judge call of the spec (stacks.judge_capacity).
    judge_input_tokens_per_evaluation: int = 0
    judge_output_tokens_per_evaluation: int = 0
    # Of the input, the prefix tokens behind prompt-caching checkpoints (0: caching off or
    # nothing long enough), and the calls per (prompt, reference) group that share them.
    judge_cached_tokens_per_evaluation: int = 0
    judge_group_size: int = 1

    def __post_init__(self) -> None:
        checks = {
            "evaluations_per_second": self.evaluations_per_second > 0,
            "samples_per_invocation": self.samples_per_invocation >= 1,
            "memory_mb": self.memory_mb > 0,
            "seconds_per_sample": self.seconds_per_sample > 0,
            "log_bytes_per_invocation": self.log_bytes_per_invocation >= 0,
            "judge_input_tokens_per_evaluation": self.judge_input_tokens_per_evaluation >= 0,
            "judge_output_tokens_per_evaluation": self.judge_output_tokens_per_evaluation >= 0,
            "judge_cached_tokens_per_evaluation":
                0 <= self.judge_cached_tokens_per_evaluation <= self.judge_input_tokens_per_evaluation,
            "judge_group_size": self.judge_group_size >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{self.name}: {name} out of range: {getattr(self, name)!r}")


@dataclass(frozen=True)
class Cost:
    """Dollars per 1M evaluations, by part."""

    requests: float
    compute: float
    logs: float
    judge: float

    @property
    def total(self) -> float:
        return self.requests + self.compute + self.logs + self.judge

    def scaled(self, factor: float) -> Cost:
        return Cost(*(getattr(self, f.name) * factor for f in fields(self)))


def billed_seconds(profile: CostProfile) -> float:
    """Billed duration of one invocation, rounded up to the 1 ms granularity."""
    seconds = profile.samples_per_invocation * profile.seconds_per_sample
    # round() first: 0.02 s is 20.000000000000004 ms in binary floating point.
    return math.ceil(round(seconds / BILLING_GRANULARITY_SECONDS, 9)) * BILLING_GRANULARITY_SECONDS


@dataclass(frozen=True)
class JudgeInputSplit:
    """Input tokens of one evaluation as Bedrock bills them (module docstring)."""

    uncached: float
    cache_write: float
    cache_read: float


def judge_input_split(profile: CostProfile, *, caching: bool = True) -> JudgeInputSplit:
    """Uncached, written and read input tokens of one evaluation: of the cached prefix C,
    a group of g calls writes it once and reads it g - 1 times."""
    total = profile.judge_input_tokens_per_evaluation
    cached = profile.judge_cached_tokens_per_evaluation if caching else 0
    group = profile.judge_group_size
    return JudgeInputSplit(total - cached, cached / group, cached * (group - 1) / group)


def judge_cost_per_evaluation(profile: CostProfile, prices: Prices = PRICES, *, caching: bool = True) -> float:
    """$ of the judge tokens of one evaluation, with or without prompt caching."""
    if profile.judge_model_id is None:
        return 0.0
    price = prices.judge_price(profile.judge_model_id)
    split = judge_input_split(profile, caching=caching)
    return (split.uncached * price.input + split.cache_write * price.cache_write + split.cache_read * price.cache_read
            + profile.judge_output_tokens_per_evaluation * price.output) / 1000


def cost_per_million(profile: CostProfile, prices: Prices = PRICES) -> Cost:
    """$ per 1M evaluations, split into requests, compute, logs and judge tokens (with the
    prompt caching the profile expects)."""
    invocations = PER_MILLION / profile.samples_per_invocation
    judge = PER_MILLION * judge_cost_per_evaluation(profile, prices)
    return Cost(
        requests=invocations / PER_MILLION * prices.lambda_requests_per_million,
        compute=invocations * billed_seconds(profile) * profile.memory_mb / 1024 * prices.lambda_arm64_gb_second,
        logs=invocations * profile.log_bytes_per_invocation / BYTES_PER_GB * prices.logs_ingestion_per_gb,
        judge=judge,
    )


def cost_per_day(profile: CostProfile, prices: Prices = PRICES) -> Cost:
    """$ per day at the profile's target rate."""
    return cost_per_million(profile, prices).scaled(profile.evaluations_per_second * SECONDS_PER_DAY / PER_MILLION)
