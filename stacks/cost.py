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
class JudgePrice:
    """One Bedrock model's on-demand token prices, $ per 1,000 tokens, and where they are from."""

    input: float
    output: float
    cache_read: float  # input tokens read from the prompt cache
    cache_write: float  # input tokens written to it
    as_of: str
    source: str


# Amazon Nova: the input and output prices of aws.amazon.com/bedrock/pricing (us-east-1,
# 2025-06). Cache reads at 25% of input (the "75% discount on cache hits" of the Bedrock
# pricing page as third-party summaries quote it in 2026-05, e.g. Nova Pro $0.20 per 1M);
# cache writes at the input price: we could not verify a Nova cache-write price from AWS
# here, and none above input is documented, so the conservative choice.
_NOVA_SOURCE = "Bedrock pricing page; cache read 25% of input (as quoted 2026-05), cache write = input (unverified)"
# Anthropic Claude on Bedrock: input and output prices as third-party summaries of the Bedrock
# pricing page give them (2026-03..05; not checked against the page itself, which is not
# reachable from here); cache writes 1.25x input and reads 0.1x input (Anthropic's prompt
# caching multipliers, which Bedrock applies). Regional endpoints of the 4.5 models cost
# 10% more than global ones: override with --price for yours.
_CLAUDE_SOURCE = "third-party summaries of the Bedrock pricing page (unverified); write 1.25x, read 0.1x input"


def _nova(input_price: float, output_price: float) -> JudgePrice:
    return JudgePrice(input_price, output_price, input_price * 0.25, input_price, "2025-06, cache read 2026-05",
                      _NOVA_SOURCE)


def _claude(input_price: float, output_price: float) -> JudgePrice:
    return JudgePrice(input_price, output_price, input_price * 0.1, input_price * 1.25, "2026-05", _CLAUDE_SOURCE)


@dataclass(frozen=True)
class Prices:
    """On-demand prices in USD. Dated and regional: check the AWS pricing pages for yours.

    Sources (us-east-1, as of ``as_of``): aws.amazon.com/lambda/pricing (requests; arm64
    duration, first tier), aws.amazon.com/cloudwatch/pricing (Logs standard-class ingestion,
    first tier; Lambda's logs get volume tiers beyond 10 TB a month) and
    aws.amazon.com/bedrock/pricing (judge tokens: each ``JudgePrice`` names its date and source).
    """

    region: str = "us-east-1"
    as_of: str = "2025-06"
    lambda_requests_per_million: float = 0.20
    lambda_arm64_gb_second: float = 0.0000133334
    logs_ingestion_per_gb: float = 0.50
    # Bedrock model id (without a cross-region geography prefix) -> its token prices.
    judge_per_1k_tokens: Mapping[str, JudgePrice] = field(
        default_factory=lambda: MappingProxyType(
            {
                "amazon.nova-micro-v1:0": _nova(0.000035, 0.00014),
                "amazon.nova-lite-v1:0": _nova(0.00006, 0.00024),
                "amazon.nova-pro-v1:0": _nova(0.0008, 0.0032),
                "amazon.nova-premier-v1:0": _nova(0.0025, 0.0125),
                "anthropic.claude-3-7-sonnet-20250219-v1:0": _claude(0.003, 0.015),
                "anthropic.claude-sonnet-4-20250514-v1:0": _claude(0.003, 0.015),
                "anthropic.claude-3-5-haiku-20241022-v1:0": _claude(0.0008, 0.004),
                "anthropic.claude-haiku-4-5-20251001-v1:0": _claude(0.001, 0.005),
            }
        )
    )

    def judge_price(self, model_id: str) -> JudgePrice:
        """The model's token prices; a geography prefix (``us.``) is ignored."""
        from stacks.config.judge import is_inference_profile_id  # the one list of geographies

        base = model_id.split(".", 1)[1] if is_inference_profile_id(model_id) else model_id
        try:
            return self.judge_per_1k_tokens[base]
        except KeyError:
            raise ValueError(
                f"no token price for judge model {model_id!r}; known: {sorted(self.judge_per_1k_tokens)} "
                "(add one with --price 'judge:<model id>=<input>,<output>[,<cache read>,<cache write>]')"
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


def with_overrides(prices: Prices, overrides: Iterable[str]) -> Prices:
    """``name=value`` overrides, e.g. ``logs_ingestion_per_gb=0.25``, ``region=eu-west-1`` or
    ``judge:amazon.nova-pro-v1:0=0.001,0.004[,0.00025,0.001]`` (input, output[, cache read,
    cache write] $ per 1,000 tokens; without the cache prices, both are the input price: no
    discount assumed)."""
    changes: dict[str, object] = {}
    judge = dict(prices.judge_per_1k_tokens)
    numeric = {f.name for f in fields(Prices)} - {"region", "as_of", "judge_per_1k_tokens"}
    for item in overrides:
        name, sep, value = item.rpartition("=")
        try:
            if not sep or not name:
                raise ValueError
            if name.startswith("judge:"):
                numbers = [float(v) for v in value.split(",")]
                if len(numbers) == 2:
                    numbers += [numbers[0], numbers[0]]
                input_price, output_price, read_price, write_price = numbers  # ValueError unless 2 or 4
                judge[name[len("judge:"):]] = JudgePrice(input_price, output_price, read_price, write_price,
                                                         "override", "--price")
            elif name in ("region", "as_of"):
                changes[name] = value
            elif name in numeric:
                changes[name] = float(value)
            else:
                raise KeyError(name)
        except KeyError:
            raise ValueError(f"--price {item}: unknown price {name!r}; known: {sorted(numeric | {'region', 'as_of'})}") from None
        except ValueError:
            raise ValueError(f"--price {item}: expected name=value "
                             "(judge:<model id>=<input>,<output>[,<cache read>,<cache write>])") from None
    return replace(prices, judge_per_1k_tokens=MappingProxyType(judge), **changes)  # type: ignore[arg-type]


# --- the shipped environments -----------------------------------------------------------------

# The article's sample handler (bench/naive_handler.py) prints every sample as indented JSON:
# log bytes per sample measured by `make bench` on its chABSA batch (tests/stacks/test_cost.py
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
    cached = 0
    if judge is not None and judge.prompt_caching:
        from stacks import judge_capacity

        cached = judge_capacity.cached_tokens_per_sample(
            fn.reward_spec, judge.model_id, judge.input_tokens_per_call,  # type: ignore[attr-defined]
            prefix_share=judge.prefix_share, min_tokens_override=judge.prompt_cache_min_tokens)
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
        judge_cached_tokens_per_evaluation=cached,
        judge_group_size=(judge.group_size or 1) if judge is not None else 1,
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
        judge_cached_tokens_per_evaluation=0,
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
