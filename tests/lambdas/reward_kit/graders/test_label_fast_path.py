"""The label grader's fast path for long untagged prose gives exactly the normal path's answer.

The fast path (case folding, stripped ends, one ``str.find`` scan per form) replaces
normalizing the whole region and the mention regex only when the rules allow it; these tests
compare both paths on generated text built from the forms, their near misses, decoration,
every kind of whitespace, CJK neighbours and full-width letters.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reward_kit.graders import label
from reward_kit.graders.base import GradeInput
from reward_kit.spec import validate_spec

SPECS = {
    "ja aliases": {"grader": "label", "labels": ["positive", "negative", "neutral"],
                   "aliases": {"ポジティブ": "positive", "ネガティブ": "negative", "ニュートラル": "neutral"}},
    "digits": {"grader": "label", "labels": ["0", "1", "2"], "format_score": 0.2},
    "overlapping": {"grader": "label", "labels": ["negative", "very negative", "neg"]},  # regex only
}
PIECES = [
    "positive", "negative", "neutral", "ポジティブ", "ネガティブ", "ニュートラル", "0", "1", "2", "very", "neg",
    "positively", "_positive_", "Positive", "ＰＯＳＩＴＩＶＥ", "ｎｅｕｔｒａｌ", "**", "."," ", "  ", "\t", "\n",
    "\u3000", "\u2028", "\x1c", "\xa0", "é", "e\u0301", "日本", "x", "_", "-", "(", ")", "the sentiment is",
    "\\text{positive}", "\\\\",
]
texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=40).map("".join)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def grade_both(spec_name: str, text: str, reference: str, monkeypatch: pytest.MonkeyPatch):
    grade = label.build(validate_spec(SPECS[spec_name]))
    sample = GradeInput(text, reference, {})
    with monkeypatch.context() as patch:
        patch.setattr(label, "FAST_PATH_MIN_CHARS", 0)
        fast = grade(sample)
    with monkeypatch.context() as patch:
        patch.setattr(label, "FAST_PATH_MIN_CHARS", 10**9)
        slow = grade(sample)
    return fast, slow


@pytest.mark.parametrize("spec_name", list(SPECS))
@SETTINGS
@given(text=texts, reference=st.sampled_from(["positive", "negative", "neutral", "0", "1", "very negative"]))
@example(text="positive\x1c", reference="positive")  # whitespace that is not in DECORATION
@example(text="\u2028** positive .\u2028", reference="positive")
@example(text="*\x1cpositive", reference="positive")  # whitespace inside the decorated ends
@example(text="_positive_", reference="positive")  # "_" is decoration at the ends, a word char inside
@example(text="ＰＯＳＩＴＩＶＥ", reference="positive")  # needs NFKC: normal path
@example(text="ポジティブpositive", reference="positive")  # CJK is a boundary for Latin forms
def test_fast_and_normal_paths_agree(spec_name, text, reference):
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = grade_both(spec_name, text, reference, monkeypatch)
    assert (fast.score, fast.reason, dict(fast.metrics)) == (slow.score, slow.reason, dict(slow.metrics)), text


def test_the_plan_refuses_forms_that_could_overlap():
    assert label._find_plan(["negative", "very negative"]) is None  # whitespace
    assert label._find_plan(["neg", "negative"]) is None  # containment
    assert label._find_plan(["abc", "cde"]) is None  # a suffix that starts another form
    assert label._find_plan(["positive", "negative", "ポジティブ"]) == [
        ("positive", True, True), ("negative", True, True), ("ポジティブ", False, False)]


def test_long_prose_takes_the_fast_path(monkeypatch):
    calls = []
    monkeypatch.setattr(label, "_normalize_answer", lambda text: calls.append(text) or text)
    grade = label.build(validate_spec(SPECS["ja aliases"]))
    prose = "The report states that revenue for this period was compared with last year. " * 5
    assert grade(GradeInput(prose + "So the sentiment is Positive.", "positive", {})).score == 1.0
    assert grade(GradeInput(prose + "Positive or negative?", "positive", {})).reason == "multiple_answers"
    assert grade(GradeInput(prose, "positive", {})).reason == "no_answer"
    assert not any(prose[:40] in text for text in calls)  # only the short reference was normalized
