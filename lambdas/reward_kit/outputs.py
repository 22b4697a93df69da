"""The Nova RFT reward Lambda contract, response side: one output per sample, built by
``OutputBuilder`` for a spec's reward dimensions and output range. No grading here.

Output per sample (values already in the spec's range, rounded to 6 decimals)::

    {"id": ..., "aggregate_reward_score": 0.85,
     "metrics_list": [{"name": "accuracy", "value": 0.85, "type": "Reward"},
                      {"name": "failure_no_answer", "value": 1.0, "type": "Metric"}]}

Outputs never echo response or reference text. ``reward_kit.response_limit`` trims them to
Lambda's response limit.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from reward_kit.reasons import failure_metric

__all__ = ["OutputBuilder"]

_EMPTY_METADATA: Mapping[str, Any] = {}


class OutputBuilder:
    """Builds contract outputs for one spec: fixed reward dimensions, fixed output range.

    Graders work on the canonical 0..1 scale; ``scale`` clamps, replaces NaN/inf with the
    minimum, maps linearly to [lo, hi] and rounds to 6 decimals.
    """

    __slots__ = ("dimensions", "lo", "hi", "_span", "_single")

    def __init__(self, dimensions: Sequence[str], value_range: Sequence[float] = (0.0, 1.0)) -> None:
        if not dimensions:
            raise ValueError("at least one reward dimension is required")
        lo, hi = float(value_range[0]), float(value_range[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"invalid output range {list(value_range)!r}")
        self.dimensions = tuple(dimensions)
        self.lo, self.hi = lo, hi
        self._span = hi - lo
        self._single = len(self.dimensions) == 1

    def scale(self, canonical: Any) -> float:
        """Map a canonical 0..1 value to the output range; anything non-finite -> minimum."""
        if isinstance(canonical, float):
            value = canonical
        elif isinstance(canonical, (str, bytes, bool)) or canonical is None:
            return self.lo  # a grader bug, not a score: never parse text into a reward
        else:
            try:
                value = float(canonical)  # int, numpy scalars, Fraction ...
            except (TypeError, ValueError, OverflowError):
                return self.lo
        if not value > 0.0:  # also catches NaN
            return self.lo
        if value >= 1.0:  # also catches +inf
            return self.hi
        return min(self.hi, max(self.lo, round(self.lo + value * self._span, 6)))

    def graded(
        self,
        sample_id: str | int,
        score: Any,
        rewards: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Output for a graded sample. ``rewards`` outside the spec's dimensions are
        reported as diagnostics so the set of Reward dimensions stays stable."""
        scale = self.scale
        rewards = rewards or _EMPTY_METADATA
        metrics_list = []
        matched = 0
        for dimension in self.dimensions:
            if dimension in rewards:
                value = rewards[dimension]
                matched += 1
            else:
                # A single grader may report only `score`; a missing multi component earns nothing.
                value = score if self._single else 0.0
            metrics_list.append({"name": dimension, "value": scale(value), "type": "Reward"})
        if len(rewards) > matched:  # some rewards are not dimensions: the common case skips this
            for name, value in rewards.items():
                if name not in self.dimensions:
                    _append_diagnostic(metrics_list, name, value)
        if metrics:
            for name, value in metrics.items():
                _append_diagnostic(metrics_list, name, value)
        if reason:
            metrics_list.append({"name": failure_metric(reason), "value": 1.0, "type": "Metric"})
        return {"id": sample_id, "aggregate_reward_score": scale(score), "metrics_list": metrics_list}

    def failed(self, sample_id: str | int, reason: str) -> dict[str, Any]:
        """Output for a sample that could not be graded: minimum everywhere, plus the reason."""
        lo = self.lo
        metrics_list = [{"name": dimension, "value": lo, "type": "Reward"} for dimension in self.dimensions]
        metrics_list.append({"name": failure_metric(reason), "value": 1.0, "type": "Metric"})
        return {"id": sample_id, "aggregate_reward_score": lo, "metrics_list": metrics_list}


def _append_diagnostic(metrics_list: list[dict[str, Any]], name: Any, value: Any) -> None:
    # Diagnostics are not range-mapped, but must be finite numbers (NaN is not valid JSON).
    if type(value) is float and type(name) is str and (value == 0.0 or value == 1.0):
        metrics_list.append({"name": name, "value": value, "type": "Metric"})  # 0/1 flags: hot path
        return
    if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    value = float(value)
    if math.isfinite(value):
        metrics_list.append({"name": name, "value": round(value, 6), "type": "Metric"})


