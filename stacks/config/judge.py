"""The Bedrock judge of a function whose spec needs one: ``judge_*`` keys of a reward function."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from reward_kit.settings import JUDGE_CACHE_ENTRIES, JUDGE_MAX_CONCURRENCY, JUDGE_PROMPT_CACHE_MIN_TOKENS

from .errors import CHECKS, REGION_RE, REGION_RULE
from .model_ids import ACCEPTED_FORMS, GEOS, GLOBAL_GEO, model_id_problem

KEYS = (
    "judge_cache_entries",
    "judge_group_size",
    "judge_inference_profile_regions",
    "judge_input_tokens_per_call",
    "judge_max_concurrency",
    "judge_model_id",
    "judge_model_id_unchecked",
    "judge_output_tokens_per_call",
    "judge_prefix_share",
    "judge_prompt_cache_min_tokens",
    "judge_prompt_caching",
)
TOKEN_KEYS = ("judge_input_tokens_per_call", "judge_output_tokens_per_call")
MAX_TOKENS_PER_CALL = 1_000_000  # a sanity bound: far above any Bedrock model's context window
MAX_GROUP_SIZE = 4096  # samples per prompt in one RL step: far above any recipe's
# Geography prefixes of Bedrock cross-region inference profile ids ("us.amazon.nova-pro-v1:0").
INFERENCE_PROFILE_GEOS = GEOS
MODEL_ID_RE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:-[a-z0-9.]+)*(?::[a-z0-9.-]+)*")
MODEL_ID_RULE = (
    "a Bedrock model id such as 'amazon.nova-pro-v1:0' or an inference profile id such as 'us.amazon.nova-pro-v1:0'"
)


def is_inference_profile_id(model_id: str) -> bool:
    """True for cross-region inference profile ids like ``us.amazon.nova-pro-v1:0``."""
    return model_id.split(".", 1)[0] in INFERENCE_PROFILE_GEOS


def is_global_profile_id(model_id: str) -> bool:
    """True for global cross-region inference profile ids like ``global.amazon.nova-2-lite-v1:0``."""
    return model_id.startswith(f"{GLOBAL_GEO}.")


@dataclass(frozen=True)
class JudgeConfig:
    model_id: str
    inference_profile_regions: tuple[str, ...] = ()  # regions a cross-region profile routes to
    max_concurrency: int = JUDGE_MAX_CONCURRENCY.default  # parallel judge calls per invocation
    # Bedrock tokens of one judge call once measured (JudgeInputTokens with the cache read and
    # write tokens, and JudgeOutputTokens, over JudgeCalls; or the dry run), for the quota check
    # and the cost model alike; None: estimated from the spec, each half on its own
    # (stacks/judge_capacity.py).
    input_tokens_per_call: int | None = None
    output_tokens_per_call: int | None = None
    cache_entries: int | None = None  # per-container result cache (JUDGE_CACHE_ENTRIES); None: off
    # Bedrock prompt caching (reward_kit.judge_prompt_cache): on unless false; a minimum per
    # checkpoint for a model the table does not know (or to correct it).
    prompt_caching: bool = True
    prompt_cache_min_tokens: int | None = None
    # For the cost model only: responses judged per (prompt, reference) group, and the share of a
    # call's input tokens that is the cacheable prefix (system prompt, prompt and reference), as
    # the dry run measures them; None: 1 (no group) and the system prompt only (stacks/cost.py).
    group_size: int | None = None
    prefix_share: float | None = None

    @property
    def is_inference_profile(self) -> bool:
        return is_inference_profile_id(self.model_id)


def check_model_id(path: str, model_id: str, unchecked: Any) -> None:
    """The id's provider, prefix and version suffix are ones Bedrock uses, unless the team says the
    model is newer than this project's list (``judge_model_id_unchecked: true``)."""
    if CHECKS.boolean(f"{path}.judge_model_id_unchecked", unchecked):
        return
    problem = model_id_problem(model_id)
    if problem is not None:
        raise CHECKS.fail(f"{path}.judge_model_id", f"{model_id!r} {problem}; use {ACCEPTED_FORMS}; for a model "
                          "newer than this list, set judge_model_id_unchecked: true")


def reject_judge_keys(path: str, raw: Mapping[str, Any], kind: str) -> None:
    """A function whose spec needs no judge must not carry judge settings."""
    for key in KEYS:
        if raw.get(key) is not None:
            raise CHECKS.fail(f"{path}.{key}", f"only valid for kind 'rlaif', this function is kind {kind!r}")


def _inference_profile_regions(path: str, raw: Mapping[str, Any], model_id: str) -> tuple[str, ...]:
    """Every region a cross-region inference profile routes to (required for one, refused otherwise)."""
    raw_regions = raw.get("judge_inference_profile_regions")
    regions_path = f"{path}.judge_inference_profile_regions"
    # A global profile routes to any commercial region: its regions are optional (IAM allows the
    # region-less model ARN, see RewardFunction); a geographic profile lists them.
    if is_inference_profile_id(model_id) and not (is_global_profile_id(model_id) and raw_regions is None):
        if raw_regions is None:
            raise CHECKS.fail(
                regions_path,
                f"required when judge_model_id {model_id!r} is a cross-region inference profile: list every "
                "region the profile routes to, e.g. ['us-east-1', 'us-east-2', 'us-west-2']",
            )
        if not isinstance(raw_regions, list) or not raw_regions:
            raise CHECKS.fail(regions_path, "must be a non-empty list of region names", raw_regions)
        regions = tuple(
            CHECKS.pattern(f"{regions_path}[{i}]", region, REGION_RE, REGION_RULE)
            for i, region in enumerate(raw_regions)
        )
        if len(set(regions)) != len(regions):
            raise CHECKS.fail(regions_path, f"duplicate regions in {list(regions)}")
        return regions
    if raw_regions is not None:
        raise CHECKS.fail(
            regions_path,
            f"only valid when judge_model_id is a cross-region inference profile id (prefix one of "
            f"{list(INFERENCE_PROFILE_GEOS)}), got judge_model_id {model_id!r}",
        )
    return ()


def parse_judge(path: str, raw: Mapping[str, Any]) -> JudgeConfig:
    model_id = CHECKS.pattern(
        f"{path}.judge_model_id",
        CHECKS.required(path, raw, "judge_model_id",
                        "a Bedrock model or inference profile id for the judge, e.g. 'amazon.nova-pro-v1:0' "
                        "or 'us.amazon.nova-pro-v1:0'"),
        MODEL_ID_RE,
        MODEL_ID_RULE,
    )
    check_model_id(path, model_id, raw.get("judge_model_id_unchecked", False))
    regions = _inference_profile_regions(path, raw, model_id)
    concurrency = CHECKS.integer(
        f"{path}.judge_max_concurrency",
        raw.get("judge_max_concurrency", JUDGE_MAX_CONCURRENCY.default),
        ge=1,
        le=JUDGE_MAX_CONCURRENCY.maximum,
    )
    input_tokens, output_tokens = (
        None if raw.get(key) is None else CHECKS.integer(f"{path}.{key}", raw[key], ge=1, le=MAX_TOKENS_PER_CALL)
        for key in TOKEN_KEYS
    )
    cache_entries = raw.get("judge_cache_entries")
    if cache_entries is not None:
        cache_entries = CHECKS.integer(f"{path}.judge_cache_entries", cache_entries, ge=1,
                                       le=JUDGE_CACHE_ENTRIES.maximum)
    prompt_caching = CHECKS.boolean(f"{path}.judge_prompt_caching", raw.get("judge_prompt_caching", True))
    min_tokens = raw.get("judge_prompt_cache_min_tokens")
    if min_tokens is not None:
        min_tokens = CHECKS.integer(f"{path}.judge_prompt_cache_min_tokens", min_tokens, ge=1,
                                    le=JUDGE_PROMPT_CACHE_MIN_TOKENS.maximum)
    group_size = raw.get("judge_group_size")
    if group_size is not None:
        group_size = CHECKS.integer(f"{path}.judge_group_size", group_size, ge=1, le=MAX_GROUP_SIZE)
    prefix_share = raw.get("judge_prefix_share")
    if prefix_share is not None:
        prefix_share = CHECKS.number(f"{path}.judge_prefix_share", prefix_share, ge=0.0, le=1.0)
    return JudgeConfig(model_id=model_id, inference_profile_regions=regions, max_concurrency=concurrency,
                       input_tokens_per_call=input_tokens, output_tokens_per_call=output_tokens,
                       cache_entries=cache_entries, prompt_caching=prompt_caching,
                       prompt_cache_min_tokens=min_tokens, group_size=group_size, prefix_share=prefix_share)
