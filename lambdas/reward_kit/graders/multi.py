"""``multi`` grader: a weighted sum of component graders, with gates and a length penalty.

- Each component is reported as its own Reward dimension (its key), value in [0, 1].
- Gates: ``gates: {x: {"on": y, "min": m}}`` credits ``x`` only when ``y``'s own score is >= m
  (e.g. format credit only for correct answers); the reported value of ``x`` is the gated one.
- ``length_penalty`` is DAPO's soft overlong penalty on the response length in characters,
  L = max_chars, C = buffer_chars: len <= L-C -> 0; L-C < len <= L -> linear down to -1;
  len > L -> -1. ``weight`` x penalty is added to the weighted sum, then clamped to [0, 1];
  the applied amount is reported as the ``length_penalty`` Metric.
- Reason: the first reason among correctness components (``grades_correctness`` in
  ``reward_kit.kinds``: label, numeric, math, json_schema), else the first among the others,
  in spec order.
Format-only credit cannot reach full marks unless the spec puts all the weight on format.

Traits (``GraderTraits.combine`` of the components'): components run one after the other for
each sample, so the multi grader is as concurrent as its most concurrent component, times out
like its first component with its own timeout reason (the judge), needs a reference when any
component does and wants the prompt when any component does.
"""

from __future__ import annotations

from typing import Any, Mapping

from reward_kit.extraction import clamp01
from reward_kit.graders.base import (
    GradeInput,
    GradeResult,
    Grader,
    GraderTraits,
    InfrastructureError,
    traits_of,
    with_traits,
)
from reward_kit.kinds import GRADER_KINDS


def length_penalty(length: int, max_chars: int, buffer_chars: int) -> float:
    """DAPO soft overlong punishment in [-1, 0]."""
    if length > max_chars:
        return -1.0
    threshold = max_chars - buffer_chars
    if length <= threshold:
        return 0.0
    return (threshold - length) / buffer_chars  # buffer_chars > 0 here since threshold < length <= max


def build(spec: Mapping[str, Any]) -> Grader:
    from reward_kit.graders import build_grader  # lazy: the registry imports this module

    components: dict[str, Grader] = {}
    kinds: dict[str, str] = {}
    for name, component_spec in spec["graders"].items():
        components[name] = build_grader(component_spec)
        kinds[name] = component_spec["grader"]
    raw_weights = spec.get("weights") or dict.fromkeys(components, 1.0)
    total = sum(float(raw_weights.get(name, 0.0)) for name in components)
    # Normalized again defensively: a hand-built spec must not push the sum past 1.
    weights = {
        name: (float(raw_weights.get(name, 0.0)) / total if total > 0 else 1.0 / len(components))
        for name in components
    }
    # Gates and the length penalty are read once here, not per sample.
    gates = {name: (gate["on"], float(gate.get("min", 1.0))) for name, gate in (spec.get("gates") or {}).items()}
    penalty: tuple[float, int, int] | None = None  # (weight, max_chars, buffer_chars)
    if lp := spec.get("length_penalty"):
        penalty = (float(lp.get("weight", 1.0)), int(lp["max_chars"]), int(lp.get("buffer_chars", 0)))
    # Correctness components first, each group in spec order: whose reason is reported.
    correct = {n for n in components if GRADER_KINDS[kinds[n]].grades_correctness}
    reason_order = [n for n in components if n in correct] + [n for n in components if n not in correct]

    def grade(sample: GradeInput) -> GradeResult:
        results: dict[str, GradeResult] = {}
        for name, component in components.items():
            try:
                results[name] = component(sample)
            except InfrastructureError:
                raise
            except Exception:  # noqa: BLE001 - one broken component must not sink the others
                results[name] = GradeResult(score=0.0, reason="grader_error")
        raw = {name: clamp01(result.score) for name, result in results.items()}
        rewards: dict[str, float] = {}
        metrics: dict[str, float] = {}
        for name in components:
            value = raw[name]
            gate = gates.get(name)
            if gate is not None:
                on, minimum = gate
                gate_open = raw[on] >= minimum
                metrics[f"{name}_gate_open"] = float(gate_open)
                if not gate_open:
                    value = 0.0
            rewards[name] = value
            for metric, metric_value in results[name].metrics.items():
                metrics[f"{name}_{metric}"] = metric_value
        total_score = sum(weights[name] * rewards[name] for name in components)
        if penalty is not None:
            weight, max_chars, buffer_chars = penalty
            response = sample.response if isinstance(sample.response, str) else ""
            applied = weight * length_penalty(len(response), max_chars, buffer_chars)
            metrics["length_penalty"] = applied
            total_score += applied
        reason = next((results[n].reason for n in reason_order if results[n].reason), None)
        return GradeResult(score=clamp01(total_score), rewards=rewards, metrics=metrics, reason=reason)

    return with_traits(grade, GraderTraits.combine(traits_of(component) for component in components.values()))
