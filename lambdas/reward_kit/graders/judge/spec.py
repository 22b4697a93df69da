"""The ``judge`` grader's spec keys: checked and normalized (defaults filled, criterion weights
summed to 1). Pure and standard library only: the CDK app validates specs at synth time.
"""

from __future__ import annotations

from typing import Any, Mapping

from reward_kit import spec_checks
from reward_kit.spec_checks import checks

__all__ = ["validate"]

# judge (RLAIF) defaults. The model id is not part of the spec: it comes from JUDGE_MODEL_ID,
# which the CDK stack sets together with the IAM policy scoped to that model.
JUDGE_DEFAULT_MAX_SCORE = 10  # integer 0..10 is more reliable from an LLM than a float 0..1
JUDGE_DEFAULT_MAX_TOKENS = 512
JUDGE_DEFAULT_TEMPERATURE = 0.0
JUDGE_DEFAULT_MAX_RESPONSE_CHARS = 20_000


def validate(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Check the spec's ``judge`` keys at ``path`` and write them, normalized, to ``out``."""
    if "rubric" not in spec:
        raise checks.fail(f"{path}.rubric", "required (a non-empty string telling the judge what a good response is)")
    out["rubric"] = checks.string(f"{path}.rubric", spec["rubric"])

    criteria = spec.get("criteria")
    out["criteria"] = None if criteria is None else _criteria(f"{path}.criteria", criteria)

    max_score = checks.integer(f"{path}.max_score", spec.get("max_score", JUDGE_DEFAULT_MAX_SCORE), ge=1)
    if max_score > 100:
        raise checks.fail(f"{path}.max_score", "must be <= 100 (the judge answers with an integer 0..max_score)", max_score)
    out["max_score"] = max_score
    out["include_reference"] = checks.boolean(f"{path}.include_reference", spec.get("include_reference", True))
    out["include_prompt"] = checks.boolean(f"{path}.include_prompt", spec.get("include_prompt", True))
    out["max_tokens"] = checks.integer(f"{path}.max_tokens", spec.get("max_tokens", JUDGE_DEFAULT_MAX_TOKENS), ge=16)
    out["temperature"] = checks.number(
        f"{path}.temperature", spec.get("temperature", JUDGE_DEFAULT_TEMPERATURE), ge=0, le=1
    )
    out["max_response_chars"] = checks.integer(
        f"{path}.max_response_chars", spec.get("max_response_chars", JUDGE_DEFAULT_MAX_RESPONSE_CHARS), ge=100
    )


def _criteria(path: str, criteria: Any) -> dict[str, dict[str, Any]]:
    """{name: description} or {name: {"description", "weight"}} as {name: {"description", "weight"}},
    the weights summed to 1."""
    criteria = checks.object(path, criteria)
    if not criteria:
        raise checks.fail(path, "must name at least one criterion (or be omitted)")
    normalized = {name: _criterion(path, name, criterion) for name, criterion in criteria.items()}
    total = sum(item["weight"] for item in normalized.values())
    if total <= 0:
        raise checks.fail(path, "criterion weights must sum to more than 0")
    for item in normalized.values():
        item["weight"] = item["weight"] / total
    return normalized


def _criterion(path: str, name: Any, criterion: Any) -> dict[str, Any]:
    spec_checks.name(path, name)
    item_path = f"{path}.{name}"
    if isinstance(criterion, str):
        description_path, criterion = item_path, {"description": criterion}
    elif isinstance(criterion, Mapping):
        checks.no_unknown_keys(item_path, criterion, ("description", "weight"))
        description_path = f"{item_path}.description"
    else:
        raise checks.fail(
            item_path,
            'must be a description string or an object {"description": ..., "weight": ...}',
            criterion,
        )
    return {
        "description": checks.string(description_path, criterion.get("description")),
        "weight": checks.number(f"{item_path}.weight", criterion.get("weight", 1.0), ge=0),
    }
