"""``regex`` grader: search/fullmatch, flags, targets, anchoring, input bound."""

from __future__ import annotations

from typing import Any

import pytest

from reward_kit.graders import build_grader
from reward_kit.graders.base import GradeInput, GradeResult
from reward_kit.graders.regex import MAX_SCAN_CHARS
from reward_kit.spec import validate_spec


def grade(spec: dict[str, Any], response: Any) -> GradeResult:
    return build_grader(validate_spec({"grader": "regex", **spec}))(GradeInput(response, None, {}))


def test_search_matches_anywhere_in_the_answer() -> None:
    result = grade({"pattern": r"\d{3}-\d{4}"}, "Call 555-1234 today")
    assert result.score == 1.0
    assert result.rewards == {"regex": 1.0}
    assert result.metrics == {"matched": 1.0}
    assert grade({"pattern": r"\d{3}-\d{4}"}, "Call me").score == 0.0


def test_full_match_needs_the_whole_answer() -> None:
    spec = {"pattern": r"positive|negative", "full_match": True}
    assert grade(spec, "  positive \n").score == 1.0  # surrounding whitespace is stripped
    assert grade(spec, "positive negative").score == 0.0  # alternation is not a loophole
    assert grade(spec, "positive, I think").score == 0.0


def test_flags() -> None:
    assert grade({"pattern": "^yes$", "full_match": True}, "YES").score == 0.0
    assert grade({"pattern": "^yes$", "full_match": True, "flags": ["IGNORECASE"]}, "YES").score == 1.0
    assert grade({"pattern": "a.b"}, "a\nb").score == 0.0
    assert grade({"pattern": "a.b", "flags": ["DOTALL"]}, "a\nb").score == 1.0


def test_anchors_without_multiline_mean_the_whole_text() -> None:
    spec = {"pattern": r"^\d+$"}
    assert grade(spec, "42").score == 1.0
    assert grade(spec, "junk\n42").score == 0.0  # an extra line does not sneak past ^
    assert grade({**spec, "flags": ["MULTILINE"]}, "junk\n42").score == 1.0  # author's choice


def test_answer_target_ignores_reasoning_response_target_does_not() -> None:
    response = "<thinking>SECRET-42</thinking>final text"
    assert grade({"pattern": "SECRET"}, response).score == 0.0
    assert grade({"pattern": "SECRET", "target": "response"}, response).score == 1.0
    assert grade({"pattern": "^final text$", "target": "answer"}, response).score == 1.0


def test_answer_target_uses_the_last_solution_block() -> None:
    response = "<solution>A</solution> ... <solution>B</solution>"
    assert grade({"pattern": "^B$"}, response).score == 1.0
    assert grade({"pattern": "A"}, response).score == 0.0


@pytest.mark.parametrize("response", ["", "   ", "<think>unfinished", None, 42])
def test_empty_answer_never_matches_even_a_pattern_that_accepts_empty(response: Any) -> None:
    result = grade({"pattern": r"(yes)?"}, response)
    assert result.score == 0.0
    assert result.reason == "no_answer"


def test_text_over_the_scan_bound_is_not_scanned() -> None:
    result = grade({"pattern": "needle"}, "x" * MAX_SCAN_CHARS + "needle")
    assert result.score == 0.0
    assert result.reason == "answer_too_long"
    assert grade({"pattern": "needle"}, "x" * (MAX_SCAN_CHARS - 10) + "needle").score == 1.0


def test_named_dimension() -> None:
    assert grade({"pattern": "x", "name": "has_x"}, "x").rewards == {"has_x": 1.0}
