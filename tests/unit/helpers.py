"""Builders shared by the runtime unit tests (import with ``from .helpers import ...``)."""

from __future__ import annotations

from typing import Any

from reward_kit.graders.base import GradeInput, GradeResult


def make_sample(
    sample_id: Any = "s1",
    response: Any = "The answer is \\boxed{positive}",
    reference: Any = "positive",
    *,
    user: str = "How does this review feel?",
    role: str = "assistant",
    where: str = "metadata",  # or "top", or anything else for no reference at all
    **extra: Any,
) -> dict[str, Any]:
    """A well-formed Nova reward sample; pass keyword overrides to break it."""
    sample: dict[str, Any] = {
        "id": sample_id,
        "messages": [{"role": "user", "content": user}, {"role": role, "content": response}],
    }
    if where == "metadata":
        sample["metadata"] = {"reference_answer": reference}
    elif where == "top":
        sample["reference_answer"] = reference
    sample.update(extra)
    return sample


class RecordingGrader:
    """Scores 1.0 when the reference string occurs in the response; records every call."""

    def __init__(self, name: str = "label") -> None:
        self.name = name
        self.calls: list[GradeInput] = []

    def __call__(self, sample: GradeInput) -> GradeResult:
        self.calls.append(sample)
        score = 1.0 if str(sample.reference) in sample.response else 0.0
        return GradeResult(score=score, rewards={self.name: score}, metrics={"seen": 1.0})


LABEL_SPEC = {"grader": "label", "labels": ["positive", "negative", "neutral"]}
