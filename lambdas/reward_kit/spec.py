"""The REWARD_SPEC grammar: validation, normalization and a few derived facts.

Shared by the Lambda runtime (validated once per cold start) and the CDK app (validated at
synth time, so a bad spec fails ``cdk synth`` instead of a training job). That is why this
module and the grader modules import only the standard library at module level;
``jsonschema`` is imported lazily and only to check a ``json_schema`` grader's ``schema``.

The common keys and the top-level ``range`` are checked here; each grader kind's own keys by
the ``validate`` function of its module (``reward_kit.kinds``). Every error is a ``SpecError``
(``reward_kit.spec_checks``) whose message is one line that starts with the key path and,
where there is a closed set, names the allowed values::

    REWARD_SPEC.graders.accuracy.grader: 'foo' is not one of ['json_schema', 'label', ...]

``validate_spec`` never mutates its input and returns a new, fully normalized dict (every
default filled in), and validating a normalized spec again returns an equal dict.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from reward_kit import spec_checks
from reward_kit.kinds import GRADER_KINDS as _KINDS
from reward_kit.kinds import NEEDS_JUDGE, spec_needs
from reward_kit.spec_checks import SpecError, checks

__all__ = [
    "DEFAULT_RANGE",
    "GRADER_KINDS",
    "grader_time_limits",
    "SpecError",
    "output_range",
    "parse_spec_json",
    "canonical_spec_json",
    "reward_dimensions",
    "spec_hash",
    "spec_needs",
    "uses_judge",
    "validate_grader",
    "validate_spec",
]

GRADER_KINDS = tuple(sorted(_KINDS))  # the table lives in reward_kit.kinds
DEFAULT_RANGE = (0.0, 1.0)

# Keys every grader spec may carry; `range` only at the top level.
_COMMON_KEYS = ("description", "format_score", "grader", "name")

# --- checkers (reward_kit.checks, shared with the CDK config) --------------------------------

_fail = checks.fail
_number = checks.number
_one_of = checks.one_of
_no_unknown_keys = checks.no_unknown_keys


def validate_grader(path: str, spec: Mapping[str, Any], *, default_name: str | None = None) -> dict[str, Any]:
    """Validate one grader spec (not the top-level-only keys) and return it normalized: the
    common keys here, the grader kind's own keys by its module's ``validate`` (``multi`` calls
    this for its components)."""
    if "grader" not in spec:
        raise _fail(f"{path}.grader", f"required (one of {sorted(_KINDS)})")
    grader_kind = _one_of(f"{path}.grader", spec["grader"], _KINDS)
    _no_unknown_keys(path, spec, _COMMON_KEYS + _KINDS[grader_kind].keys)
    out: dict[str, Any] = {
        "grader": grader_kind,
        "name": spec_checks.name(f"{path}.name", spec.get("name", default_name or grader_kind)),
        "format_score": _number(
            f"{path}.format_score", spec.get("format_score", 0.0), ge=0, lt=1
        ),
    }
    if "description" in spec:
        if not isinstance(spec["description"], str):
            raise _fail(f"{path}.description", "must be a string", spec["description"])
        out["description"] = spec["description"]
    _KINDS[grader_kind].validate(path, spec, out)
    return out


# --- public API ----------------------------------------------------------------------------


def validate_spec(spec: Any, key: str = "REWARD_SPEC") -> dict[str, Any]:
    """Validate a reward spec dict and return it normalized (defaults filled, weights summed to 1).

    Raises SpecError with a one-line message starting with the key path (``key`` is the
    prefix, e.g. ``REWARD_SPEC`` or ``cdk.json context.environments.dev.functions.x.spec``).
    """
    if not isinstance(spec, Mapping):
        raise _fail(key, "must be a JSON object with a 'grader' key", spec)
    body = {k: v for k, v in spec.items() if k != "range"}
    out = validate_grader(key, body)
    raw_range = spec.get("range", list(DEFAULT_RANGE))
    if not isinstance(raw_range, (list, tuple)) or len(raw_range) != 2:
        raise _fail(f"{key}.range", "must be a pair [lo, hi], e.g. [0, 1] or [-1, 1]", raw_range)
    lo = _number(f"{key}.range[0]", raw_range[0])
    hi = _number(f"{key}.range[1]", raw_range[1])
    if not lo < hi:
        raise _fail(f"{key}.range", "lo must be < hi, e.g. [0, 1] or [-1, 1]", raw_range)
    out["range"] = [lo, hi]
    return out


def parse_spec_json(text: str | None, key: str = "REWARD_SPEC") -> dict[str, Any]:
    """Parse and validate a spec given as JSON text (the REWARD_SPEC environment variable)."""
    if text is None or not str(text).strip():
        raise _fail(key, 'not set; expected a JSON reward spec such as {"grader": "numeric"}')

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        parsed = json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise _fail(key, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:
        raise _fail(key, f"not valid JSON ({exc})") from None
    return validate_spec(parsed, key=key)


def canonical_spec_json(spec: Mapping[str, Any]) -> str:
    """The one text form of a validated spec: compact, keys sorted, ASCII (what REWARD_SPEC holds)."""
    return json.dumps(spec, separators=(",", ":"), sort_keys=True)


SPEC_HASH_CHARS = 16


def spec_hash(spec: Mapping[str, Any]) -> str:
    """Short SHA-256 of a validated spec's canonical JSON: names the reward a job ran with.

    The CDK app puts it in each Lambda version's description and the runtime and the dry run
    print it, all through this function, so the three always agree for the same spec.
    """
    return hashlib.sha256(canonical_spec_json(spec).encode("utf-8")).hexdigest()[:SPEC_HASH_CHARS]


def reward_dimensions(spec: Mapping[str, Any]) -> list[str]:
    """Names of the Reward dimensions reported for every sample (from a validated spec).

    A single grader reports one dimension, its ``name``; ``multi`` reports one per component.
    """
    if spec["grader"] == "multi":
        return list(spec["graders"])
    return [spec["name"]]


def uses_judge(spec: Mapping[str, Any]) -> bool:
    """True when a validated spec calls a Bedrock judge (itself or as a ``multi`` component)."""
    return NEEDS_JUDGE in spec_needs(spec)


def grader_time_limits(spec: Mapping[str, Any], key: str = "REWARD_SPEC") -> list[tuple[str, float]]:
    """(key path, seconds) of every per-sample time limit in a validated spec (math's
    ``timeout_seconds``, also as a ``multi`` component). The CDK app checks each fits in the
    function's timeout."""
    if spec.get("grader") == "multi":
        return [
            limit
            for name, component in spec.get("graders", {}).items()
            for limit in grader_time_limits(component, f"{key}.graders.{name}")
        ]
    if "timeout_seconds" in spec:
        return [(f"{key}.timeout_seconds", float(spec["timeout_seconds"]))]
    return []


def output_range(spec: Mapping[str, Any]) -> tuple[float, float]:
    """(lo, hi) of every reported reward value (from a validated spec)."""
    lo, hi = spec.get("range", DEFAULT_RANGE)
    return float(lo), float(hi)
