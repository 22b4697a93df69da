"""``label`` grader: closed-set answers, normalization, aliases, ambiguity."""

from __future__ import annotations

from typing import Any

import pytest

from reward_kit.graders import build_grader
from reward_kit.graders.base import GradeInput, GradeResult
from reward_kit.spec import validate_spec

SENTIMENT = {"grader": "label", "labels": ["positive", "negative", "neutral"]}


def grade(spec: dict[str, Any], response: Any, reference: Any = "positive") -> GradeResult:
    return build_grader(validate_spec(spec))(GradeInput(response, reference, {}))


@pytest.mark.parametrize(
    "response",
    [
        "\\boxed{positive}",
        "positive",
        "Positive.",
        "**POSITIVE**",
        "ＰＯＳＩＴＩＶＥ",
        "\\boxed{\\text{Positive}}",
        "<thinking>hmm, negative? no.</thinking><solution>\\boxed{positive}</solution>",
        "The sentiment is positive.",
        "\\boxed{positive} and again \\boxed{Positive}",  # same label twice is one answer
        "\\boxed{The sentiment is positive}",
    ],
)
def test_correct_answers_get_full_credit(response: str) -> None:
    result = grade(SENTIMENT, response)
    assert result.score == 1.0
    assert result.rewards == {"label": 1.0}
    assert result.reason is None
    assert result.metrics["answer_found"] == 1.0


def test_wrong_label_in_expected_format_gets_format_score() -> None:
    spec = {**SENTIMENT, "format_score": 0.1}
    assert grade(spec, "\\boxed{negative}").score == pytest.approx(0.1)
    assert grade(spec, "negative").score == pytest.approx(0.1)
    assert grade(spec, "\\boxed{negative}").metrics["format_ok"] == 1.0


def test_wrong_label_only_mentioned_gets_nothing_even_with_format_score() -> None:
    spec = {**SENTIMENT, "format_score": 0.1}
    result = grade(spec, "I think this review is negative overall")
    assert result.score == 0.0
    assert result.metrics["format_ok"] == 0.0


@pytest.mark.parametrize(
    "response",
    [
        "positive negative neutral",
        "\\boxed{positive} \\boxed{negative}",
        "\\boxed{positive or negative}",
        "It is positive, or maybe negative.",
    ],
)
def test_more_than_one_label_is_multiple_answers(response: str) -> None:
    result = grade(SENTIMENT, response)
    assert result.score == 0.0
    assert result.reason == "multiple_answers"
    assert result.metrics["answer_found"] == 0.0


@pytest.mark.parametrize(
    "response",
    ["", "   ", "I cannot tell.", "\\boxed{mixed}", "positively thrilled", "<think>positive</think>"],
)
def test_no_label_is_no_answer(response: str) -> None:
    result = grade(SENTIMENT, response)
    assert result.score == 0.0
    assert result.reason == "no_answer"


def test_box_that_names_no_label_does_not_fall_back_to_mentions() -> None:
    # The model committed to "mixed"; a "positive" elsewhere is not its answer.
    assert grade(SENTIMENT, "positive words, but \\boxed{mixed}").reason == "no_answer"


def test_aliases_map_to_labels_on_both_sides() -> None:
    spec = {**SENTIMENT, "aliases": {"pos": "positive", "good": "positive", "bad": "negative"}}
    assert grade(spec, "\\boxed{pos}").score == 1.0
    assert grade(spec, "good").score == 1.0
    assert grade(spec, "\\boxed{positive}", reference="pos").score == 1.0
    # An alias and a different label are two answers.
    assert grade(spec, "good but bad").reason == "multiple_answers"


def test_longest_label_wins_over_a_label_inside_it() -> None:
    spec = {"grader": "label", "labels": ["negative", "very negative"]}
    assert grade(spec, "This is very negative.", reference="very negative").score == 1.0
    assert grade(spec, "This is very negative.", reference="negative").score == 0.0


@pytest.mark.parametrize(
    ("response", "reference", "score"),
    [
        ("ポジティブ", "ポジティブ", 1.0),
        ("この文の感情はポジティブです。", "ポジティブ", 1.0),
        ("\\boxed{ネガティブ}", "ポジティブ", 0.0),
        ("ポジティブかネガティブ", "ポジティブ", 0.0),
        ("「ニュートラル」", "ニュートラル", 1.0),
    ],
)
def test_japanese_labels_use_substring_matching(response: str, reference: str, score: float) -> None:
    spec = {"grader": "label", "labels": ["ポジティブ", "ネガティブ", "ニュートラル"]}
    assert grade(spec, response, reference).score == score


def test_japanese_spam_is_multiple_answers() -> None:
    spec = {"grader": "label", "labels": ["ポジティブ", "ネガティブ", "ニュートラル"]}
    assert grade(spec, "ポジティブ ネガティブ ニュートラル", "ポジティブ").reason == "multiple_answers"


@pytest.mark.parametrize(
    "reference",
    ["positive", "POSITIVE", " Positive ", {"answer": "positive"}, {"label": "positive"}],
)
def test_reference_forms(reference: Any) -> None:
    assert grade(SENTIMENT, "\\boxed{positive}", reference).score == 1.0


def test_numeric_labels_accept_number_references() -> None:
    spec = {"grader": "label", "labels": ["1", "2", "3"]}
    assert grade(spec, "\\boxed{2}", reference=2).score == 1.0
    assert grade(spec, "\\boxed{2}", reference=2.0).score == 1.0
    assert grade(spec, "\\boxed{2}", reference={"answer": 3}).score == 0.0


@pytest.mark.parametrize("reference", [None, "sarcastic", ["positive", "sarcastic"], [], True, {"other": "positive"}])
def test_unknown_reference_is_invalid_reference_not_a_crash(reference: Any) -> None:
    result = grade(SENTIMENT, "\\boxed{positive}", reference)
    assert result.score == 0.0
    assert result.reason == "invalid_reference"


def test_dimension_is_named_after_the_spec_name() -> None:
    result = grade({**SENTIMENT, "name": "sentiment"}, "positive")
    assert result.rewards == {"sentiment": 1.0}


@pytest.mark.parametrize("response", [None, 42, ["positive"], {"content": "positive"}])
def test_non_text_response_never_raises(response: Any) -> None:
    result = grade(SENTIMENT, response)
    assert result.score == 0.0
