"""The judge's configuration from the environment the deployment sets: the model, parallel
calls, the result cache and prompt caching. Errors are ``JudgeConfigError`` naming the variable.
"""

from __future__ import annotations

from reward_kit import judge_prompt_cache as prompt_cache
from reward_kit import names, settings

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "JudgeConfigError",
    "cache_entries",
    "max_concurrency",
    "model_id_from_env",
    "prompt_cache_support",
]

DEFAULT_MAX_CONCURRENCY = settings.JUDGE_MAX_CONCURRENCY.default


class JudgeConfigError(ValueError):
    """The judge cannot be built from the environment (JUDGE_MODEL_ID, JUDGE_MAX_CONCURRENCY)."""


def model_id_from_env() -> str:
    model_id = settings.JUDGE_MODEL_ID.read()
    if model_id is None:
        raise JudgeConfigError(
            f"{names.ENV_JUDGE_MODEL_ID}: not set; the judge grader needs a Bedrock model or inference "
            "profile id such as 'us.amazon.nova-pro-v1:0' (the CDK stack sets it for rlaif functions)"
        )
    return model_id


def max_concurrency() -> int:
    """Parallel judge calls per invocation, from JUDGE_MAX_CONCURRENCY (default 16)."""
    return settings.JUDGE_MAX_CONCURRENCY.read(error=JudgeConfigError)


def cache_entries() -> int:
    """Per-container result cache size from JUDGE_CACHE_ENTRIES (unset or blank: 0, off)."""
    return settings.JUDGE_CACHE_ENTRIES.read(error=JudgeConfigError)


def prompt_cache_support(model_id: str) -> prompt_cache.CacheSupport | None:
    """Bedrock prompt caching for this model from JUDGE_PROMPT_CACHING (off: None) and
    JUDGE_PROMPT_CACHE_MIN_TOKENS (a minimum for models the table does not list)."""
    if not settings.JUDGE_PROMPT_CACHING.read(error=JudgeConfigError):
        return None
    override = settings.JUDGE_PROMPT_CACHE_MIN_TOKENS.read(error=JudgeConfigError)
    return prompt_cache.support_for(model_id, override or None)
