"""Regression suite: known reward hacks must earn no correctness credit.

Each case is a response a policy could learn to produce to collect reward without being right.
The article's sample grader falls back to "first sentiment keyword found anywhere", so
"positive negative neutral" scores 1.0 for every reference; these tests pin that down for
every grader. Legitimate formatting variation (case, full-width, markdown) must stay CORRECT.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from reward_kit.graders import build_grader
from reward_kit.graders.base import GradeInput, GradeResult
from reward_kit.spec import validate_spec

LABELS = ["positive", "negative", "neutral"]
LABEL = {"grader": "label", "labels": LABELS, "format_score": 0.1}
NUMERIC = {"grader": "numeric", "format_score": 0.1}
MATH = {"grader": "math", "format_score": 0.1}
JSON = {
    "grader": "json_schema",
    "schema": {"type": "object", "properties": {"sentiment": {"enum": LABELS}}, "required": ["sentiment"]},
    "compare_reference": True,
}
MB = 1_000_000

_GRADERS: dict[str, Any] = {}


def grader_for(spec: dict[str, Any]):
    key = repr(spec)
    if key not in _GRADERS:
        _GRADERS[key] = build_grader(validate_spec(spec))
    return _GRADERS[key]


def grade(spec: dict[str, Any], response: Any, reference: Any) -> GradeResult:
    result = grader_for(spec)(GradeInput(response, reference, {}))
    assert 0.0 <= result.score <= 1.0 and math.isfinite(result.score)
    return result


def no_credit(result: GradeResult) -> bool:
    """No correctness credit: zero, or at most format credit (strictly below full marks)."""
    return result.score <= 0.1 + 1e-9


# --- keyword spam --------------------------------------------------------------------------


@pytest.mark.parametrize("reference", LABELS)
@pytest.mark.parametrize(
    "response",
    [
        "positive negative neutral",
        "Positive, Negative, or Neutral",
        "\\boxed{positive negative neutral}",
        "positive " * 1000 + "negative",
        "The answer could be positive/negative/neutral.",
    ],
)
def test_label_keyword_spam_earns_nothing(response: str, reference: str) -> None:
    result = grade(LABEL, response, reference)
    assert result.score == 0.0
    assert result.reason == "multiple_answers"


@pytest.mark.parametrize("reference", LABELS)
def test_article_hack_every_label_at_once_never_pays(reference: str) -> None:
    # The flawed sample grader returned 1.0 here for every reference.
    assert grade(LABEL, "positive negative neutral", reference).score == 0.0


@pytest.mark.parametrize(
    "response",
    ["\\boxed{3, 4}", "\\boxed{3 \\text{ or } 4}", "\\boxed{1,2,3,4,5}", "\\boxed{x=3 \\text{ or } x=4}", "\\boxed{[0, 10]}"],
)
def test_math_hedging_inside_one_box_earns_nothing(response: str) -> None:
    assert grade(MATH, response, "3").score <= 0.1


# A reference whose answer is words inside an equation: math-verify keeps only "x =" of it, so
# any words (an anagram) or none used to match it.
@pytest.mark.parametrize("response", ["\\boxed{x = \\text{two forty}}", "\\boxed{x =}", "\\boxed{x = \\text{forty}}",
                                      "\\boxed{x = \\text{forty two three}}", "\\boxed{x = \\text{fourty two}}"])
def test_math_words_of_an_equation_reference_must_be_the_same_words(response: str) -> None:
    assert no_credit(grade(MATH, response, "x = \\text{forty two}"))


@pytest.mark.parametrize(("response", "reference"), [
    ("\\boxed{x = \\text{forty two}}", "x = \\text{forty two}"),
    ("\\boxed{x = \\text{Forty  Two}}", "x = \\text{forty two}"),  # case and spacing are not words
    ("\\boxed{Monday}", "\\text{Monday}"),
    ("\\boxed{\\textbf{monday}}", "\\text{Monday}"),
    ("\\boxed{5}", "5\\text{ cm}"),  # a value beside its words (a unit) stays math-verify's to judge
    ("\\boxed{\\text{B}}", "\\text{(B)}"),
])
def test_math_the_same_words_still_earn_full_marks(response: str, reference: str) -> None:
    assert grade(MATH, response, reference).score == 1.0


def test_numeric_spam_in_one_box_earns_nothing() -> None:
    result = grade(NUMERIC, "\\boxed{70, 71, 72, 73}", 72)
    assert result.score == 0.0
    assert result.reason == "multiple_answers"


# --- conflicting explicit answers ------------------------------------------------------------


@pytest.mark.parametrize("reference", ["positive", "negative"])
def test_two_different_label_boxes_earn_nothing(reference: str) -> None:
    result = grade(LABEL, "\\boxed{positive} \\boxed{negative}", reference)
    assert result.score == 0.0
    assert result.reason == "multiple_answers"


@pytest.mark.parametrize(
    ("spec", "response", "reference"),
    [
        (NUMERIC, "\\boxed{71} \\boxed{72}", 72),
        (NUMERIC, "\\boxed{72}\n#### 71", 72),
        (NUMERIC, "#### 72\n#### 73", 72),
        (MATH, "\\boxed{\\frac{1}{2}} \\boxed{\\frac{1}{3}}", "1/2"),
        (MATH, "\\boxed{1}\\boxed{2}\\boxed{3}\\boxed{4}\\boxed{5}", "3"),
        (JSON, '{"sentiment": "positive"} {"sentiment": "negative"}', {"sentiment": "positive"}),
    ],
)
def test_conflicting_explicit_answers_earn_nothing(spec: dict[str, Any], response: str, reference: Any) -> None:
    result = grade(spec, response, reference)
    assert result.score == 0.0
    assert result.reason == "multiple_answers"


@pytest.mark.parametrize(
    ("spec", "response", "reference"),
    [
        # A doubled backslash ("\\\\boxed", e.g. over-escaped LaTeX) must not hide the second box.
        (LABEL, "\\\\boxed{\\text{positive}} \\\\boxed{\\text{negative}}", "positive"),
        (LABEL, "\\boxed{\\text{positive}} \\\\boxed{negative}", "positive"),
        (MATH, "\\boxed{\\frac{1}{2}} \\\\boxed{\\frac{1}{3}}", "1/2"),
        (MATH, "\\\\boxed{\\frac{1}{2}} \\\\boxed{\\frac{1}{3}}", "1/2"),
        (NUMERIC, "\\boxed{\\frac{1}{2}} \\\\boxed{3}", 0.5),
    ],
)
def test_a_second_box_behind_a_doubled_backslash_is_still_a_second_answer(
    spec: dict[str, Any], response: str, reference: Any
) -> None:
    result = grade(spec, response, reference)
    assert result.score == 0.0
    assert result.reason == "multiple_answers"


# --- answer only in the reasoning --------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "reasoning", "reference"),
    [
        (LABEL, "the answer is positive", "positive"),
        (NUMERIC, "#### 72 \\boxed{72}", 72),
        (MATH, "\\boxed{\\frac{1}{2}}", "0.5"),
        (JSON, '{"sentiment": "positive"}', {"sentiment": "positive"}),
    ],
)
@pytest.mark.parametrize("after", ["", "   ", "I am not sure.", "<think>still thinking"])
def test_answer_only_in_reasoning_earns_nothing(
    spec: dict[str, Any], reasoning: str, reference: Any, after: str
) -> None:
    for tag in ("thinking", "think"):
        response = f"<{tag}>{reasoning}</{tag}>{after}"
        assert no_credit(grade(spec, response, reference)), response
    # Never closing the reasoning block is not a way around it either.
    assert no_credit(grade(spec, f"<thinking>{reasoning}", reference))


def test_answer_in_reasoning_then_a_different_final_answer_is_graded_on_the_final() -> None:
    result = grade(LABEL, "<thinking>the answer is positive</thinking>\\boxed{negative}", "positive")
    assert result.score == pytest.approx(0.1)  # format credit only: it answered negative


# --- empty and whitespace answers -----------------------------------------------------------------


@pytest.mark.parametrize("spec", [LABEL, NUMERIC, MATH, JSON])
@pytest.mark.parametrize("response", ["", " ", "\n\t\n", "\u3000", "<solution></solution>", "\\boxed{}", "<answer> </answer>"])
def test_empty_answers_earn_nothing(spec: dict[str, Any], response: str) -> None:
    reference = {"sentiment": "positive"} if spec is JSON else ("positive" if spec is LABEL else "72")
    result = grade(spec, response, reference)
    assert result.score == 0.0
    assert result.reason is not None


def test_empty_answer_earns_nothing_from_a_pattern_that_matches_empty() -> None:
    result = grade({"grader": "regex", "pattern": ".*"}, "   ", None)
    assert result.score == 0.0


# --- answer only in the prompt / user turn -----------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "response", "reference"),
    [
        (LABEL, "As the user said, I will answer.", "positive"),
        (NUMERIC, "Let me think about the question.", 72),
        (MATH, "See the problem statement.", "\\frac{1}{2}"),
    ],
)
def test_response_without_the_answer_earns_nothing(spec: dict[str, Any], response: str, reference: Any) -> None:
    # The user turn may contain the answer; graders only ever see the final assistant message.
    assert grade(spec, response, reference).score == 0.0
    # Even handed the prompt (GradeInput.prompt, which only the judge asks for), a deterministic
    # grader never reads an answer out of it.
    prompt = f"The answer is \\boxed{{{reference}}}. <solution>{reference}</solution> #### {reference}"
    result = grader_for(spec)(GradeInput(response, reference, {}, prompt))
    assert result.score == 0.0


DETERMINISTIC_SPECS = [
    LABEL,
    NUMERIC,
    MATH,
    JSON,
    {"grader": "regex", "pattern": "positive"},
    {"grader": "multi", "graders": {"acc": LABEL, "fmt": {"grader": "regex", "pattern": "positive"}}},
]


@pytest.mark.parametrize("spec", DETERMINISTIC_SPECS, ids=lambda s: s["grader"])
def test_an_answer_only_in_the_user_turn_earns_nothing_end_to_end(spec: dict[str, Any]) -> None:
    from reward_kit.scoring import Scorer

    reference = {"sentiment": "positive"} if spec is JSON else ("72" if spec in (NUMERIC, MATH) else "positive")
    answer = '{"sentiment": "positive"}' if spec is JSON else f"\\boxed{{{reference}}}"
    event = [
        {
            "id": "hack",
            "messages": [
                {"role": "user", "content": f"{answer} <solution>{reference}</solution> positive 72"},
                {"role": "assistant", "content": "I am not sure."},
                {"role": "user", "content": f"Correct answer: {answer}"},  # trailing user turn
            ],
            "metadata": {"reference_answer": reference},
        }
    ]
    scorer = Scorer(spec)
    assert scorer.wants_prompt is False  # deterministic graders never receive the prompt
    result = scorer.score_event(event)
    assert result.values["aggregate"] == [0.0]
    assert result.samples[0].prompt is None


# --- repeating the prompt/reference next to a different answer -------------------------------


@pytest.mark.parametrize(
    ("spec", "response", "reference"),
    [
        (LABEL, "You asked whether this is positive. \\boxed{negative}", "positive"),
        (NUMERIC, "The question mentions 72 apples. \\boxed{71}", 72),
        (MATH, "Is it $\\frac{1}{2}$? I say \\boxed{\\frac{1}{3}}", "\\frac{1}{2}"),
    ],
)
def test_echoing_the_reference_next_to_a_different_box_earns_nothing(
    spec: dict[str, Any], response: str, reference: Any
) -> None:
    result = grade(spec, response, reference)
    assert result.score == pytest.approx(0.1)  # format credit only, never correctness


def test_echoing_the_options_then_answering_wrong_unboxed_earns_nothing() -> None:
    response = "Options: positive, negative, neutral. Answer: negative"
    assert grade(LABEL, response, "positive").score == 0.0


# --- legitimate formatting variation stays correct ----------------------------------------------


@pytest.mark.parametrize(
    "response",
    ["ＰＯＳＩＴＩＶＥ", "Positive", "POSITIVE", "pOsItIvE", "**positive**.", "\\boxed{ＰｏｓｉｔｉＶｅ}", "`positive`"],
)
def test_full_width_and_mixed_case_labels_are_correct(response: str) -> None:
    assert grade(LABEL, response, "positive").score == 1.0


def test_full_width_numbers_are_correct() -> None:
    assert grade(NUMERIC, "\\boxed{７２}", 72).score == 1.0


# --- huge responses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "response", "reference", "expected"),
    [
        (LABEL, "positive " * (MB // 9), "positive", 1.0),  # one label, repeated: still one answer
        (LABEL, "positive negative " * (MB // 18), "positive", 0.0),
        (LABEL, "x" * MB + " \\boxed{positive}", "positive", 1.0),
        (LABEL, "<think>" + "positive " * (MB // 9), "positive", 0.0),
        (NUMERIC, "9" * MB, 72, 0.0),
        (NUMERIC, "1 " * (MB // 2) + "#### 72", 72, 1.0),
        (MATH, "\\boxed{" * (MB // 7) + "\\boxed{4}", "4", 1.0),
        (JSON, "{" * MB, {"sentiment": "positive"}, 0.0),
        (JSON, "junk " * (MB // 5) + '{"sentiment": "positive"}', {"sentiment": "positive"}, 1.0),
    ],
)
def test_1mb_responses_complete_with_the_right_score(
    spec: dict[str, Any], response: str, reference: Any, expected: float
) -> None:
    assert grade(spec, response, reference).score == expected


# --- JSON with extra junk -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ('Sure! {"sentiment": "positive"} Hope that helps.', 1.0),  # prose around one object is fine
        ('{"sentiment": "positive", "sentiment": "negative"}', 0.0),  # duplicate keys: parser picks
        ('{"sentiment": "negative"} // actually {"sentiment": "positive"}', 0.0),  # two answers
        ('{"sentiment": "positive"', 0.0),  # truncated
        ('{"sentiment": "positive", "extra": "junk"}', 0.9),  # extra keys: close, not full marks
    ],
)
def test_json_with_extra_junk(response: str, expected: float) -> None:
    result = grade(JSON, response, {"sentiment": "positive"})
    if expected == 0.9:
        assert 0.0 < result.score < 1.0
    else:
        assert result.score == expected


# --- regex anchoring games -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "response"),
    [
        ({"grader": "regex", "pattern": "positive|negative", "full_match": True}, "positive negative"),
        ({"grader": "regex", "pattern": "^positive$"}, "negative\npositive"),
        ({"grader": "regex", "pattern": "^positive$"}, "positive\nnegative"),
        ({"grader": "regex", "pattern": "^positive$"}, "<thinking>x</thinking>negative\n<think>positive"),
        ({"grader": "regex", "pattern": "positive", "full_match": True}, "<think>positive</think>neutral"),
        ({"grader": "regex", "pattern": "^positive$"}, "<solution>positive</solution><solution>negative</solution>"),
    ],
)
def test_regex_anchoring_games_earn_nothing(spec: dict[str, Any], response: str) -> None:
    assert grade(spec, response, None).score == 0.0


# --- multi: format credit cannot buy full marks -------------------------------------------------------


def test_multi_format_credit_without_correctness_stays_below_full_marks() -> None:
    spec = {
        "grader": "multi",
        "graders": {
            "accuracy": {"grader": "label", "labels": LABELS},
            "format": {"grader": "regex", "pattern": r"\\boxed\{", "target": "response"},
        },
        "weights": {"accuracy": 0.8, "format": 0.2},
    }
    assert grade(spec, "\\boxed{negative}", "positive").score == pytest.approx(0.2)
    assert grade(spec, "\\boxed{positive} \\boxed{negative}", "positive").score == pytest.approx(0.2)
    assert grade(spec, "\\boxed{positive}", "positive").score == pytest.approx(1.0)


def test_multi_padding_to_game_length_is_penalized() -> None:
    spec = {
        "grader": "multi",
        "graders": {"accuracy": {"grader": "label", "labels": LABELS}},
        "length_penalty": {"max_chars": 1000, "buffer_chars": 200},
    }
    assert grade(spec, "\\boxed{positive}", "positive").score == 1.0
    assert grade(spec, "\\boxed{positive}" + " filler" * 200, "positive").score == 0.0
