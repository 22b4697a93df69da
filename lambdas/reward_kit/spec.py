"""The REWARD_SPEC grammar: validation, normalization and a few derived facts.

Shared by the Lambda runtime (validated once per cold start) and the CDK app (validated at
synth time, so a bad spec fails ``cdk synth`` instead of a training job). That is why this
module imports only the standard library at module level; ``jsonschema`` is imported lazily
and only to check a ``json_schema`` grader's ``schema`` against its meta-schema.

Every error is a ``SpecError`` whose message is one line that starts with the key path and,
where there is a closed set, names the allowed values::

    REWARD_SPEC.graders.accuracy.grader: 'foo' is not one of ['json_schema', 'label', ...]

``validate_spec`` never mutates its input and returns a new, fully normalized dict (every
default filled in), and validating a normalized spec again returns an equal dict.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Mapping

from reward_kit.checks import CheckError, Checks, show
from reward_kit.kinds import CONFLICTING_NEEDS, NEEDS_JUDGE, spec_needs, validator_for
from reward_kit.kinds import GRADER_KINDS as _KINDS
from reward_kit.patterns import FLAGS, PatternError, compile_pattern

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
    "validate_spec",
]

GRADER_KINDS = tuple(sorted(_KINDS))  # the table lives in reward_kit.kinds
DEFAULT_RANGE = (0.0, 1.0)
REGEX_FLAGS = FLAGS  # reward_kit.patterns: the engine the regex grader runs
REGEX_TARGETS = ("answer", "response")

# judge (RLAIF) defaults. The model id is not part of the spec: it comes from JUDGE_MODEL_ID,
# which the CDK stack sets together with the IAM policy scoped to that model.
JUDGE_DEFAULT_MAX_SCORE = 10  # integer 0..10 is more reliable from an LLM than a float 0..1
JUDGE_DEFAULT_MAX_TOKENS = 512
JUDGE_DEFAULT_TEMPERATURE = 0.0
JUDGE_DEFAULT_MAX_RESPONSE_CHARS = 20_000

# code defaults and bounds: per test run (the executor's limits, code_sandbox.runner.Limits).
CODE_LANGUAGES = ("python",)
CODE_DEFAULT_TIMEOUT_SECONDS = 2.0
CODE_MAX_TIMEOUT_SECONDS = 30.0
CODE_DEFAULT_MEMORY_MB = 256
CODE_MEMORY_MB_RANGE = (64, 4096)
CODE_DEFAULT_MAX_OUTPUT_BYTES = 65_536
CODE_MAX_OUTPUT_BYTES_RANGE = (1_024, 1_048_576)
CODE_MAX_PRELUDE_CHARS = 20_000
# Prepended to every program (same namespace) unless the spec sets "prelude" ("" for none): the
# names the peers' harnesses (LeetCode, LiveCodeBench) import before a solution runs.
CODE_DEFAULT_PRELUDE = """\
import bisect, collections, functools, heapq, itertools, math, string
from bisect import bisect, bisect_left, bisect_right, insort, insort_left, insort_right
from collections import Counter, OrderedDict, defaultdict, deque, namedtuple
from functools import cache, cmp_to_key, lru_cache, reduce
from heapq import heapify, heappop, heappush, heappushpop, heapreplace, nlargest, nsmallest
from itertools import accumulate, chain, combinations, combinations_with_replacement, count, cycle, groupby, \\
    islice, permutations, product, repeat, starmap, zip_longest
from math import ceil, comb, factorial, floor, gcd, inf, isqrt, lcm, log, log2, perm, sqrt
from string import ascii_letters, ascii_lowercase, ascii_uppercase, digits
from typing import Any, Callable, Deque, Dict, FrozenSet, Generator, Iterable, Iterator, List, Optional, Set, \\
    Tuple, Union
"""

# Dimension/component names become CloudWatch metric names (Reward_<name>) and JSON keys.
_NAME_RULE = "[A-Za-z0-9_-]{1,64}"
_NAME_RE = re.compile(_NAME_RULE)

# Keys every grader spec may carry; `range` only at the top level.
_COMMON_KEYS = ("description", "format_score", "grader", "name")


class SpecError(CheckError):
    """A reward spec that cannot be used; the message names the key path and the fix."""


# --- checkers (reward_kit.checks, shared with the CDK config) --------------------------------

_checks = Checks(SpecError)
_fail = _checks.fail
_number = _checks.number
_integer = _checks.integer
_boolean = _checks.boolean
_one_of = _checks.one_of
_object = _checks.object
_no_unknown_keys = _checks.no_unknown_keys
_string = _checks.string


def _name(path: str, value: Any) -> str:
    return _checks.pattern(path, value, _NAME_RE, f"a valid name ({_NAME_RULE})")


def _reference_key(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    # Optional and only copied when given: specs without it normalize exactly as before.
    if "reference_key" in spec:
        out["reference_key"] = _string(
            f"{path}.reference_key",
            spec["reference_key"],
            "must be a non-empty string (the key of the reference object that holds the answer)",
        )


# --- per-kind validators --------------------------------------------------------------


def _label(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    if "labels" not in spec:
        raise _fail(f"{path}.labels", "required (a non-empty list of strings)")
    labels = spec["labels"]
    if not isinstance(labels, list) or not labels:
        raise _fail(f"{path}.labels", "must be a non-empty list of strings", labels)
    seen: set[str] = set()
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            raise _fail(f"{path}.labels[{i}]", "must be a non-empty string", label)
        if label in seen:
            raise _fail(f"{path}.labels[{i}]", "duplicate label", label)
        seen.add(label)
    aliases = _object(f"{path}.aliases", spec.get("aliases", {}))
    normalized_aliases: dict[str, str] = {}
    for alias, target in aliases.items():
        if not isinstance(alias, str) or not alias.strip():
            raise _fail(f"{path}.aliases", "alias names must be non-empty strings", alias)
        if target not in seen:
            _one_of(f"{path}.aliases.{alias}", target, seen)
        normalized_aliases[alias] = target
    out["labels"] = list(labels)
    out["aliases"] = normalized_aliases
    _reference_key(path, spec, out)


def _numeric(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    out["tolerance"] = _number(f"{path}.tolerance", spec.get("tolerance", 1e-6), ge=0)
    out["relative_tolerance"] = _number(
        f"{path}.relative_tolerance", spec.get("relative_tolerance", 0.0), ge=0
    )
    _reference_key(path, spec, out)


def _math(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    # Capped well under the Lambda maximum: one pathological sample must not eat the batch.
    out["timeout_seconds"] = _number(
        f"{path}.timeout_seconds",
        spec.get("timeout_seconds", 5),
        gt=0,
        le=60,
    )
    _reference_key(path, spec, out)


def _json_schema(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    if "schema" not in spec:
        raise _fail(f"{path}.schema", "required (a JSON Schema object, e.g. {\"type\": \"object\"})")
    schema = spec["schema"]
    if not isinstance(schema, (Mapping, bool)):
        raise _fail(f"{path}.schema", "must be a JSON Schema object", schema)
    # Lazy: heavy, and only json_schema specs need it (a dependency of the Lambda and the CDK app).
    from jsonschema import validators
    from jsonschema.exceptions import SchemaError

    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
        raise _fail(f"{path}.schema{where}", f"invalid JSON Schema: {exc.message}") from None
    out["schema"] = schema
    out["parse_score"] = _number(
        f"{path}.parse_score", spec.get("parse_score", 0.2), ge=0, lt=1
    )
    out["compare_reference"] = _boolean(
        f"{path}.compare_reference", spec.get("compare_reference", False)
    )
    _reference_key(path, spec, out)


def _regex(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    if "pattern" not in spec:
        raise _fail(f"{path}.pattern", "required (a regular expression: RE2 syntax, or Python re syntax with lookaround or backreferences)")
    pattern = spec["pattern"]
    if not isinstance(pattern, str) or not pattern:
        raise _fail(f"{path}.pattern", "must be a non-empty string", pattern)
    flags = spec.get("flags", [])
    if not isinstance(flags, list):
        raise _fail(f"{path}.flags", f"must be a list of {sorted(REGEX_FLAGS)}", flags)
    for i, flag in enumerate(flags):
        _one_of(f"{path}.flags[{i}]", flag, REGEX_FLAGS)
    try:
        compile_pattern(pattern, flags)  # the grader's engines (RE2, else regex), so synth fails, not a cold start
    except PatternError as exc:
        raise _fail(f"{path}.pattern", str(exc)) from None
    out["pattern"] = pattern
    out["flags"] = sorted(set(flags))
    out["target"] = _one_of(f"{path}.target", spec.get("target", "answer"), REGEX_TARGETS)
    out["full_match"] = _boolean(f"{path}.full_match", spec.get("full_match", False))


def _multi(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    if "graders" not in spec:
        raise _fail(f"{path}.graders", "required (an object {name: grader spec})")
    components = _object(f"{path}.graders", spec["graders"])
    if not components:
        raise _fail(f"{path}.graders", "must name at least one grader")
    graders: dict[str, dict[str, Any]] = {}
    for name, component in components.items():
        _name(f"{path}.graders", name)
        component_path = f"{path}.graders.{name}"
        component = _object(component_path, component)
        if component.get("grader") in _KINDS and _KINDS[component["grader"]].composite:
            raise _fail(f"{component_path}.grader", "a multi grader cannot contain another multi (composite) grader",
                        component["grader"])
        if "name" in component and component["name"] != name:
            raise _fail(
                f"{component_path}.name",
                f"must equal the component key {name!r} (or be omitted)",
                component["name"],
            )
        graders[name] = _grader(component_path, component, default_name=name)
    names = sorted(graders)

    raw_weights = spec.get("weights")
    if raw_weights is None:
        weights = dict.fromkeys(graders, 1.0)
    else:
        raw_weights = _object(f"{path}.weights", raw_weights)
        weights = {}
        for name, weight in raw_weights.items():
            if name not in graders:
                raise _fail(f"{path}.weights", f"keys must be one of {names}", name)
            weights[name] = _number(f"{path}.weights.{name}", weight, ge=0)
        missing = [name for name in graders if name not in weights]
        if missing:
            raise _fail(
                f"{path}.weights",
                f"no weight for {missing}; give every grader in {names} a weight (0 is allowed) "
                "or omit weights for equal weights",
            )
    total = sum(weights.values())
    if total <= 0:
        raise _fail(f"{path}.weights", "weights must sum to more than 0")
    # Same order as `graders` so the normalized spec is stable.
    out["weights"] = {name: weights[name] / total for name in graders}

    gates: dict[str, dict[str, Any]] = {}
    for name, gate in _object(f"{path}.gates", spec.get("gates", {})).items():
        gate_path = f"{path}.gates.{name}"
        if name not in graders:
            raise _fail(f"{path}.gates", f"keys must be one of {names}", name)
        gate = _object(gate_path, gate)
        _no_unknown_keys(gate_path, gate, ("min", "on"))
        if "on" not in gate:
            raise _fail(f"{gate_path}.on", f"required (one of {names})")
        on = gate["on"]
        if on not in graders or on == name:
            raise _fail(f"{gate_path}.on", f"must be one of {[n for n in names if n != name]}", on)
        gates[name] = {
            "on": on,
            "min": _number(f"{gate_path}.min", gate.get("min", 1.0), ge=0, le=1),
        }
    _reject_gate_cycles(f"{path}.gates", gates)

    length_penalty = spec.get("length_penalty")
    if length_penalty is not None:
        lp_path = f"{path}.length_penalty"
        length_penalty = _object(lp_path, length_penalty)
        _no_unknown_keys(lp_path, length_penalty, ("buffer_chars", "max_chars", "weight"))
        if "max_chars" not in length_penalty:
            raise _fail(f"{lp_path}.max_chars", "required (an integer > 0)")
        max_chars = _integer(f"{lp_path}.max_chars", length_penalty["max_chars"], ge=1)
        buffer_chars = _integer(
            f"{lp_path}.buffer_chars", length_penalty.get("buffer_chars", 0), ge=0
        )
        if buffer_chars >= max_chars:
            raise _fail(f"{lp_path}.buffer_chars", f"must be < max_chars ({max_chars})", buffer_chars)
        length_penalty = {
            "max_chars": max_chars,
            "buffer_chars": buffer_chars,
            "weight": _number(
                f"{lp_path}.weight", length_penalty.get("weight", 1.0), gt=0, le=1
            ),
        }
    needs: frozenset[str] = frozenset().union(*(spec_needs(component) for component in graders.values()))
    for conflict, why in CONFLICTING_NEEDS.items():
        if conflict <= needs:
            raise _fail(f"{path}.graders", why)
    out["graders"] = graders
    out["gates"] = gates
    out["length_penalty"] = length_penalty


def _judge(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    if "rubric" not in spec:
        raise _fail(f"{path}.rubric", "required (a non-empty string telling the judge what a good response is)")
    out["rubric"] = _string(f"{path}.rubric", spec["rubric"])

    criteria = spec.get("criteria")
    if criteria is not None:
        criteria_path = f"{path}.criteria"
        criteria = _object(criteria_path, criteria)
        if not criteria:
            raise _fail(criteria_path, "must name at least one criterion (or be omitted)")
        normalized: dict[str, dict[str, Any]] = {}
        for name, criterion in criteria.items():
            _name(criteria_path, name)
            item_path = f"{criteria_path}.{name}"
            # {name: "description"} or {name: {"description": ..., "weight": ...}}
            if isinstance(criterion, str):
                description_path, criterion = item_path, {"description": criterion}
            elif isinstance(criterion, Mapping):
                _no_unknown_keys(item_path, criterion, ("description", "weight"))
                description_path = f"{item_path}.description"
            else:
                raise _fail(
                    item_path,
                    'must be a description string or an object {"description": ..., "weight": ...}',
                    criterion,
                )
            description = _string(description_path, criterion.get("description"))
            normalized[name] = {
                "description": description,
                "weight": _number(f"{item_path}.weight", criterion.get("weight", 1.0), ge=0),
            }
        total = sum(item["weight"] for item in normalized.values())
        if total <= 0:
            raise _fail(criteria_path, "criterion weights must sum to more than 0")
        for item in normalized.values():
            item["weight"] = item["weight"] / total
        criteria = normalized
    out["criteria"] = criteria

    max_score = _integer(f"{path}.max_score", spec.get("max_score", JUDGE_DEFAULT_MAX_SCORE), ge=1)
    if max_score > 100:
        raise _fail(f"{path}.max_score", "must be <= 100 (the judge answers with an integer 0..max_score)", max_score)
    out["max_score"] = max_score
    out["include_reference"] = _boolean(f"{path}.include_reference", spec.get("include_reference", True))
    out["include_prompt"] = _boolean(f"{path}.include_prompt", spec.get("include_prompt", True))
    out["max_tokens"] = _integer(f"{path}.max_tokens", spec.get("max_tokens", JUDGE_DEFAULT_MAX_TOKENS), ge=16)
    out["temperature"] = _number(
        f"{path}.temperature", spec.get("temperature", JUDGE_DEFAULT_TEMPERATURE), ge=0, le=1
    )
    out["max_response_chars"] = _integer(
        f"{path}.max_response_chars", spec.get("max_response_chars", JUDGE_DEFAULT_MAX_RESPONSE_CHARS), ge=100
    )


def _code(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    out["language"] = _one_of(f"{path}.language", spec.get("language", "python"), CODE_LANGUAGES)
    out["timeout_seconds"] = _number(
        f"{path}.timeout_seconds", spec.get("timeout_seconds", CODE_DEFAULT_TIMEOUT_SECONDS),
        gt=0, le=CODE_MAX_TIMEOUT_SECONDS,
    )
    lo, hi = CODE_MEMORY_MB_RANGE
    out["memory_mb"] = _integer(f"{path}.memory_mb", spec.get("memory_mb", CODE_DEFAULT_MEMORY_MB), ge=lo, le=hi)
    lo, hi = CODE_MAX_OUTPUT_BYTES_RANGE
    out["max_output_bytes"] = _integer(
        f"{path}.max_output_bytes", spec.get("max_output_bytes", CODE_DEFAULT_MAX_OUTPUT_BYTES), ge=lo, le=hi
    )
    out["all_or_nothing"] = _boolean(f"{path}.all_or_nothing", spec.get("all_or_nothing", False))
    if "prelude" in spec:  # absent: CODE_DEFAULT_PRELUDE (kept out of the spec, and of its hash)
        out["prelude"] = _prelude(f"{path}.prelude", spec["prelude"])
    _reference_key(path, spec, out)  # the key of the reference object that holds the tests


def _prelude(path: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > CODE_MAX_PRELUDE_CHARS:
        raise SpecError(f"{path}: must be Python source of at most {CODE_MAX_PRELUDE_CHARS:,} characters, "
                        f"got {show(value)}")
    try:
        compile(value, "prelude.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise SpecError(
            f"{path}: must be valid Python, got a syntax error on line {getattr(exc, 'lineno', '?')}"
        ) from None
    return value


def _reject_gate_cycles(path: str, gates: Mapping[str, Mapping[str, Any]]) -> None:
    for start in gates:
        seen = [start]
        current = gates[start]["on"]
        while current in gates:
            if current in seen:
                cycle = " -> ".join(seen[seen.index(current):] + [current])
                raise _fail(path, f"gates form a cycle ({cycle})")
            seen.append(current)
            current = gates[current]["on"]


def _grader(path: str, spec: Mapping[str, Any], *, default_name: str | None = None) -> dict[str, Any]:
    """Validate one grader spec (not the top-level-only keys) and return it normalized."""
    if "grader" not in spec:
        raise _fail(f"{path}.grader", f"required (one of {sorted(_KINDS)})")
    kind = _one_of(f"{path}.grader", spec["grader"], _KINDS)
    _no_unknown_keys(path, spec, _COMMON_KEYS + _KINDS[kind].keys)
    out: dict[str, Any] = {
        "grader": kind,
        "name": _name(f"{path}.name", spec.get("name", default_name or kind)),
        "format_score": _number(
            f"{path}.format_score", spec.get("format_score", 0.0), ge=0, lt=1
        ),
    }
    if "description" in spec:
        if not isinstance(spec["description"], str):
            raise _fail(f"{path}.description", "must be a string", spec["description"])
        out["description"] = spec["description"]
    validator_for(kind)(path, spec, out)
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
    out = _grader(key, body)
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
