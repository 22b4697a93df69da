"""Bedrock prompt caching for the judge: which models support it, their minimum prefix per
checkpoint, and where the judge may put its two checkpoints. One table, read by the judge at
run time and by the CDK app's cost model (stdlib only).

A Converse request marks the end of a reusable prefix with a ``{"cachePoint": {"type":
"default"}}`` block (Amazon Bedrock user guide, "Prompt caching for faster model inference").
A later request that starts with the same prefix within the TTL (5 minutes, reset on every
hit) reads it from the cache at a reduced price; the first one writes it. A checkpoint counts
only when the whole prefix before it reaches the model's minimum, and the n-th checkpoint
needs n times that minimum ("your first cache checkpoint can be defined after 1,024 tokens
and the second after 2,048" for Claude 3.7 Sonnet); one placed earlier is accepted and
caches nothing. The judge's request is ordered for reuse:

1. the system prompt (rubric, criteria, rules, reply format): the same for every call of the
   function; checkpoint 1 after it;
2. the user's prompt and the reference answer: the same for every response of one GRPO
   group; checkpoint 2 after them;
3. the response and the closing instruction: different in every call.

Token counts are not known before the call, so the minimum is checked against a lower
bound: characters / ``MIN_CHECK_CHARS_PER_TOKEN`` (6). English prose averages about 4
characters per token and text in other scripts fewer, so the bound undercounts; a prefix a
little above the minimum may then go without its checkpoint (it is paid in full, as without
caching), but a checkpoint is never placed where the model would ignore it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

__all__ = [
    "NO_CHECKPOINTS",
    "CachePlan",
    "CacheSupport",
    "MIN_CHECK_CHARS_PER_TOKEN",
    "SUPPORT",
    "base_model_id",
    "cache_point",
    "checkpoints",
    "min_tokens_lower_bound",
    "support_for",
]

# Lower bound of tokens per character for the minimum check (module docstring).
MIN_CHECK_CHARS_PER_TOKEN = 6.0
# Geography prefixes of cross-region inference profile ids ("us.amazon.nova-pro-v1:0").
_PROFILE_GEOS = frozenset({"apac", "au", "ca", "eu", "global", "jp", "us", "us-gov"})


@dataclass(frozen=True)
class CacheSupport:
    """Prompt caching of one model: the minimum prefix per checkpoint, in tokens."""

    min_tokens_per_checkpoint: int
    max_checkpoints: int = 4


# Sources (read 2026-12): Amazon Nova Micro, Lite, Pro and Premier 1,000 tokens (system and
# messages), Claude 3.7 Sonnet 1,024 and Claude 3.5 Haiku 2,048: the Amazon Bedrock user
# guide's supported-models table ("Prompt caching for faster model inference"); Claude
# Sonnet 4 and 4.5, Opus 4 and 4.1 1,024 and Claude Haiku 4.5 4,096: Anthropic's prompt
# caching documentation (Bedrock's Haiku 4.5 model card gives the same 4,096). 4 checkpoints
# per request each. A model not listed gets no checkpoint; a deployment can declare one (or
# another minimum) with the judge_prompt_cache_min_tokens key (JUDGE_PROMPT_CACHE_MIN_TOKENS).
SUPPORT: Mapping[str, CacheSupport] = MappingProxyType(
    {
        "amazon.nova-micro-v1:0": CacheSupport(1000),
        "amazon.nova-lite-v1:0": CacheSupport(1000),
        "amazon.nova-pro-v1:0": CacheSupport(1000),
        "amazon.nova-premier-v1:0": CacheSupport(1000),
        "anthropic.claude-3-7-sonnet-20250219-v1:0": CacheSupport(1024),
        "anthropic.claude-3-5-haiku-20241022-v1:0": CacheSupport(2048),
        "anthropic.claude-sonnet-4-20250514-v1:0": CacheSupport(1024),
        "anthropic.claude-sonnet-4-5-20250929-v1:0": CacheSupport(1024),
        "anthropic.claude-opus-4-20250514-v1:0": CacheSupport(1024),
        "anthropic.claude-opus-4-1-20250805-v1:0": CacheSupport(1024),
        "anthropic.claude-haiku-4-5-20251001-v1:0": CacheSupport(4096),
    }
)


def cache_point() -> dict[str, dict[str, str]]:
    """The Converse content block that ends a cacheable prefix (botocore: CachePointBlock)."""
    return {"cachePoint": {"type": "default"}}


def base_model_id(model_id: str) -> str:
    """The foundation model id of a model or cross-region inference profile id."""
    geo, dot, rest = model_id.partition(".")
    return rest if dot and geo in _PROFILE_GEOS else model_id


def support_for(model_id: str, min_tokens_override: int | None = None) -> CacheSupport | None:
    """The model's caching support (None: no checkpoints); an override declares support with
    that minimum, for models the table does not know yet."""
    if min_tokens_override is not None:
        return CacheSupport(min_tokens_override)
    return SUPPORT.get(base_model_id(model_id))


def min_tokens_lower_bound(chars: int) -> int:
    """Tokens that ``chars`` characters hold at least (module docstring)."""
    return int(chars // MIN_CHECK_CHARS_PER_TOKEN)


@dataclass(frozen=True)
class CachePlan:
    """Where the checkpoints of one request go."""

    after_system: bool
    after_shared: bool


NO_CHECKPOINTS = CachePlan(False, False)


def checkpoints(support: CacheSupport | None, system_chars: int, shared_chars: int) -> CachePlan:
    """Checkpoints for a request whose system prompt and shared block (prompt + reference)
    have these lengths: each only where the prefix before it reaches n times the minimum
    (n = its place among the checkpoints placed), counted with the lower bound."""
    if support is None:
        return NO_CHECKPOINTS
    minimum = support.min_tokens_per_checkpoint
    after_system = min_tokens_lower_bound(system_chars) >= minimum
    placed = 1 if after_system else 0
    after_shared = (
        shared_chars > 0
        and placed < support.max_checkpoints
        and min_tokens_lower_bound(system_chars + shared_chars) >= (placed + 1) * minimum
    )
    return CachePlan(after_system, after_shared)
