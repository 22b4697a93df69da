"""``json_schema`` grader: structured output validated with JSON Schema (optionally vs a reference).

Finding the JSON, in the final answer region only: the whole region if it parses; else every
closed ```` ``` ```` fenced block that parses; else every top-level balanced ``{...}``/``[...]``
span that parses (not attempted when the region holds more than ``MAX_STRUCTURAL_CHARS``
brackets/quotes: that is not a JSON answer wrapped in prose). More than one *distinct* parsed value => ``multiple_answers`` (no hedging
with two objects). Duplicate keys and NaN/Infinity are not JSON here (``invalid_json``): with
duplicates, "which value counts" would be the parser's choice, not the model's.

Numbers are strict: ``1e999`` (infinity once parsed) is not JSON, so it can never pass a
``maximum``.

Scores: nothing parseable => ``invalid_json``, 0. Parseable but fails the schema =>
``parse_score`` (< 1), reason ``schema_mismatch``, metric ``schema_errors``. An empty ``{}`` or
``[]`` never earns parse or partial credit (the cheapest possible output must not buy a
reward floor, also under a permissive schema such as ``{}`` with ``compare_reference``): it
scores 1.0 only when it IS the valid answer (equal to the reference). Valid => 1.0; with
``compare_reference`` full credit also needs strict equality with the reference (``1 != true``,
``1 == 1.0``); a valid but different object gets partial credit from
max(parse_score, format_score) up to 0.9 by key/value overlap (Jaccard over top-level keys),
so it never reaches full marks and never scores below a schema failure.

A schema with ``pattern``, ``patternProperties`` or ``uniqueItems`` lets the answer decide the
validation cost (Python's backtracking ``re``; pairwise comparisons): such a grader runs in a
killable worker process (``reward_kit.isolation``) with a 5 s per-sample limit.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Mapping

from reward_kit.extraction import clamp01, final_answer_region, loads_strict
from reward_kit.graders.base import GradeInput, GradeResult, Grader, GraderTraits, Isolation, single_result, with_traits
from reward_kit.spec_checks import checks, reference_key

_JSON_TOKENS = re.compile(r'\\.|[{}\[\]"]', re.DOTALL)
MAX_SPANS_TRIED = 8  # parse at most this many trailing candidate spans
# The span scan is a Python loop over structural characters; past this many ({, [, ") the
# text is not a JSON answer wrapped in prose, so we stop looking instead of spending seconds.
MAX_STRUCTURAL_CHARS = 100_000
MAX_SCHEMA_ERRORS = 100  # counted errors are capped: the metric stays small and cheap
PARTIAL_CAP = 0.9  # a schema-valid but wrong object never earns more than this


def top_level_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every outermost balanced {...}/[...] span, in order; one linear pass.

    Quotes are tracked only inside brackets (quotes in prose are not JSON strings). An opener
    that never closes (a stray "{" in prose) does not hide the balanced spans after it: every
    closed span is recorded and only the ones not inside another closed span are kept.
    """
    closed: list[tuple[int, int]] = []  # in order of their closing bracket
    stack: list[tuple[str, int]] = []
    in_string = False
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token[0] == "\\":
            continue
        if in_string:
            in_string = token != '"'
            continue
        if token == '"':
            in_string = bool(stack)
        elif token in "{[":
            stack.append((token, match.start()))
        elif stack:
            opener, start = stack.pop()
            if (opener == "{") != (token == "}"):
                stack.clear()  # mismatched brackets: not JSON, start over
                continue
            closed.append((start, match.end()))
    # A span is outermost when no span closing later started before it.
    outermost = []
    min_start = len(text) + 1
    for start, end in reversed(closed):
        if start < min_start:
            outermost.append((start, end))
            min_start = start
    outermost.reverse()
    return outermost


def _fenced_blocks(text: str) -> list[str]:
    parts = text.split("```")
    blocks = []
    for body in parts[1:-1:2]:  # odd parts are inside closed fences
        first, newline, rest = body.partition("\n")
        if newline and first.strip().isalnum():  # language tag such as "json"
            body = rest
        blocks.append(body)
    return blocks


def json_candidates(region: str) -> list[Any]:
    """Parsed JSON values found in the region, in order (see module docstring)."""
    ok, value = loads_strict(region)
    if ok:
        return [value]
    fenced = []
    for block in _fenced_blocks(region):
        ok, value = loads_strict(block)
        if ok:
            fenced.append(value)
    if fenced:
        return fenced
    if region.count("{") + region.count("[") + region.count('"') > MAX_STRUCTURAL_CHARS:
        return []
    values = []
    for start, end in top_level_spans(region)[-MAX_SPANS_TRIED:]:
        ok, value = loads_strict(region[start:end])
        if ok:
            values.append(value)
    return values


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality that does not confuse booleans with numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _overlap(candidate: Any, reference: Any) -> float:
    """Jaccard overlap of top-level key/value pairs; 0 for non-objects."""
    if not (isinstance(candidate, dict) and isinstance(reference, dict)):
        return 0.0
    keys = candidate.keys() | reference.keys()
    if not keys:
        return 0.0
    same = sum(1 for k in reference if k in candidate and json_equal(candidate[k], reference[k]))
    return same / len(keys)


def _canonical(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError, TypeError):
        return f"<unserializable {id(value)}>"  # treated as distinct from everything


def _reference_object(reference: Any, key: str | None = None) -> tuple[bool, Any]:
    """(ok, value): a dict/list/scalar reference, ``{"answer": x}``, the spec's
    ``reference_key`` of a dict, or a JSON-encoded string. A whole object is compared as it is:
    only the single-key envelope ``{"answer": x}`` is unwrapped without a ``reference_key``."""
    value = reference
    if key is not None and isinstance(value, dict):
        if key not in value:
            return False, None
        value = value[key]
    elif isinstance(value, dict) and set(value) == {"answer"}:
        value = value["answer"]
    if isinstance(value, str):
        ok, parsed = loads_strict(value)
        if ok:
            return True, parsed
        if value.lstrip()[:1] in ("{", "["):
            return False, None  # meant to be JSON but broken
        return True, value  # a plain string is a JSON string value
    if value is None:
        return False, None
    return True, value


# --- the spec ----------------------------------------------------------------------------------


def validate(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Check the spec's ``json_schema`` keys at ``path`` and write them, normalized, to ``out``."""
    if "schema" not in spec:
        raise checks.fail(f"{path}.schema", "required (a JSON Schema object, e.g. {\"type\": \"object\"})")
    schema = spec["schema"]
    if not isinstance(schema, (Mapping, bool)):
        raise checks.fail(f"{path}.schema", "must be a JSON Schema object", schema)
    # Lazy: heavy, and only json_schema specs need it (a dependency of the Lambda and the CDK app).
    from jsonschema import validators
    from jsonschema.exceptions import SchemaError

    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
        raise checks.fail(f"{path}.schema{where}", f"invalid JSON Schema: {exc.message}") from None
    out["schema"] = schema
    out["parse_score"] = checks.number(
        f"{path}.parse_score", spec.get("parse_score", 0.2), ge=0, lt=1
    )
    out["compare_reference"] = checks.boolean(
        f"{path}.compare_reference", spec.get("compare_reference", False)
    )
    reference_key(path, spec, out)


# --- the grader --------------------------------------------------------------------------------


# slots: its fields are read on every sample.
@dataclass(frozen=True, slots=True)
class JsonSchemaConfig:
    """A json_schema grader's settings and validator, read once from its validated spec."""

    result: Callable[[float, str | None, Mapping[str, float]], GradeResult]  # single_result for its dimension
    validator: Any  # the schema's jsonschema validator, with its format checker
    parse_score: float
    wrong_base: float  # the floor of a valid but different object: max(parse_score, format_score)
    compare_reference: bool
    reference_key: str | None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> JsonSchemaConfig:
        from jsonschema import validators  # lazy: only specs using this grader pay for it

        schema = spec.get("schema", {})
        parse_score = clamp01(float(spec.get("parse_score", 0.2)))
        format_score = clamp01(float(spec.get("format_score", 0.0) or 0.0))
        validator_class = validators.validator_for(schema)
        return cls(
            result=partial(single_result, spec.get("name") or spec["grader"]),
            validator=validator_class(schema, format_checker=validator_class.FORMAT_CHECKER),
            parse_score=parse_score,
            wrong_base=max(parse_score, format_score),
            compare_reference=bool(spec.get("compare_reference", False)),
            reference_key=spec.get("reference_key"),
        )


def _schema_errors(config: JsonSchemaConfig, value: Any) -> int:
    try:
        return len(list(itertools.islice(config.validator.iter_errors(value), MAX_SCHEMA_ERRORS)))
    except (RecursionError, ValueError, TypeError):
        return 1  # too deep/odd to validate: not acceptable output


def _answer(config: JsonSchemaConfig, sample: GradeInput) -> tuple[Any, Any, GradeResult | None]:
    """(the one JSON value answered, the expected value, None) or the result of a sample
    with no usable reference, answer or single JSON value."""
    result = config.result
    expected = None
    if config.compare_reference:
        ok, expected = _reference_object(sample.reference, config.reference_key)
        if not ok:
            return None, None, result(0.0, "invalid_reference", {"json_found": 0.0})
    region = final_answer_region(sample.response)
    if not region:
        return None, None, result(0.0, "no_answer", {"json_found": 0.0})
    candidates = json_candidates(region)
    if not candidates:
        return None, None, result(0.0, "invalid_json", {"json_found": 0.0})
    if len({_canonical(c) for c in candidates}) > 1:
        return None, None, result(0.0, "multiple_answers", {"json_found": 1.0})
    return candidates[-1], expected, None


def _compare(
    config: JsonSchemaConfig, value: Any, expected: Any, empty: bool, metrics: dict[str, float]
) -> GradeResult:
    """A schema-valid value against the reference: 1.0 when equal, else partial credit by overlap."""
    result = config.result
    try:
        match = json_equal(value, expected)
        overlap = 1.0 if match else _overlap(value, expected)
    except RecursionError:
        match, overlap = False, 0.0
    metrics["reference_match"] = float(match)
    if match:
        return result(1.0, None, metrics)
    metrics["field_overlap"] = overlap
    if empty:
        return result(0.0, None, metrics)
    wrong_base = config.wrong_base
    score = wrong_base + (PARTIAL_CAP - wrong_base) * overlap if wrong_base < PARTIAL_CAP else wrong_base
    return result(score, None, metrics)


def grade(config: JsonSchemaConfig, sample: GradeInput) -> GradeResult:
    """One sample's JSON value against the schema (and the reference, with ``compare_reference``)."""
    value, expected, failed = _answer(config, sample)
    if failed is not None:
        return failed
    errors = _schema_errors(config, value)
    metrics = {"json_found": 1.0, "schema_errors": float(errors)}
    # "{}" / "[]" is the cheapest parseable output: no free parse or partial credit for it.
    empty = isinstance(value, (dict, list)) and not value
    if errors:
        return config.result(0.0 if empty else config.parse_score, "schema_mismatch", metrics)
    if not config.compare_reference:
        return config.result(1.0, None, metrics)
    return _compare(config, value, expected, empty, metrics)


def build(spec: Mapping[str, Any]) -> Grader:
    config = JsonSchemaConfig.from_spec(spec)
    grader = partial(grade, config)
    if _instance_controls_cost(spec.get("schema", {})):
        # Python's re backtracks on the answer's strings; uniqueItems compares every pair: the
        # answer decides the cost, so build_grader runs this grader in a killable worker.
        isolation = Isolation(
            time_limit=TIME_LIMIT_SECONDS,
            timeout_result=partial(config.result, 0.0, "grader_timeout", {"json_found": 0.0}),
            error_result=partial(config.result, 0.0, "grader_error", {"json_found": 0.0}),
        )
        return with_traits(grader, GraderTraits(isolation=isolation))
    return grader


# Schema keywords whose validation cost the answer controls beyond reading it once.
COSTLY_KEYWORDS = frozenset({"pattern", "patternProperties", "uniqueItems"})
# Per-sample limit when such a schema runs in a worker (fits the shortest function timeout).
TIME_LIMIT_SECONDS = 5.0


def _instance_controls_cost(schema: Any) -> bool:
    """Whether a schema uses COSTLY_KEYWORDS anywhere (keys of nested objects included)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if COSTLY_KEYWORDS.intersection(node):
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False
