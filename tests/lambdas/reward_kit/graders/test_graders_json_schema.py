"""``json_schema`` grader: finding the JSON, schema validation, reference comparison."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reward_kit.graders import build_grader
from reward_kit.graders.base import GradeInput, GradeResult
from reward_kit.graders.json_schema import json_candidates, json_equal, top_level_spans
from reward_kit.spec import validate_spec

SCHEMA = {
    "type": "object",
    "properties": {"compliant": {"enum": ["Yes", "No"]}, "score": {"type": "integer"}},
    "required": ["compliant"],
}
SPEC = {"grader": "json_schema", "schema": SCHEMA}
COMPARE = {**SPEC, "compare_reference": True}


def grade(spec: dict[str, Any], response: Any, reference: Any = None) -> GradeResult:
    return build_grader(validate_spec(spec))(GradeInput(response, reference, {}))


@pytest.mark.parametrize(
    "response",
    [
        '{"compliant": "No"}',
        '  {"compliant": "No", "score": 3}\n',
        'Here you go:\n```json\n{"compliant": "No"}\n```\nThanks!',
        '```\n{"compliant": "No"}\n```',
        'My answer is {"compliant": "No"} as requested.',
        '<think>{"compliant": "Yes"}</think>{"compliant": "No"}',
        '<solution>{"compliant": "No"}</solution>',
        'Answer: {"compliant": "No"} and again {"compliant": "No"}',  # identical twice is one answer
        'Use {braces} like this: {"compliant": "No"}',
    ],
)
def test_valid_json_gets_full_credit(response: str) -> None:
    result = grade(SPEC, response)
    assert result.score == 1.0, result
    assert result.reason is None
    assert result.metrics["schema_errors"] == 0.0


def test_schema_failure_gets_parse_score_and_error_count() -> None:
    result = grade(SPEC, '{"compliant": "maybe", "score": "high"}')
    assert result.score == pytest.approx(0.2)
    assert result.reason == "schema_mismatch"
    assert result.metrics["schema_errors"] == 2.0
    assert grade({**SPEC, "parse_score": 0.0}, '{"score": 1}').score == 0.0


@pytest.mark.parametrize("response", ["{}", "[]", "Result: {}"])
def test_empty_container_failing_the_schema_gets_no_parse_credit(response: str) -> None:
    result = grade(SPEC, response)
    assert result.score == 0.0
    assert result.reason == "schema_mismatch"


@pytest.mark.parametrize(
    "response",
    [
        "no json here",
        '{"compliant": "No"',  # truncated
        "{'compliant': 'No'}",  # Python, not JSON
        '{"compliant": "No", "compliant": "Yes"}',  # duplicate keys: which one counts?
        '{"compliant": "No", "score": NaN}',
        "```json\n{broken\n```",
    ],
)
def test_unparseable_json_is_invalid_json(response: str) -> None:
    result = grade(SPEC, response)
    assert result.score == 0.0
    assert result.reason == "invalid_json"


@pytest.mark.parametrize("response", ["", "  \n", "<think>{\"compliant\": \"No\"}</think>", "<think>{}"])
def test_empty_answer_is_no_answer(response: str) -> None:
    assert grade(SPEC, response).reason == "no_answer"


@pytest.mark.parametrize(
    "response",
    [
        '{"compliant": "Yes"} or {"compliant": "No"}',
        '```json\n{"compliant": "Yes"}\n```\n```json\n{"compliant": "No"}\n```',
    ],
)
def test_two_different_objects_are_multiple_answers(response: str) -> None:
    result = grade(COMPARE, response, {"compliant": "No"})
    assert result.score == 0.0
    assert result.reason == "multiple_answers"


@pytest.mark.parametrize(
    "reference",
    [
        {"compliant": "No"},
        '{"compliant": "No"}',
        {"answer": {"compliant": "No"}},
        {"answer": '{"compliant": "No"}'},
    ],
)
def test_compare_reference_full_credit_needs_equality(reference: Any) -> None:
    assert grade(COMPARE, '{"compliant": "No"}', reference).score == 1.0
    assert grade(COMPARE, '{"compliant": "Yes"}', reference).score < 1.0


def test_compare_reference_partial_credit_is_below_one_and_not_below_parse_score() -> None:
    reference = {"compliant": "No", "score": 3}
    exact = grade(COMPARE, '{"compliant": "No", "score": 3}', reference)
    half = grade(COMPARE, '{"compliant": "No", "score": 4}', reference)
    none = grade(COMPARE, '{"compliant": "Yes", "score": 4}', reference)
    stuffed = grade(COMPARE, '{"compliant": "No", "score": 3, "extra": 1}', reference)
    assert exact.score == 1.0
    assert 0.2 < half.score < 1.0
    assert none.score == pytest.approx(0.2)  # never below a schema failure
    assert half.score > none.score
    assert stuffed.score < 1.0  # extra keys are not equality
    assert half.metrics["field_overlap"] == pytest.approx(0.5)


def test_compare_reference_is_strict_about_types() -> None:
    schema = {"type": "object"}
    spec = {"grader": "json_schema", "schema": schema, "compare_reference": True}
    assert grade(spec, '{"ok": 1}', {"ok": True}).score < 1.0
    assert grade(spec, '{"n": 1.0}', {"n": 1}).score == 1.0
    assert grade(spec, '{"s": "no"}', {"s": "No"}).score < 1.0


def test_plain_string_reference_is_a_json_string() -> None:
    spec = {"grader": "json_schema", "schema": {"type": "string"}, "compare_reference": True}
    assert grade(spec, '"positive"', "positive").score == 1.0


@pytest.mark.parametrize("reference", [None, '{"compliant": ', "[1, 2"])
def test_unusable_reference_is_invalid_reference(reference: Any) -> None:
    result = grade(COMPARE, '{"compliant": "No"}', reference)
    assert result.score == 0.0
    assert result.reason == "invalid_reference"


def test_reference_is_ignored_without_compare_reference() -> None:
    assert grade(SPEC, '{"compliant": "Yes"}', {"compliant": "No"}).score == 1.0


def test_json_equal() -> None:
    assert json_equal({"a": [1, 2.0]}, {"a": [1.0, 2]})
    assert not json_equal(True, 1)
    assert not json_equal(0, False)
    assert not json_equal(None, 0)
    assert not json_equal([1], [1, 2])
    assert not json_equal({"a": 1}, {"b": 1})


def test_top_level_spans_skip_nested_and_survive_stray_openers() -> None:
    text = 'x { stray and {"a": {"b": [1]}} then ["c"]'
    spans = [text[s:e] for s, e in top_level_spans(text)]
    assert spans == ['{"a": {"b": [1]}}', '["c"]']
    quoted = '{"k": "a } inside"}'
    assert [quoted[s:e] for s, e in top_level_spans(quoted)] == [quoted]


@pytest.mark.parametrize(
    "response",
    [
        "{" * 1_000_000,
        "[" * 500_000 + "]" * 500_000,
        '{"compliant": "No"} ' * 60_000,
        "x" * 1_000_000,
        '"{' * 500_000,
    ],
)
def test_1mb_adversarial_inputs_complete(response: str) -> None:
    result = grade(SPEC, response)
    assert 0.0 <= result.score <= 1.0
    assert result.reason in {"invalid_json", "multiple_answers", "schema_mismatch", None}


def test_1mb_valid_json_document_is_graded() -> None:
    big = json.dumps({"compliant": "No", "padding": "x" * 1_000_000})
    assert grade(SPEC, big).score == 1.0
    assert grade(SPEC, "word " * 200_000 + '{"compliant": "No"}').score == 1.0


def test_deeply_nested_json_does_not_crash() -> None:
    result = grade({"grader": "json_schema", "schema": {"type": "array"}}, "[" * 100_000 + "]" * 100_000)
    assert result.score in (0.0, 0.2, 1.0)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='{}[]",:0123456789abc \\n', max_size=80))
def test_never_raises_and_scores_stay_in_range(response: str) -> None:
    result = grade(COMPARE, response, {"compliant": "No"})
    assert 0.0 <= result.score <= 1.0
    assert all(math.isfinite(v) for v in result.metrics.values())
    assert isinstance(json_candidates(response), list)
