"""The grader interface: small pure functions from (final answer text, reference) to a score.

Graders work on the canonical 0..1 scale; the contract layer maps to the spec's output range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Iterable, Mapping

from reward_kit.extraction import clamp01
from reward_kit.invocation_record import MetricSource
from reward_kit.reasons import GRADER_TIMEOUT


class InfrastructureError(RuntimeError):
    """The grader cannot grade at all (e.g. the code executor is throttled, missing or
    misconfigured): the Scorer lets it through and the invocation fails, so the job retries and
    the errors alarm fires, instead of training on zeros."""


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
                  malformed. Filled only for graders whose traits say ``wants_prompt``
                  (the judge); it is context, never something to grade as an answer.
    """

    response: str
    reference: Any
    metadata: Mapping[str, Any]
    prompt: str = ""


# A grader is built once per spec (at cold start) and then called per sample; its
# GraderTraits (below) tell the Scorer how to call it.
Grader = Callable[[GradeInput], GradeResult]

_REASON_RE = re.compile(r"[a-z0-9_]{1,64}")  # reason codes become metric names


@dataclass(frozen=True)
class Isolation:
    """How a grader whose cost the input controls runs in a killable worker process
    (``reward_kit.isolation``; ``build_grader`` wraps it).

    time_limit     -- the grader's own limit per sample, in seconds (the invocation's deadline
                      may cut it shorter).
    timeout_result -- its result for a sample that ran out of time (the worker was killed).
    error_result   -- its result for a sample whose worker died (e.g. out of memory).
    warmup         -- a sample graded once in the handler's process when the grader is built,
                      so that the workers forked later start warm (math-verify builds its
                      parsers on the first parse); None: nothing to warm.
    """

    time_limit: float
    timeout_result: Callable[[], GradeResult]
    error_result: Callable[[], GradeResult]
    warmup: GradeInput | None = None


@dataclass(frozen=True)
class GraderTraits:
    """How the Scorer calls a grader (read once, when the Scorer is built).

    concurrency        -- > 1: the grade calls of one event run in a thread pool of that size
                          (graders that block on I/O, the judge); 1: a plain sequential loop.
    timeout_reason     -- reason given to samples not graded before the deadline.
    requires_reference -- False: a sample without a reference answer is graded anyway
                          (reference None) instead of failing with ``missing_reference``.
    wants_prompt       -- True: the contract layer also extracts the last user message
                          before the response (``GradeInput.prompt``).
    isolation          -- set: ``build_grader`` runs the grader in a killable worker process.
    isolated           -- the grader (or a component) runs in worker processes: the Scorer
                          reaps them after every event (set by the wrapper, combined by multi).
    metrics            -- the grader's own per-invocation metric group (e.g. the judge's calls,
                          latency, tokens): called once per invocation, after scoring, it returns
                          that invocation's ``reward_kit.invocation_record.Metric`` objects (and
                          resets its counters); they join the invocation's one log record.
    group_key          -- set: samples with equal keys share work (the judge: one prompt and
                          reference, whose request prefix Bedrock caches); the Scorer's thread
                          pool starts the first sample of every group before any group's second.
    """

    concurrency: int = 1
    timeout_reason: str = GRADER_TIMEOUT
    requires_reference: bool = True
    wants_prompt: bool = False
    isolation: Isolation | None = None
    isolated: bool = False
    metrics: MetricSource | None = None
    group_key: Callable[[GradeInput], Hashable] | None = None

    def __post_init__(self) -> None:
        if type(self.concurrency) is not int or self.concurrency < 1:
            raise ValueError(f"GraderTraits.concurrency: must be an integer >= 1, got {self.concurrency!r}")
        if not (type(self.timeout_reason) is str and _REASON_RE.fullmatch(self.timeout_reason)):
            raise ValueError(f"GraderTraits.timeout_reason: must be a snake_case code, got {self.timeout_reason!r}")

    @classmethod
    def combine(cls, parts: Iterable[GraderTraits]) -> GraderTraits:
        """Traits of graders run one after the other on each sample (``multi``): as concurrent
        as the most concurrent part, the first non-default timeout reason, a reference when
        any part requires one, the prompt when any part wants it, isolated when any part is
        (each part is wrapped on its own, so the whole needs no isolation of its own), every
        part's metrics, the group keys of the parts that have one."""
        parts = list(parts)
        reasons = [p.timeout_reason for p in parts if p.timeout_reason != GRADER_TIMEOUT]
        sources = [p.metrics for p in parts if p.metrics is not None]
        keys = [p.group_key for p in parts if p.group_key is not None]
        return cls(
            concurrency=max((p.concurrency for p in parts), default=1),
            timeout_reason=reasons[0] if reasons else GRADER_TIMEOUT,
            requires_reference=any(p.requires_reference for p in parts),
            wants_prompt=any(p.wants_prompt for p in parts),
            isolated=any(p.isolated for p in parts),
            metrics=(lambda: [m for source in sources for m in source()]) if sources else None,
            group_key=(keys[0] if len(keys) == 1 else (lambda sample: tuple(key(sample) for key in keys)))
            if keys else None,
        )


DEFAULT_TRAITS = GraderTraits()
_TRAITS_ATTRIBUTE = "traits"


def with_traits(grader: Grader, traits: GraderTraits) -> Grader:
    """Attach ``traits`` to ``grader`` (a function or an object) and return it."""
    setattr(grader, _TRAITS_ATTRIBUTE, traits)
    return grader


def traits_of(grader: Grader) -> GraderTraits:
    """The traits attached with ``with_traits`` (or a class attribute), else the defaults."""
    traits = getattr(grader, _TRAITS_ATTRIBUTE, DEFAULT_TRAITS)
    return traits if isinstance(traits, GraderTraits) else DEFAULT_TRAITS
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
