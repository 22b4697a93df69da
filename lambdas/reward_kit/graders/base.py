"""The grader interface: small pure functions from (final answer text, reference) to a score.

Graders work on the canonical 0..1 scale; the contract layer maps to the spec's output range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from reward_kit.extraction import clamp01


# Not frozen: these are built once per sample on the hot path, and frozen dataclasses pay
# for object.__setattr__ on every field. Treat them as immutable all the same.
@dataclass(slots=True)
class GradeResult:
    """What one grader says about one response.

    score       -- canonical reward in [0, 1].
    rewards     -- reward dimensions (reported as ``type: Reward``), each in [0, 1].
                   A single grader reports one dimension named after the spec's ``name``
                   (default: the grader kind); ``multi`` reports one per component.
    metrics     -- diagnostics (reported as ``type: Metric``), any finite floats.
    reason      -- a failure/diagnostic reason code (snake_case) when the response earned
                   no correctness credit for a known cause, e.g. ``no_answer``,
                   ``multiple_answers``, ``invalid_json``; None when graded normally.
    """

    score: float
    rewards: Mapping[str, float] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    reason: str | None = None


@dataclass(slots=True)
class GradeInput:
    """Everything a grader may look at for one sample (already parsed by the contract layer).

    response   -- text of the final assistant message only (never the user turn).
    reference  -- the reference answer as it arrived: dict, str, number, list ...
    metadata   -- the sample's metadata dict (may be empty); never contains the response.
    prompt     -- text of the last user message before the response, "" when absent or
                  malformed. Filled only for graders whose ``wants_prompt`` attribute is true
                  (the judge); it is context, never something to grade as an answer.
    """

    response: str
    reference: Any
    metadata: Mapping[str, Any]
    prompt: str = ""


# A grader is built once per spec (at cold start) and then called per sample. Optional
# attributes the Scorer reads (see reward_kit.scoring): concurrency, timeout_reason,
# requires_reference, wants_prompt.
Grader = Callable[[GradeInput], GradeResult]
# A factory takes the *validated* spec dict of one grader and returns a Grader.
GraderFactory = Callable[[Mapping[str, Any]], Grader]


def single_result(name: str, score: float, reason: str | None, metrics: Mapping[str, float]) -> GradeResult:
    """The result of a grader with one Reward dimension, ``name``: score clamped to [0, 1], NaN -> 0.

    Graders bind their dimension once in ``build()``: ``result = partial(single_result, name)``.
    """
    score = clamp01(score)
    return GradeResult(score=score, rewards={name: score}, metrics=metrics, reason=reason)


def answer_result(name: str, score: float, reason: str | None, found: bool, format_ok: bool) -> GradeResult:
    """``single_result`` with the metrics of the graders that extract one answer (label, math):
    ``answer_found`` (an answer was graded) and ``format_ok`` (it was in the expected format)."""
    return single_result(name, score, reason, {"answer_found": float(found), "format_ok": float(format_ok)})
