"""Score a whole reward event with one grader: the contract layer plus a grader, no AWS.

Used by the Lambda handler, the dry run and the benchmark::

    scorer = Scorer(spec)               # validates the spec (SpecError), builds the grader once
    result = scorer.score_event(event)  # EventError if event is not a list; never raises otherwise
    result.outputs    # one contract output per input sample, in input order
    result.failures   # Counter: reason code -> samples (contract failures and grader reasons)
    result.values     # "aggregate" and each reward dimension -> per-sample values (output range)

The per-sample path is deliberately plain (no copies, no serialization, no logging): it
runs for every one of the ~1,000 samples an invocation may carry.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

from reward_kit.contract import (
    DEFAULT_MAX_RESPONSE_CHARS,
    GRADER_ERROR,
    OutputBuilder,
    ParsedSample,
    parse_event,
)
from reward_kit.graders.base import Grader, GradeInput
from reward_kit.spec import output_range, reward_dimensions, validate_spec

__all__ = ["AGGREGATE", "BatchResult", "Scorer"]

AGGREGATE = "aggregate"  # key of the aggregate reward in BatchResult.values
_REASON_RE = re.compile(r"[a-z0-9_]{1,64}")  # snake_case reason codes, as graders promise


@dataclass
class BatchResult:
    """Everything one scored event produced; lists are in input order."""

    outputs: list[dict[str, Any]]
    failures: Counter[str]
    values: dict[str, list[float]]
    samples: list[ParsedSample] = field(default_factory=list, repr=False)
    failed_samples: int = 0  # samples with any failure reason (contract or grader)

    @property
    def sample_count(self) -> int:
        return len(self.outputs)

    @property
    def mean_aggregate(self) -> float | None:
        values = self.values[AGGREGATE]
        return sum(values) / len(values) if values else None


class Scorer:
    """A validated spec, its grader and its output builder, built once and reused."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        *,
        grader: Grader | None = None,
        max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS,
        key: str = "REWARD_SPEC",
    ) -> None:
        # validate_spec is idempotent, so an already-validated spec passes through unchanged.
        self.spec = validate_spec(spec, key=key)
        self.dimensions = reward_dimensions(self.spec)
        self.range = output_range(self.spec)
        self.builder = OutputBuilder(self.dimensions, self.range)
        self.max_response_chars = int(max_response_chars)
        if grader is None:
            from reward_kit.graders import build_grader  # lazy: grader modules load their deps

            grader = build_grader(self.spec)
        self.grader = grader

    def score_event(self, event: Any) -> BatchResult:
        """Score every sample of an event; one output per sample, in input order."""
        samples = parse_event(event, self.max_response_chars)
        builder = self.builder
        grader = self.grader
        dimensions = self.dimensions
        outputs: list[dict[str, Any]] = []
        failures: Counter[str] = Counter()
        aggregate_values: list[float] = []
        dimension_values: list[list[float]] = [[] for _ in dimensions]
        failed_samples = 0

        for sample in samples:
            reason = sample.failure
            if reason is not None:
                output = builder.failed(sample.id, reason)
            else:
                try:
                    result = grader(GradeInput(sample.response, sample.reference, sample.metadata))  # type: ignore[arg-type]
                    reason = result.reason
                    if reason is not None and not (type(reason) is str and _REASON_RE.fullmatch(reason)):
                        reason = GRADER_ERROR  # reasons become metric names: keep them clean
                    output = builder.graded(sample.id, result.score, result.rewards, result.metrics, reason)
                except Exception:  # a grader bug must cost one sample, not the batch
                    reason = GRADER_ERROR
                    output = builder.failed(sample.id, reason)
            if reason is not None:
                failures[reason] += 1
                failed_samples += 1
            outputs.append(output)
            aggregate_values.append(output["aggregate_reward_score"])
            # The first len(dimensions) entries of metrics_list are the Reward dimensions, in order.
            metrics_list = output["metrics_list"]
            for index, values in enumerate(dimension_values):
                values.append(metrics_list[index]["value"])

        values = {AGGREGATE: aggregate_values}
        for dimension, per_sample in zip(dimensions, dimension_values):
            values[dimension] = per_sample
        return BatchResult(outputs, failures, values, samples, failed_samples)

    def score_text(self, response: Any, reference: Any, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Score one bare (response, reference) pair; the output carries the id ``"0"``.

        Used by adapters (VeRL/TRL) that have no Nova event; the same contract checks apply,
        and anything but a string response is ``invalid_content`` (no content-block parsing).
        """
        sample = {
            "id": "0",
            "messages": [{"role": "assistant", "content": response if isinstance(response, str) else None}],
            "metadata": {**(metadata or {}), "reference_answer": reference},
        }
        return self.score_event([sample]).outputs[0]
