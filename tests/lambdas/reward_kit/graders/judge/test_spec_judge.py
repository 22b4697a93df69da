"""REWARD_SPEC grammar for the judge grader: defaults, criteria, one-line errors."""

from __future__ import annotations

import pytest

from reward_kit.spec import reward_dimensions, uses_judge, validate_spec
from tests.lambdas.helpers import spec_error

BASE = {"grader": "judge", "rubric": "Reward correct, polite answers."}


def test_defaults_are_filled_and_revalidate_to_the_same_dict():
    spec = validate_spec(BASE)
    assert spec == {
        "grader": "judge",
        "name": "judge",
        "format_score": 0.0,
        "rubric": BASE["rubric"],
        "criteria": None,
        "max_score": 10,
        "include_reference": True,
        "include_prompt": True,
        "max_tokens": 512,
        "temperature": 0.0,
        "max_response_chars": 20_000,
        "range": [0.0, 1.0],
    }
    assert validate_spec(spec) == spec


def test_criteria_normalize_to_descriptions_and_weights_summing_to_one():
    spec = validate_spec({**BASE, "criteria": {"accuracy": {"description": "right", "weight": 3}, "tone": "polite"}})
    assert spec["criteria"] == {
        "accuracy": {"description": "right", "weight": 0.75},
        "tone": {"description": "polite", "weight": 0.25},
    }
    assert validate_spec(spec) == spec
    # Criteria are Metrics of the one judge dimension: the Reward dimensions stay stable.
    assert reward_dimensions(spec) == ["judge"]


def test_include_prompt_is_a_boolean_kept_as_given_also_inside_multi():
    assert validate_spec({**BASE, "include_prompt": False})["include_prompt"] is False
    multi = validate_spec({"grader": "multi", "graders": {"q": {**BASE, "include_prompt": False}}})
    assert multi["graders"]["q"]["include_prompt"] is False
    assert validate_spec(multi) == multi


def test_judge_inside_multi_and_uses_judge():
    multi = validate_spec({"grader": "multi", "graders": {"quality": BASE, "acc": {"grader": "numeric"}}})
    assert multi["graders"]["quality"]["max_score"] == 10
    assert reward_dimensions(multi) == ["quality", "acc"]
    assert uses_judge(multi) and uses_judge(validate_spec(BASE))
    assert not uses_judge(validate_spec({"grader": "numeric"}))
    assert not uses_judge(validate_spec({"grader": "multi", "graders": {"a": {"grader": "math"}}}))


@pytest.mark.parametrize(
    ("spec", "starts_with", "mentions"),
    [
        ({"grader": "judge"}, "REWARD_SPEC.rubric:", "required"),
        ({**BASE, "rubric": "  "}, "REWARD_SPEC.rubric:", "non-empty string"),
        ({**BASE, "rubric": 3}, "REWARD_SPEC.rubric:", "non-empty string"),
        ({**BASE, "model_id": "amazon.nova-pro-v1:0"}, "REWARD_SPEC.model_id:", "unknown key"),
        ({**BASE, "rubirc": "x"}, "REWARD_SPEC.rubirc:", "'rubric'"),
        ({**BASE, "criteria": {}}, "REWARD_SPEC.criteria:", "at least one"),
        ({**BASE, "criteria": ["a"]}, "REWARD_SPEC.criteria:", "JSON object"),
        ({**BASE, "criteria": {"a b": "x"}}, "REWARD_SPEC.criteria:", "valid name"),
        ({**BASE, "criteria": {"a": ""}}, "REWARD_SPEC.criteria.a:", "non-empty string"),
        ({**BASE, "criteria": {"a": 1}}, "REWARD_SPEC.criteria.a:", "description string"),
        ({**BASE, "criteria": {"a": {"weight": 1}}}, "REWARD_SPEC.criteria.a.description:", "non-empty string"),
        ({**BASE, "criteria": {"a": {"description": "x", "wieght": 1}}}, "REWARD_SPEC.criteria.a.wieght:", "unknown key"),
        ({**BASE, "criteria": {"a": {"description": "x", "weight": -1}}}, "REWARD_SPEC.criteria.a.weight:", ">= 0"),
        ({**BASE, "criteria": {"a": {"description": "x", "weight": 0}}}, "REWARD_SPEC.criteria:", "sum to more than 0"),
        ({**BASE, "max_score": 0}, "REWARD_SPEC.max_score:", ">= 1"),
        ({**BASE, "max_score": 7.5}, "REWARD_SPEC.max_score:", "must be an integer"),
        ({**BASE, "max_score": 1000}, "REWARD_SPEC.max_score:", "<= 100"),
        ({**BASE, "include_reference": "yes"}, "REWARD_SPEC.include_reference:", "true or false"),
        ({**BASE, "include_prompt": "no"}, "REWARD_SPEC.include_prompt:", "true or false"),
        ({**BASE, "include_prompt": 1}, "REWARD_SPEC.include_prompt:", "true or false"),
        ({**BASE, "include_promt": False}, "REWARD_SPEC.include_promt:", "'include_prompt'"),
        ({"grader": "label", "labels": ["a"], "include_prompt": True}, "REWARD_SPEC.include_prompt:", "unknown key"),
        ({**BASE, "max_tokens": 4}, "REWARD_SPEC.max_tokens:", ">= 16"),
        ({**BASE, "temperature": 1.5}, "REWARD_SPEC.temperature:", "[0, 1]"),
        ({**BASE, "max_response_chars": 10}, "REWARD_SPEC.max_response_chars:", ">= 100"),
        ({"grader": "multi", "graders": {"q": {"grader": "judge"}}}, "REWARD_SPEC.graders.q.rubric:", "required"),
    ],
)
def test_errors_are_one_line_and_name_the_key_path(spec, starts_with, mentions):
    message = spec_error(spec)
    assert message.startswith(starts_with), message
    assert mentions in message, message
