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

from reward_kit import kinds, spec_checks
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
from reward_kit.spec_checks import checks


def length_penalty(length: int, max_chars: int, buffer_chars: int) -> float:
    """DAPO soft overlong punishment in [-1, 0]."""
    if length > max_chars:
        return -1.0
    threshold = max_chars - buffer_chars
    if length <= threshold:
        return 0.0
    return (threshold - length) / buffer_chars  # buffer_chars > 0 here since threshold < length <= max


# --- the spec ----------------------------------------------------------------------------------


def validate(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Check the spec's ``multi`` keys at ``path`` and write them, normalized, to ``out``."""
    graders = _components(path, spec)
    out["weights"] = _weights(f"{path}.weights", spec.get("weights"), graders)
    gates = _gates(f"{path}.gates", spec.get("gates", {}), graders)
    length_penalty = spec.get("length_penalty")
    if length_penalty is not None:
        length_penalty = _length_penalty(f"{path}.length_penalty", length_penalty)
    needs: frozenset[str] = frozenset().union(*(kinds.spec_needs(component) for component in graders.values()))
    for conflict, why in kinds.CONFLICTING_NEEDS.items():
        if conflict <= needs:
            raise checks.fail(f"{path}.graders", why)
    out["graders"] = graders
    out["gates"] = gates
    out["length_penalty"] = length_penalty


def _components(path: str, spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    from reward_kit.spec import validate_grader  # lazy: reward_kit.spec imports the kinds table

    if "graders" not in spec:
        raise checks.fail(f"{path}.graders", "required (an object {name: grader spec})")
    components = checks.object(f"{path}.graders", spec["graders"])
    if not components:
        raise checks.fail(f"{path}.graders", "must name at least one grader")
    graders: dict[str, dict[str, Any]] = {}
    for name, component in components.items():
        spec_checks.name(f"{path}.graders", name)
        component_path = f"{path}.graders.{name}"
        component = checks.object(component_path, component)
        grader_kind = kinds.GRADER_KINDS.get(component.get("grader"))  # type: ignore[arg-type]
        if grader_kind is not None and grader_kind.composite:
            raise checks.fail(f"{component_path}.grader",
                              "a multi grader cannot contain another multi (composite) grader", component["grader"])
        if "name" in component and component["name"] != name:
            raise checks.fail(
                f"{component_path}.name",
                f"must equal the component key {name!r} (or be omitted)",
                component["name"],
            )
        graders[name] = validate_grader(component_path, component, default_name=name)
    return graders


def _weights(path: str, raw_weights: Any, graders: Mapping[str, Any]) -> dict[str, float]:
    """Every component's weight, normalized to sum to 1 (equal when omitted), in ``graders``' order."""
    names = sorted(graders)
    if raw_weights is None:
        weights = dict.fromkeys(graders, 1.0)
    else:
        raw_weights = checks.object(path, raw_weights)
        weights = {}
        for name, weight in raw_weights.items():
            if name not in graders:
                raise checks.fail(path, f"keys must be one of {names}", name)
            weights[name] = checks.number(f"{path}.{name}", weight, ge=0)
        missing = [name for name in graders if name not in weights]
        if missing:
            raise checks.fail(
                path,
                f"no weight for {missing}; give every grader in {names} a weight (0 is allowed) "
                "or omit weights for equal weights",
            )
    total = sum(weights.values())
    if total <= 0:
        raise checks.fail(path, "weights must sum to more than 0")
    # Same order as `graders` so the normalized spec is stable.
    return {name: weights[name] / total for name in graders}


def _gates(path: str, raw_gates: Any, graders: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    names = sorted(graders)
    gates: dict[str, dict[str, Any]] = {}
    for name, gate in checks.object(path, raw_gates).items():
        gate_path = f"{path}.{name}"
        if name not in graders:
            raise checks.fail(path, f"keys must be one of {names}", name)
        gate = checks.object(gate_path, gate)
        checks.no_unknown_keys(gate_path, gate, ("min", "on"))
        if "on" not in gate:
            raise checks.fail(f"{gate_path}.on", f"required (one of {names})")
        on = gate["on"]
        if on not in graders or on == name:
            raise checks.fail(f"{gate_path}.on", f"must be one of {[n for n in names if n != name]}", on)
        gates[name] = {
            "on": on,
            "min": checks.number(f"{gate_path}.min", gate.get("min", 1.0), ge=0, le=1),
        }
    _reject_gate_cycles(path, gates)
    return gates


def _length_penalty(path: str, raw: Any) -> dict[str, Any]:
    length_penalty = checks.object(path, raw)
    checks.no_unknown_keys(path, length_penalty, ("buffer_chars", "max_chars", "weight"))
    if "max_chars" not in length_penalty:
        raise checks.fail(f"{path}.max_chars", "required (an integer > 0)")
    max_chars = checks.integer(f"{path}.max_chars", length_penalty["max_chars"], ge=1)
    buffer_chars = checks.integer(f"{path}.buffer_chars", length_penalty.get("buffer_chars", 0), ge=0)
    if buffer_chars >= max_chars:
        raise checks.fail(f"{path}.buffer_chars", f"must be < max_chars ({max_chars})", buffer_chars)
    return {
        "max_chars": max_chars,
        "buffer_chars": buffer_chars,
        "weight": checks.number(f"{path}.weight", length_penalty.get("weight", 1.0), gt=0, le=1),
    }


def _reject_gate_cycles(path: str, gates: Mapping[str, Mapping[str, Any]]) -> None:
    for start in gates:
        seen = [start]
        current = gates[start]["on"]
        while current in gates:
            if current in seen:
                cycle = " -> ".join(seen[seen.index(current):] + [current])
                raise checks.fail(path, f"gates form a cycle ({cycle})")
            seen.append(current)
            current = gates[current]["on"]


# --- the grader --------------------------------------------------------------------------------


def build(spec: Mapping[str, Any]) -> Grader:
    from reward_kit.graders import build_grader  # lazy: the registry imports this module

    components: dict[str, Grader] = {}
    kinds_of: dict[str, str] = {}
    for name, component_spec in spec["graders"].items():
        components[name] = build_grader(component_spec)
        kinds_of[name] = component_spec["grader"]
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
    correct = {n for n in components if kinds.GRADER_KINDS[kinds_of[n]].grades_correctness}
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
