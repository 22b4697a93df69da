"""Judge sizing: what an RLAIF function asks of Bedrock at its target rate, against the quotas.

Pure functions, no CDK import: the config layer checks every environment at synth time and
``python -m stacks.capacity`` prints the judge table beside the Lambda table.

Bedrock meters each model per account and region in requests and tokens (input + output
together) per minute, on-demand and cross-region separately (Amazon Bedrock user guide: Quotas
for Amazon Bedrock). An
inference profile id (``us.amazon.nova-pro-v1:0``) draws on the model's *Cross-Region*
quotas, a model id (``amazon.nova-pro-v1:0``) on its *On-demand* ones. Model::

    judge_calls_per_minute = target_evaluations_per_second x 60 x judge components in the spec
    judge_tokens_per_minute = judge_calls_per_minute x tokens_per_call

* ``tokens_per_call``: input + output tokens of one judge call, per judge component of the
  spec. Each half is ``judge_input_tokens_per_call`` / ``judge_output_tokens_per_call`` from
  config once measured (the JudgeInputTokens metric plus the cache read and write tokens,
  and JudgeOutputTokens, divided by JudgeCalls; or the dry run), else estimated from the
  spec: input is the largest request it
  can send (system prompt with the rubric and criteria, prompt, reference and response each at
  ``max_response_chars``) at ``CHARS_PER_TOKEN`` characters per token, output is
  ``max_tokens`` (Bedrock counts the reply's ``max_tokens`` against the quota when the request
  starts). A half that is not configured is estimated, so setting only one keeps the other an
  upper bound. The estimate is an upper bound: most samples are far shorter, so measure and
  set both keys. ``stacks.cost`` prices the same numbers, so quota and cost never disagree.
* Functions that share a judge model in one account and region share its quotas: their needs
  are added up (also across environments deployed to the same account and region).
* No headroom and no de-duplication are assumed: retries and bursts need more, repeated
  samples need less.
* Prompt caching does not lower the need. Amazon Bedrock user guide, "How tokens are
  counted in Amazon Bedrock": at the start of a request the quota is charged the total input
  tokens (cache reads and writes included) plus ``max_tokens``; at its end it is adjusted to
  ``InputTokenCount + CacheWriteInputTokens + OutputTokenCount x burndown rate``, so cache
  reads are released then. This check models the start of the request (it already counts
  ``max_tokens``), where cached tokens count in full: an upper bound of the settled usage.
  ``tokens_per_call`` is therefore every input token of a call: measured, that is
  (JudgeInputTokens + JudgeCacheReadTokens + JudgeCacheWriteTokens) / JudgeCalls, since
  Bedrock's ``inputTokens`` counts only the uncached rest once caching is on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

CHARS_PER_TOKEN = 4.0  # English prose; code and CJK text have fewer characters per token
SECONDS_PER_MINUTE = 60
# Reference profile for the README table: the issue's ~1,500 tokens per judge call.
TABLE_TOKENS_PER_CALL = 1500
TABLE_RATES = (10, 50, 100, 400, 1000)


class JudgeQuotaError(ValueError):
    """The judge's need does not fit the configured Bedrock quota (one line)."""


@dataclass(frozen=True)
class BedrockQuota:
    """An account's quotas for one judge model in one region (from config)."""

    tokens_per_minute: int
    requests_per_minute: int


@dataclass(frozen=True)
class JudgeNeed:
    """What one function asks of its judge model at its target rate."""

    function: str
    model_id: str
    requests_per_minute: float
    tokens_per_minute: float


def judge_specs(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The judge specs a validated reward spec calls per sample (itself, or multi components)."""
    if spec.get("grader") == "judge":
        return [spec]
    if spec.get("grader") == "multi":
        return [c for component in spec.get("graders", {}).values() for c in judge_specs(component)]
    return []


@dataclass(frozen=True)
class JudgeTokens:
    """Bedrock tokens, input and output apart (one call, or every call of one sample)."""

    input: int
    output: int

    @property
    def total(self) -> int:
        return self.input + self.output

    def __add__(self, other: JudgeTokens) -> JudgeTokens:
        return JudgeTokens(self.input + other.input, self.output + other.output)


def estimate_input_tokens_per_call(spec: Mapping[str, Any]) -> int:
    """Upper-bound input tokens of one call of a validated judge spec: its largest request."""
    from reward_kit.graders.judge.prompt import max_request_chars  # pure; imports no AWS SDK

    return math.ceil(max_request_chars(spec) / CHARS_PER_TOKEN)


def estimate_output_tokens_per_call(spec: Mapping[str, Any]) -> int:
    """Output tokens Bedrock reserves for one call of a validated judge spec: ``max_tokens``."""
    return int(spec["max_tokens"])


def estimate_tokens_per_call(spec: Mapping[str, Any]) -> int:
    """Upper-bound tokens (input + output) per call of one validated judge spec (module docstring)."""
    return estimate_input_tokens_per_call(spec) + estimate_output_tokens_per_call(spec)


def call_tokens(judge: Mapping[str, Any], input_tokens: int | None = None,
                output_tokens: int | None = None) -> JudgeTokens:
    """One call of a judge spec: the configured halves, each estimated from the spec when None."""
    return JudgeTokens(
        input_tokens if input_tokens is not None else estimate_input_tokens_per_call(judge),
        output_tokens if output_tokens is not None else estimate_output_tokens_per_call(judge),
    )


def tokens_per_sample(spec: Mapping[str, Any], input_tokens_per_call: int | None = None,
                      output_tokens_per_call: int | None = None) -> JudgeTokens:
    """Tokens one sample costs: every judge component's call (configured or estimated halves)."""
    total = JudgeTokens(0, 0)
    for judge in judge_specs(spec):
        total += call_tokens(judge, input_tokens_per_call, output_tokens_per_call)
    return total


def cached_tokens_per_call(judge: Mapping[str, Any], model_id: str, input_tokens: int | None = None, *,
                           prefix_share: float | None = None, min_tokens_override: int | None = None) -> int:
    """Input tokens of one call behind the prompt-caching checkpoints the judge would place
    (``reward_kit.judge_prompt_cache``): the system prompt, estimated from the spec, plus the
    prompt and reference when ``prefix_share`` (their share, with the system prompt, of the
    call's input tokens: measured by the dry run) says how long they are; 0 when no
    checkpoint counts. The placement uses the judge's own rule on characters, taking
    ``CHARS_PER_TOKEN`` characters a token."""
    from reward_kit import judge_prompt_cache as prompt_cache
    from reward_kit.graders.judge.prompt import system_prompt

    support = prompt_cache.support_for(model_id, min_tokens_override)
    if support is None:
        return 0
    total = input_tokens if input_tokens is not None else estimate_input_tokens_per_call(judge)
    system_chars = len(system_prompt(judge))
    system_tokens = min(total, math.ceil(system_chars / CHARS_PER_TOKEN))
    prefix_tokens = system_tokens if prefix_share is None else max(system_tokens, min(total, round(prefix_share * total)))
    shared_chars = int((prefix_tokens - system_tokens) * CHARS_PER_TOKEN)
    plan = prompt_cache.checkpoints(support, system_chars, shared_chars)
    if plan.after_shared:
        return prefix_tokens
    return system_tokens if plan.after_system else 0


def cached_tokens_per_sample(spec: Mapping[str, Any], model_id: str, input_tokens_per_call: int | None = None, *,
                             prefix_share: float | None = None, min_tokens_override: int | None = None) -> int:
    """``cached_tokens_per_call`` summed over every judge call of a sample."""
    return sum(cached_tokens_per_call(judge, model_id, input_tokens_per_call, prefix_share=prefix_share,
                                      min_tokens_override=min_tokens_override) for judge in judge_specs(spec))


def judge_need(function: str, model_id: str, evaluations_per_second: float, calls_per_sample: int,
               tokens_per_sample_: int) -> JudgeNeed:
    samples_per_minute = evaluations_per_second * SECONDS_PER_MINUTE
    return JudgeNeed(function, model_id, samples_per_minute * calls_per_sample, samples_per_minute * tokens_per_sample_)


def quota_names(cross_region: bool) -> tuple[str, str]:
    """Service Quotas names (tokens, requests) for a model reached on demand or cross-region."""
    scope = "Cross-Region InvokeModel" if cross_region else "On-demand InvokeModel"  # Amazon Bedrock user guide: Quotas for Amazon Bedrock
    return f"{scope} tokens per minute", f"{scope} requests per minute"


def fmt(number: float) -> str:
    return f"{math.ceil(round(number, 6)):,}"


def check_quota(key_path: str, needs: Sequence[JudgeNeed], quota: BedrockQuota, *, cross_region: bool,
                where: str = "") -> None:
    """Raise JudgeQuotaError (one line, naming the key, the functions, the need and the quota to
    request) when the summed ``needs`` of one model exceed ``quota``."""
    tokens = sum(need.tokens_per_minute for need in needs)
    requests = sum(need.requests_per_minute for need in needs)
    tokens_name, requests_name = quota_names(cross_region)
    functions = ", ".join(need.function for need in needs)
    model_id = needs[0].model_id
    share = f"functions {functions} share it" if len(needs) > 1 else f"function {functions}"
    for metric, need, configured, quota_name in (
        ("tokens_per_minute", tokens, quota.tokens_per_minute, tokens_name),
        ("requests_per_minute", requests, quota.requests_per_minute, requests_name),
    ):
        if round(need, 6) > configured:
            raise JudgeQuotaError(
                f"{key_path}.{metric}: judge model {model_id!r}{where} needs {fmt(need)} {metric.replace('_', ' ')} "
                f"at the target rate ({share}) but the configured quota is {configured:,}; request "
                f"'{quota_name}' >= {fmt(need)} for {model_id} in Service Quotas and set it here, or lower "
                f"target_evaluations_per_second or the tokens per call (judge_input_tokens_per_call, "
                f"judge_output_tokens_per_call)"
            )


def group_by_model(needs: Iterable[JudgeNeed]) -> dict[str, list[JudgeNeed]]:
    grouped: dict[str, list[JudgeNeed]] = {}
    for need in needs:
        grouped.setdefault(need.model_id, []).append(need)
    return grouped


def judge_sizing_table(rates: Sequence[float] = TABLE_RATES, tokens_per_call: int = TABLE_TOKENS_PER_CALL,
                       calls_per_sample: int = 1) -> str:
    """The README judge table (markdown): Bedrock requests and tokens per minute by rate."""
    lines = [
        f"Judge profile: {tokens_per_call:,} tokens per call (input + output), {calls_per_sample} judge "
        "call(s) per sample; compare with the judge model's per-minute quotas in the account and region "
        "(On-demand for a model id, Cross-region for an inference profile id).",
        "",
        "| evaluations/s | judge requests/min | judge tokens/min |",
        "|---:|---:|---:|",
    ]
    for rate in rates:
        need = judge_need("table", "model", rate, calls_per_sample, tokens_per_call * calls_per_sample)
        rate_text = f"{rate:,.0f}" if float(rate).is_integer() else f"{rate:,g}"
        lines.append(f"| {rate_text} | {fmt(need.requests_per_minute)} | {fmt(need.tokens_per_minute)} |")
    return "\n".join(lines)
