"""Cost model for reward Lambdas: $ per 1M evaluations and per day, beside the sizing model.

Pure functions and frozen dataclasses, no CDK import (like ``stacks.capacity``). Per
function, from its configuration::

    invocations per 1M evaluations = 1e6 / samples_per_invocation
    requests = invocations x request price
    compute  = invocations x billed seconds x memory GB x arm64 GB-second price
               billed seconds = samples_per_invocation x expected_seconds_per_sample,
               rounded up to Lambda's 1 ms billing granularity
    logs     = invocations x log bytes per invocation / 1e9 x ingestion price per GB
    judge    = 1e6 x (input tokens x input price + output tokens x output price) / 1,000
               tokens per evaluation: every judge call of the spec, each from
               judge_input_tokens_per_call / judge_output_tokens_per_call or estimated
               from the spec, the very numbers the Bedrock quota check uses
    per day  = per 1M evaluations x target_evaluations_per_second x 86,400 / 1e6

A code function's programs run in the environment's code executor, one executor invocation
per sample: the executor is its own row (``<env>.<function> executor``), with 1M requests
per 1M evaluations and, per request, the function's ``expected_seconds_per_sample`` (the
program's run time is what a code sample's grading time is made of) at the executor's
``memory_mb``; its logs are Lambda's platform records when the system log level keeps them
(the executor writes nothing per run). The grader's own row still counts its batch's time as
if it graded the samples one after another while it waits on the executor: an upper bound,
since its samples run at once.

What the model leaves out, on purpose: the invoke round trip that the sizing model counts in
``invocation_overhead_seconds`` (Lambda bills the handler's duration, not the caller's
wait), cold-start INIT time (minutes a day at most for a warm fleet), log storage after
ingestion ($0.03 per GB-month, compressed), the free tier, CloudWatch custom metrics (a
fixed monthly price per metric, not per evaluation) and Bedrock's batch or provisioned
throughput prices. Log bytes are decimal GB, as AWS bills them.

PRICES are AWS's published on-demand prices for one region on one date; they change and
differ by region, so every number here can be overridden (``dataclasses.replace`` or the
command line's ``--price name=value``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

SECONDS_PER_DAY = 86_400
PER_MILLION = 1_000_000
BYTES_PER_GB = 1_000_000_000  # CloudWatch Logs bills decimal GB
BILLING_GRANULARITY_SECONDS = 0.001  # Lambda bills duration per 1 ms


@dataclass(frozen=True)
class Prices:
    """On-demand prices in USD. Dated and regional: check the AWS pricing pages for yours.

    Sources (us-east-1, as of ``as_of``): aws.amazon.com/lambda/pricing (requests; arm64
    duration, first tier), aws.amazon.com/cloudwatch/pricing (Logs standard-class ingestion,
    first tier; Lambda's logs get volume tiers beyond 10 TB a month) and
    aws.amazon.com/bedrock/pricing (Amazon Nova on-demand tokens).
    """

    region: str = "us-east-1"
    as_of: str = "2025-06"
    lambda_requests_per_million: float = 0.20
    lambda_arm64_gb_second: float = 0.0000133334
    logs_ingestion_per_gb: float = 0.50
    # Bedrock model id (without a cross-region geography prefix) -> (input, output) $ per 1,000 tokens.
    judge_per_1k_tokens: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: MappingProxyType(
            {
                "amazon.nova-micro-v1:0": (0.000035, 0.00014),
                "amazon.nova-lite-v1:0": (0.00006, 0.00024),
                "amazon.nova-pro-v1:0": (0.0008, 0.0032),
                "amazon.nova-premier-v1:0": (0.0025, 0.0125),
            }
        )
    )

    def judge_price(self, model_id: str) -> tuple[float, float]:
        """(input, output) $ per 1,000 tokens; a geography prefix (``us.``) is ignored."""
        from stacks.config.judge import is_inference_profile_id  # the one list of geographies

        base = model_id.split(".", 1)[1] if is_inference_profile_id(model_id) else model_id
        try:
            return self.judge_per_1k_tokens[base]
        except KeyError:
            raise ValueError(
                f"no token price for judge model {model_id!r}; known: {sorted(self.judge_per_1k_tokens)} "
                "(add one with --price 'judge:<model id>=<input>,<output>')"
            ) from None


PRICES = Prices()

# Lambda's own per-invocation records in the JSON log format, with their documented shapes
# (telemetry API schema: platform.start, platform.runtimeDone, platform.report) and typical
# values. A system log level of WARN drops all three; INFO and DEBUG keep them.
_REQUEST_ID = "3f9a2c1e-7b4d-4e8f-9a21-5c6d7e8f9a0b"
SYSTEM_LOG_RECORDS = (
    {"time": "2025-06-01T12:00:00.000Z", "type": "platform.start",
     "record": {"requestId": _REQUEST_ID, "version": "$LATEST"}},
    {"time": "2025-06-01T12:00:00.021Z", "type": "platform.runtimeDone",
     "record": {"requestId": _REQUEST_ID, "status": "success",
                "metrics": {"durationMs": 20.53, "producedBytes": 310}}},
    {"time": "2025-06-01T12:00:00.022Z", "type": "platform.report",
     "record": {"requestId": _REQUEST_ID, "metrics": {"durationMs": 20.53, "billedDurationMs": 21,
                                                       "memorySizeMB": 1024, "maxMemoryUsedMB": 81},
                "status": "success"}},
)  # fmt: skip
SYSTEM_LOG_BYTES_PER_INVOCATION = sum(len(json.dumps(r, separators=(",", ":"))) + 1 for r in SYSTEM_LOG_RECORDS)
# System log levels that keep the per-invocation platform records.
SYSTEM_LEVELS_WITH_INVOCATION_RECORDS = ("DEBUG", "INFO")


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

    def __post_init__(self) -> None:
        checks = {
            "evaluations_per_second": self.evaluations_per_second > 0,
            "samples_per_invocation": self.samples_per_invocation >= 1,
            "memory_mb": self.memory_mb > 0,
            "seconds_per_sample": self.seconds_per_sample > 0,
            "log_bytes_per_invocation": self.log_bytes_per_invocation >= 0,
            "judge_input_tokens_per_evaluation": self.judge_input_tokens_per_evaluation >= 0,
            "judge_output_tokens_per_evaluation": self.judge_output_tokens_per_evaluation >= 0,
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


def cost_per_million(profile: CostProfile, prices: Prices = PRICES) -> Cost:
    """$ per 1M evaluations, split into requests, compute, logs and judge tokens."""
    invocations = PER_MILLION / profile.samples_per_invocation
    judge = 0.0
    if profile.judge_model_id is not None:
        input_price, output_price = prices.judge_price(profile.judge_model_id)
        per_evaluation = (profile.judge_input_tokens_per_evaluation * input_price
                          + profile.judge_output_tokens_per_evaluation * output_price) / 1000
        judge = PER_MILLION * per_evaluation
    return Cost(
        requests=invocations / PER_MILLION * prices.lambda_requests_per_million,
        compute=invocations * billed_seconds(profile) * profile.memory_mb / 1024 * prices.lambda_arm64_gb_second,
        logs=invocations * profile.log_bytes_per_invocation / BYTES_PER_GB * prices.logs_ingestion_per_gb,
        judge=judge,
    )


def cost_per_day(profile: CostProfile, prices: Prices = PRICES) -> Cost:
    """$ per day at the profile's target rate."""
    return cost_per_million(profile, prices).scaled(profile.evaluations_per_second * SECONDS_PER_DAY / PER_MILLION)


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


def with_overrides(prices: Prices, overrides: Iterable[str]) -> Prices:
    """``name=value`` overrides, e.g. ``logs_ingestion_per_gb=0.25``, ``region=eu-west-1`` or
    ``judge:amazon.nova-pro-v1:0=0.001,0.004`` (input, output $ per 1,000 tokens)."""
    changes: dict[str, object] = {}
    judge = dict(prices.judge_per_1k_tokens)
    numeric = {f.name for f in fields(Prices)} - {"region", "as_of", "judge_per_1k_tokens"}
    for item in overrides:
        name, sep, value = item.rpartition("=")
        try:
            if not sep or not name:
                raise ValueError
            if name.startswith("judge:"):
                input_price, output_price = (float(v) for v in value.split(","))
                judge[name[len("judge:"):]] = (input_price, output_price)
            elif name in ("region", "as_of"):
                changes[name] = value
            elif name in numeric:
                changes[name] = float(value)
            else:
                raise KeyError(name)
        except KeyError:
            raise ValueError(f"--price {item}: unknown price {name!r}; known: {sorted(numeric | {'region', 'as_of'})}") from None
        except ValueError:
            raise ValueError(f"--price {item}: expected name=value (judge:<model id>=<input>,<output>)") from None
    return replace(prices, judge_per_1k_tokens=MappingProxyType(judge), **changes)  # type: ignore[arg-type]


# --- the shipped environments -----------------------------------------------------------------

# The article's sample handler (bench/naive_handler.py) prints every sample as indented JSON:
# log bytes per sample measured by `make bench` on its chABSA batch (tests/infra/test_cost.py
# re-measures it). It ran in Lambda's default text log format, START/END/REPORT included.
SEED_HANDLER_LOG_BYTES_PER_SAMPLE = 2178
SYSTEM_TEXT_LOG_LINES = (
    f"START RequestId: {_REQUEST_ID} Version: $LATEST",
    f"END RequestId: {_REQUEST_ID}",
    f"REPORT RequestId: {_REQUEST_ID}\tDuration: 20.53 ms\tBilled Duration: 21 ms\tMemory Size: 1024 MB\t"
    "Max Memory Used: 81 MB\t",
)
SYSTEM_TEXT_LOG_BYTES_PER_INVOCATION = sum(len(line) + 1 for line in SYSTEM_TEXT_LOG_LINES)
# Application log levels at which the runtime writes its per-invocation DEBUG line.
APPLICATION_LEVELS_WITH_DEBUG_LINE = ("TRACE", "DEBUG")


def function_profile(
    fn: object, *, system_log_level: str, application_log_level: str = "INFO", label: str | None = None
) -> CostProfile:
    """The cost profile of one configured reward function (a ``RewardFunctionConfig``): its
    log bytes per invocation come from the runtime's own record builder
    (``reward_kit.lambda_runtime.estimate_record_bytes``), plus its DEBUG line when the
    application log level keeps it and Lambda's platform records when the system log level
    keeps them."""
    from reward_kit.lambda_runtime import estimate_debug_line_bytes, estimate_record_bytes
    from reward_kit.spec import reward_dimensions

    samples = int(fn.samples_per_invocation)  # type: ignore[attr-defined]
    seconds_per_sample = float(fn.expected_seconds_per_sample)  # type: ignore[attr-defined]
    log_bytes = estimate_record_bytes(
        reward_dimensions(fn.reward_spec),  # type: ignore[attr-defined]
        samples,
        service=fn.function_name,  # type: ignore[attr-defined]
        seconds=round(samples * seconds_per_sample, 4),
    )
    if application_log_level.upper() in APPLICATION_LEVELS_WITH_DEBUG_LINE:
        log_bytes += estimate_debug_line_bytes(fn.function_name, samples)  # type: ignore[attr-defined]
    if system_log_level.upper() in SYSTEM_LEVELS_WITH_INVOCATION_RECORDS:
        log_bytes += SYSTEM_LOG_BYTES_PER_INVOCATION
    judge = getattr(fn, "judge", None)  # a JudgeConfig when the spec needs a judge
    tokens = fn.judge_tokens  # type: ignore[attr-defined]  # configured or estimated, as the quota check
    return CostProfile(
        name=label or fn.name,  # type: ignore[attr-defined]
        evaluations_per_second=float(fn.target_evaluations_per_second),  # type: ignore[attr-defined]
        samples_per_invocation=samples,
        memory_mb=int(fn.memory_mb),  # type: ignore[attr-defined]
        seconds_per_sample=seconds_per_sample,
        log_bytes_per_invocation=log_bytes,
        judge_model_id=judge.model_id if judge else None,
        judge_input_tokens_per_evaluation=tokens.input,
        judge_output_tokens_per_evaluation=tokens.output,
    )


def executor_profile(fn: object, *, executor_memory_mb: int, system_log_level: str,
                     label: str | None = None) -> CostProfile:
    """The code executor's share of one code function's cost: one invocation per sample."""
    log_bytes = (SYSTEM_LOG_BYTES_PER_INVOCATION
                 if system_log_level.upper() in SYSTEM_LEVELS_WITH_INVOCATION_RECORDS else 0)
    return CostProfile(
        name=label or f"{fn.name} executor",  # type: ignore[attr-defined]
        evaluations_per_second=float(fn.target_evaluations_per_second),  # type: ignore[attr-defined]
        samples_per_invocation=1,
        memory_mb=executor_memory_mb,
        seconds_per_sample=float(fn.expected_seconds_per_sample),  # type: ignore[attr-defined]
        log_bytes_per_invocation=log_bytes,
    )


def seed_profile(like: CostProfile) -> CostProfile:
    """The article's handler with the same rate, batch size, memory and grading time."""
    return replace(
        like,
        name=f"seed handler, as {like.name}",
        log_bytes_per_invocation=like.samples_per_invocation * SEED_HANDLER_LOG_BYTES_PER_SAMPLE
        + SYSTEM_TEXT_LOG_BYTES_PER_INVOCATION,
        judge_model_id=None,
        judge_input_tokens_per_evaluation=0,
        judge_output_tokens_per_evaluation=0,
    )


def environment_profiles(environments: Mapping[str, object]) -> list[CostProfile]:
    """One profile per function of every environment (``<env>.<function>``, and after a code
    function its executor's share, ``<env>.<function> executor``), then the seed handler on
    the settings of the busiest function, for comparison."""
    profiles = []
    for env_name, env in environments.items():
        system = getattr(env, "system_log_level", "INFO")
        application = getattr(env, "application_log_level", "INFO")
        for fn in env.reward_functions:  # type: ignore[attr-defined]
            profiles.append(function_profile(fn, system_log_level=system, application_log_level=application,
                                             label=f"{env_name}.{fn.name}"))
            if fn.kind == "code":
                profiles.append(executor_profile(
                    fn, executor_memory_mb=env.code_sandbox.executor.memory_mb,  # type: ignore[attr-defined]
                    system_log_level=system, label=f"{env_name}.{fn.name} executor"))
    if profiles:
        busiest = max(profiles, key=lambda p: p.evaluations_per_second)
        profiles.append(seed_profile(busiest))
    return profiles
