"""The account's Bedrock quotas for judge models: ``environments.<env>.bedrock_quotas``.

    "bedrock_quotas": {"us.amazon.nova-pro-v1:0": {"tokens_per_minute": 4000000, "requests_per_minute": 2000}}

One entry per judge model id the environment's rlaif functions use, with the account's
per-minute quotas for it in the environment's region: the *Cross-Region* InvokeModel quotas
for an inference profile id, the *On-demand* ones for a model id (Amazon Bedrock user guide:
Quotas for Amazon Bedrock).
The judge sizing model (``stacks/judge_capacity.py``) checks every function's need against
them at synth; functions sharing a model in one account and region are added up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from stacks import judge_capacity
from stacks.judge_capacity import BedrockQuota, JudgeNeed

from .errors import CHECKS, ConfigError
from .judge import MODEL_ID_RE, MODEL_ID_RULE, is_inference_profile_id

KEYS = ("bedrock_quotas",)
QUOTA_KEYS = ("requests_per_minute", "tokens_per_minute")


@dataclass(frozen=True)
class BedrockQuotasConfig:
    quotas: tuple[tuple[str, BedrockQuota], ...] = ()  # (judge model id, its quotas)

    def for_model(self, model_id: str) -> BedrockQuota | None:
        return next((quota for model, quota in self.quotas if model == model_id), None)


def parse_bedrock_quotas(path: str, raw: Mapping[str, Any]) -> BedrockQuotasConfig:
    raw_quotas = raw.get("bedrock_quotas")
    if raw_quotas is None:
        return BedrockQuotasConfig()
    path = f"{path}.bedrock_quotas"
    quotas = []
    for model_id, raw_quota in CHECKS.object(path, raw_quotas).items():
        quota_path = f"{path}.{model_id}"
        if not MODEL_ID_RE.fullmatch(model_id):
            raise CHECKS.fail(quota_path, f"keys must be judge model ids: {MODEL_ID_RULE}")
        raw_quota = CHECKS.object(quota_path, raw_quota)
        CHECKS.no_unknown_keys(quota_path, raw_quota, QUOTA_KEYS)
        values = {
            key: CHECKS.integer(f"{quota_path}.{key}", CHECKS.required(
                quota_path, raw_quota, key, f"the account's {key.replace('_', ' ')} quota for {model_id}"), ge=1)
            for key in QUOTA_KEYS
        }
        quotas.append((model_id, BedrockQuota(**values)))
    return BedrockQuotasConfig(tuple(quotas))


def check_judge_quotas(path: str, needs: Iterable[JudgeNeed], quotas: BedrockQuotasConfig, *,
                       where: str = "") -> None:
    """Fail (one line at ``path``.bedrock_quotas...) when a judge model has no configured quota,
    or when the summed needs of the functions using it exceed it."""
    for model_id, model_needs in judge_capacity.group_by_model(needs).items():
        cross_region = is_inference_profile_id(model_id)
        quota = quotas.for_model(model_id)
        if quota is None:
            tokens_name, requests_name = judge_capacity.quota_names(cross_region)
            functions = ", ".join(need.function for need in model_needs)
            requests = sum(need.requests_per_minute for need in model_needs)
            tokens = sum(need.tokens_per_minute for need in model_needs)
            raise CHECKS.fail(
                f"{path}.bedrock_quotas",
                f"no quota configured for judge model {model_id!r}{where} (used by {functions}, needing "
                f"{judge_capacity.fmt(requests)} requests and {judge_capacity.fmt(tokens)} tokens per minute at the "
                f"target rate): add "
                f'"{model_id}": {{"tokens_per_minute": N, "requests_per_minute": N}} with the '
                f"account's '{tokens_name}' and '{requests_name}' for {model_id}",
            )
        try:
            judge_capacity.check_quota(f"{path}.bedrock_quotas.{model_id}", model_needs, quota,
                                       cross_region=cross_region, where=where)
        except judge_capacity.JudgeQuotaError as exc:
            raise ConfigError(str(exc)) from None
