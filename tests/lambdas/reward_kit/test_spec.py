"""REWARD_SPEC grammar: normalization, defaults and one-line errors that name the fix."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from reward_kit.spec import (
    GRADER_KINDS,
    SpecError,
    output_range,
    parse_spec_json,
    reward_dimensions,
    validate_spec,
)
from tests import ROOT
from tests.lambdas.helpers import spec_error

LAMBDAS = ROOT / "lambdas"

VALID_SPECS = {
    "label": {"grader": "label", "labels": ["positive", "negative"], "aliases": {"pos": "positive"}},
    "numeric": {"grader": "numeric", "tolerance": 0.01},
    "math": {"grader": "math"},
    "json_schema": {"grader": "json_schema", "schema": {"type": "object", "required": ["a"]}},
    "regex": {"grader": "regex", "pattern": r"^\d+$", "flags": ["IGNORECASE"]},
    "judge": {
        "grader": "judge",
        "rubric": "Is the answer polite and correct?",
        "criteria": {"politeness": "polite tone", "accuracy": {"description": "facts right", "weight": 3}},
        "max_score": 5,
    },
    "code": {"grader": "code", "language": "python", "timeout_seconds": 1.5, "memory_mb": 128, "all_or_nothing": True},
    "multi": {
        "grader": "multi",
        "graders": {
            "accuracy": {"grader": "numeric"},
            "format": {"grader": "regex", "pattern": "<answer>", "target": "response"},
        },
        "weights": {"accuracy": 3, "format": 1},
        "gates": {"format": {"on": "accuracy", "min": 0.5}},
        "length_penalty": {"max_chars": 4000, "buffer_chars": 1000},
        "range": [-1, 1],
    },
}


# --- happy paths ------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(VALID_SPECS))
def test_valid_specs_normalize_and_revalidate_to_the_same_dict(kind):
    spec = VALID_SPECS[kind]
    before = copy.deepcopy(spec)
    normalized = validate_spec(spec)
    assert spec == before, "validate_spec must not mutate its input"
    assert normalized["grader"] == kind
    assert validate_spec(normalized) == normalized


def test_every_kind_has_a_valid_example():
    assert sorted(VALID_SPECS) == sorted(GRADER_KINDS)


def test_defaults_are_filled():
    assert validate_spec({"grader": "numeric"}) == {
        "grader": "numeric",
        "name": "numeric",
        "format_score": 0.0,
        "tolerance": 1e-6,
        "relative_tolerance": 0.0,
        "range": [0.0, 1.0],
    }
    assert validate_spec({"grader": "math"})["timeout_seconds"] == 5.0
    js = validate_spec({"grader": "json_schema", "schema": {}})
    assert (js["parse_score"], js["compare_reference"]) == (0.2, False)
    rx = validate_spec({"grader": "regex", "pattern": "x"})
    assert (rx["flags"], rx["target"], rx["full_match"]) == ([], "answer", False)
    assert validate_spec({"grader": "label", "labels": ["a"]})["aliases"] == {}


def test_multi_normalizes_weights_and_names_components():
    spec = validate_spec(VALID_SPECS["multi"])
    assert spec["weights"] == {"accuracy": 0.75, "format": 0.25}
    assert spec["graders"]["accuracy"]["name"] == "accuracy"
    assert spec["graders"]["format"]["target"] == "response"
    assert spec["gates"] == {"format": {"on": "accuracy", "min": 0.5}}
    assert spec["length_penalty"] == {"max_chars": 4000, "buffer_chars": 1000, "weight": 1.0}
    equal = validate_spec({"grader": "multi", "graders": {"a": {"grader": "numeric"}, "b": {"grader": "math"}}})
    assert equal["weights"] == {"a": 0.5, "b": 0.5}
    assert equal["gates"] == {} and equal["length_penalty"] is None


def test_dimensions_and_range():
    assert reward_dimensions(validate_spec({"grader": "label", "labels": ["a"], "name": "sentiment"})) == ["sentiment"]
    assert reward_dimensions(validate_spec({"grader": "numeric"})) == ["numeric"]
    multi = validate_spec(VALID_SPECS["multi"])
    assert reward_dimensions(multi) == ["accuracy", "format"]
    assert output_range(multi) == (-1.0, 1.0)
    assert output_range(validate_spec({"grader": "math"})) == (0.0, 1.0)
    assert output_range(validate_spec({"grader": "math", "range": [2, 7.5]})) == (2.0, 7.5)


# --- errors --------------------------------------------------------------------------


def test_unknown_kind_in_a_component_names_path_and_allowed_values():
    message = spec_error({"grader": "multi", "graders": {"accuracy": {"grader": "foo"}}})
    assert message == (
        "REWARD_SPEC.graders.accuracy.grader: must be one of "
        "['code', 'json_schema', 'judge', 'label', 'math', 'multi', 'numeric', 'regex'], got 'foo'"
    )


@pytest.mark.parametrize(
    ("spec", "starts_with", "mentions"),
    [
        ([], "REWARD_SPEC:", "JSON object"),
        ({}, "REWARD_SPEC.grader:", "required"),
        ({"grader": "jduge", "rubric": "x"}, "REWARD_SPEC.grader:", "must be one of"),
        ({"grader": "numeric", "tolerence": 1}, "REWARD_SPEC.tolerence:", "'tolerance'"),
        ({"grader": "numeric", "tolerance": -1}, "REWARD_SPEC.tolerance:", ">= 0"),
        ({"grader": "numeric", "tolerance": True}, "REWARD_SPEC.tolerance:", "finite number"),
        ({"grader": "numeric", "tolerance": float("nan")}, "REWARD_SPEC.tolerance:", "finite number"),
        ({"grader": "numeric", "format_score": 1}, "REWARD_SPEC.format_score:", "[0, 1)"),
        ({"grader": "numeric", "name": "has space"}, "REWARD_SPEC.name:", "[A-Za-z0-9_-]{1,64}"),
        ({"grader": "label"}, "REWARD_SPEC.labels:", "required"),
        ({"grader": "label", "labels": []}, "REWARD_SPEC.labels:", "non-empty list"),
        ({"grader": "label", "labels": ["a", ""]}, "REWARD_SPEC.labels[1]:", "non-empty string"),
        ({"grader": "label", "labels": ["a", "a"]}, "REWARD_SPEC.labels[1]:", "duplicate"),
        ({"grader": "label", "labels": ["a"], "aliases": {"x": "b"}}, "REWARD_SPEC.aliases.x:", "['a']"),
        ({"grader": "math", "timeout_seconds": 0}, "REWARD_SPEC.timeout_seconds:", "(0, 60]"),
        ({"grader": "json_schema"}, "REWARD_SPEC.schema:", "required"),
        ({"grader": "json_schema", "schema": "object"}, "REWARD_SPEC.schema:", "JSON Schema"),
        ({"grader": "json_schema", "schema": {"type": "objx"}}, "REWARD_SPEC.schema.type:", "invalid JSON Schema"),
        ({"grader": "json_schema", "schema": {}, "parse_score": 1.0}, "REWARD_SPEC.parse_score:", "[0, 1)"),
        ({"grader": "json_schema", "schema": {}, "compare_reference": "yes"}, "REWARD_SPEC.compare_reference:", "true or false"),
        ({"grader": "regex"}, "REWARD_SPEC.pattern:", "required"),
        ({"grader": "regex", "pattern": "("}, "REWARD_SPEC.pattern:", "does not compile"),
        ({"grader": "regex", "pattern": "x", "flags": ["I"]}, "REWARD_SPEC.flags[0]:", "['DOTALL', 'IGNORECASE', 'MULTILINE']"),
        ({"grader": "regex", "pattern": "x", "target": "all"}, "REWARD_SPEC.target:", "['answer', 'response']"),
        ({"grader": "multi"}, "REWARD_SPEC.graders:", "required"),
        ({"grader": "multi", "graders": {}}, "REWARD_SPEC.graders:", "at least one"),
        ({"grader": "multi", "graders": {"a b": {"grader": "math"}}}, "REWARD_SPEC.graders:", "valid name"),
        ({"grader": "multi", "graders": {"a": {"grader": "multi", "graders": {}}}}, "REWARD_SPEC.graders.a.grader:", "another multi"),
        ({"grader": "multi", "graders": {"a": {"grader": "math", "name": "b"}}}, "REWARD_SPEC.graders.a.name:", "component key"),
        ({"grader": "multi", "graders": {"a": {"grader": "math", "range": [0, 1]}}}, "REWARD_SPEC.graders.a.range:", "unknown key"),
        ({"grader": "multi", "graders": {"a": {"grader": "math"}}, "weights": {"b": 1}}, "REWARD_SPEC.weights:", "['a']"),
        ({"grader": "multi", "graders": {"a": {"grader": "math"}, "b": {"grader": "math"}}, "weights": {"a": 1}}, "REWARD_SPEC.weights:", "no weight for ['b']"),
        ({"grader": "multi", "graders": {"a": {"grader": "math"}}, "weights": {"a": 0}}, "REWARD_SPEC.weights:", "sum to more than 0"),
        ({"grader": "multi", "graders": {"a": {"grader": "math"}}, "weights": {"a": -1}}, "REWARD_SPEC.weights.a:", ">= 0"),
        ({"grader": "multi", "graders": {"a": {"grader": "math"}}, "gates": {"a": {"on": "a"}}}, "REWARD_SPEC.gates.a.on:", "must be one of"),
        ({"grader": "multi", "graders": {"a": {"grader": "math"}, "b": {"grader": "math"}}, "gates": {"a": {"on": "b", "min": 2}}}, "REWARD_SPEC.gates.a.min:", "[0, 1]"),
        ({"grader": "multi", "graders": {"a": {"grader": "math"}, "b": {"grader": "math"}}, "gates": {"a": {"on": "b"}, "b": {"on": "a"}}}, "REWARD_SPEC.gates:", "cycle"),
        ({"grader": "multi", "graders": {"a": {"grader": "math"}}, "length_penalty": {"max_chars": 0}}, "REWARD_SPEC.length_penalty.max_chars:", ">= 1"),
        ({"grader": "multi", "graders": {"a": {"grader": "math"}}, "length_penalty": {"max_chars": 10, "buffer_chars": 10}}, "REWARD_SPEC.length_penalty.buffer_chars:", "< max_chars"),
        ({"grader": "multi", "graders": {"a": {"grader": "math"}}, "length_penalty": {"max_chars": 10, "weight": 0}}, "REWARD_SPEC.length_penalty.weight:", "(0, 1]"),
        ({"grader": "math", "range": [1, 0]}, "REWARD_SPEC.range:", "must be <"),
        ({"grader": "math", "range": [0]}, "REWARD_SPEC.range:", "[lo, hi]"),
        ({"grader": "math", "range": ["0", 1]}, "REWARD_SPEC.range[0]:", "finite number"),
        ({"grader": "math", "range": [0, float("inf")]}, "REWARD_SPEC.range[1]:", "finite number"),
    ],
)
def test_errors_are_one_line_and_name_the_key_path(spec, starts_with, mentions):
    message = spec_error(spec)
    assert message.startswith(starts_with), message
    assert mentions in message, message


def test_error_key_prefix_is_configurable():
    message = spec_error({"grader": "nope"}, key="context.functions.sentiment.spec")
    assert message.startswith("context.functions.sentiment.spec.grader: must be one of")


def test_spec_error_is_a_value_error():
    assert issubclass(SpecError, ValueError)


# --- JSON text (the environment variable) -------------------------------------------------


def test_parse_spec_json_valid():
    assert parse_spec_json('{"grader": "label", "labels": ["a"]}')["labels"] == ["a"]


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        (None, "not set"),
        ("   ", "not set"),
        ('{"grader": ', "not valid JSON"),
        ("{'grader': 'math'}", "not valid JSON"),
        ('{"grader": "numeric", "tolerance": NaN}', "not valid JSON"),
        ('"math"', "JSON object"),
    ],
)
def test_parse_spec_json_errors_name_the_key(text, mentions):
    with pytest.raises(SpecError) as info:
        parse_spec_json(text, key="REWARD_SPEC")
    assert str(info.value).startswith("REWARD_SPEC:")
    assert mentions in str(info.value)


def test_spec_module_imports_only_the_standard_library():
    # The CDK app imports this at synth time; third-party imports would slow or break it.
    code = (
        "import sys; import reward_kit.spec; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'jsonschema', 'aws_lambda_powertools', 'boto3', 'math_verify'}); print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=LAMBDAS, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
