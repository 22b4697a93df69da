"""``numeric`` grader: GSM8K-style number extraction and tolerant comparison."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reward_kit.graders import build_grader
from reward_kit.graders.base import GradeInput, GradeResult
from reward_kit.graders.numeric import numbers_in, parse_reference
from reward_kit.spec import validate_spec

NUMERIC = {"grader": "numeric"}


def grade(spec: dict[str, Any], response: Any, reference: Any) -> GradeResult:
    return build_grader(validate_spec(spec))(GradeInput(response, reference, {}))


@pytest.mark.parametrize(
    ("response", "reference"),
    [
        ("#### 72", 72),
        ("She has 72 apples.\n#### 72", "72"),
        ("\\boxed{72}", 72),
        ("\\boxed{72 \\text{ apples}}", 72),
        ("\\boxed{x = 72}", 72),
        ("The total is $1,234.00", 1234),
        ("\\boxed{\\$1,234}", "$1,234"),
        ("1,234", "1,234.00"),
        ("-3.5", -3.5),
        ("The change is −3.5 degrees", -3.5),  # Unicode minus
        ("#### −7", -7),
        ("#### ７２", 72),
        ("\\boxed{\\frac{1}{2}}", 0.5),
        ("\\boxed{\\dfrac{3}{4}}", "0.75"),
        ("1/2", 0.5),
        ("50%", 50),
        ("\\boxed{５０}", 50),  # full-width digits
        ("1e3", 1000),
        ("5 + 67 = 72", 72),  # last number fallback
        ("<think>maybe 71</think>It is 72.", 72),
        ("\\boxed{72} #### 72.0", 72),  # explicit answers that agree
        ("\\boxed{0.5} and \\boxed{1/2}", 0.5),
    ],
)
def test_correct_numbers_get_full_credit(response: str, reference: Any) -> None:
    result = grade(NUMERIC, response, reference)
    assert result.score == 1.0, result
    assert result.reason is None
    assert result.metrics["abs_error"] == pytest.approx(0.0, abs=1e-6)


def test_a_minus_between_numbers_is_not_a_sign() -> None:
    assert numbers_in("5-3") == [5.0, 3.0]
    assert grade(NUMERIC, "10-3", 3).score == 1.0


@pytest.mark.parametrize(
    "reference", [72, "72", "#### 72", {"answer": "Half of 144 is 72.\n#### 72"}, {"answer": 72.0}, "\\boxed{72}", [72]]
)
def test_reference_forms(reference: Any) -> None:
    assert parse_reference(reference) == 72.0


@pytest.mark.parametrize(
    "reference", [None, "seventy-two", "between 70 and 72", True, [], [72, "x"], {"other": 72}, float("nan"), "", {"answer": None}]
)
def test_non_numeric_reference_is_invalid_reference(reference: Any) -> None:
    result = grade(NUMERIC, "\\boxed{72}", reference)
    assert result.score == 0.0
    assert result.reason == "invalid_reference"


def test_absolute_and_relative_tolerance() -> None:
    assert grade({"grader": "numeric", "tolerance": 0.01}, "3.14", math.pi).score == 1.0
    assert grade({"grader": "numeric", "tolerance": 0.001}, "3.14", math.pi).score == 0.0
    assert grade({"grader": "numeric", "relative_tolerance": 0.01}, "1005", 1000).score == 1.0
    assert grade({"grader": "numeric", "relative_tolerance": 0.001}, "1005", 1000).score == 0.0


def test_default_tolerance_is_tight() -> None:
    assert grade(NUMERIC, "72.001", 72).score == 0.0


def test_explicit_wrong_answer_gets_format_score_fallback_gets_nothing() -> None:
    spec = {"grader": "numeric", "format_score": 0.1}
    assert grade(spec, "\\boxed{71}", 72).score == pytest.approx(0.1)
    assert grade(spec, "#### 71", 72).score == pytest.approx(0.1)
    assert grade(spec, "<answer>71</answer>", 72).score == pytest.approx(0.1)
    assert grade(spec, "I computed 71 apples in total", 72).score == 0.0


@pytest.mark.parametrize(
    "response",
    ["\\boxed{72} \\boxed{73}", "\\boxed{72}\n#### 73", "#### 71\n#### 72", "\\boxed{3 or 4}", "\\boxed{72, 73}"],
)
def test_conflicting_explicit_answers_are_multiple_answers(response: str) -> None:
    result = grade(NUMERIC, response, 72)
    assert result.score == 0.0
    assert result.reason == "multiple_answers"


@pytest.mark.parametrize("response", ["", "   ", "no numbers here", "\\boxed{many}", "#### none", "<think>72"])
def test_no_number_is_no_answer(response: str) -> None:
    result = grade(NUMERIC, response, 72)
    assert result.score == 0.0
    assert result.reason == "no_answer"


def test_abs_error_is_finite_and_capped() -> None:
    result = grade(NUMERIC, "\\boxed{1e300}", -1e300)
    assert math.isfinite(result.metrics["abs_error"])
    assert result.metrics["abs_error"] <= 1e12


def test_overflowing_numbers_are_ignored_not_infinite() -> None:
    assert numbers_in("9" * 400) == []
    assert grade(NUMERIC, "1e999", 1).reason == "no_answer"


def test_1mb_of_digits_and_commas_completes() -> None:
    assert grade(NUMERIC, "1," * 500_000 + " so \\boxed{72}", 72).score == 1.0
    assert grade(NUMERIC, "7" * 1_000_000, 72).reason == "no_answer"
    assert grade(NUMERIC, "#### " * 200_000 + "72", 72).reason == "no_answer"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789.,-+/$%#e \\boxed{}frac", max_size=80))
def test_never_raises_and_scores_stay_in_range(response: str) -> None:
    result = grade(NUMERIC, response, 72)
    assert 0.0 <= result.score <= 1.0
    assert all(math.isfinite(v) for v in result.metrics.values())
