"""Final-answer extraction: reasoning stripping, solution blocks, boxes, normalization."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reward_kit import extraction
from reward_kit.extraction import (
    boxed_contents,
    clamp01,
    final_answer_region,
    loads_strict,
    normalize_text,
    reference_value,
    strip_reasoning,
    unwrap_latex_text,
)

MB = 1_000_000


# --- reasoning ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<thinking>the answer is positive</thinking>negative", "negative"),
        ("<think>x</think> final", " final"),
        ("<THINKING>x</Thinking>final", "final"),
        ("a<think>x</think>b<thinking>y</thinking>c", "abc"),
        ("<think>outer <think>inner</think> still</think>done", "done"),
        ("no tags at all", "no tags at all"),
        # Templates often pre-fill <think>: a stray closer means the text before it was reasoning.
        ("reasoning positive</think>negative", "negative"),
    ],
)
def test_strip_reasoning_removes_reasoning_blocks(text: str, expected: str) -> None:
    assert strip_reasoning(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<thinking>the answer is positive",
        "<think>positive",
        "final positive <think>but wait",
        "<think>a</think>b<think>c",
    ],
)
def test_unterminated_reasoning_means_no_final_answer(text: str) -> None:
    assert strip_reasoning(text) == ""
    assert final_answer_region(text) == ""


# --- final answer region ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  plain answer \n", "plain answer"),
        ("<solution>first</solution> chatter <solution>second</solution> tail", "second"),
        ("<answer>a</answer><answer> b </answer>", "b"),
        ("<solution>work <answer>42</answer> more</solution>", "42"),
        ("<think><solution>hidden</solution></think><solution>shown</solution>", "shown"),
        ("<Solution>case</SOLUTION>", "case"),
        # A truncated last block still counts as the latest answer.
        ("<solution>old</solution><solution>new and cut", "new and cut"),
        ("</solution>stray closer", "</solution>stray closer"),
    ],
)
def test_final_answer_region(text: str, expected: str) -> None:
    assert final_answer_region(text) == expected


@pytest.mark.parametrize("value", [None, 42, b"bytes", ["list"], {"a": 1}, "", "   \n\t"])
def test_final_answer_region_of_non_text_or_blank_is_empty(value: object) -> None:
    assert final_answer_region(value) == ""


# --- boxes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\boxed{\\frac{1}{2}}", ["\\frac{1}{2}"]),
        ("\\boxed {x}", ["x"]),
        ("\\fbox{y}", ["y"]),
        ("\\boxed{\\{1,2\\}}", ["\\{1,2\\}"]),
        ("\\boxed{1} and \\boxed{2}", ["1", "2"]),
        ("\\boxed{\\boxed{5}}", ["\\boxed{5}"]),  # outermost only
        ("\\boxed{unclosed and \\boxed{3}", ["3"]),
        ("\\boxed{}", [""]),
        ("no box", []),
        ("\\boxed 5", []),
        ("}}}{{{\\boxed{a}}}}", ["a"]),
    ],
)
def test_boxed_contents(text: str, expected: list[str]) -> None:
    assert boxed_contents(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A doubled backslash before a box hides nothing, flat box or not, first box or not:
        # every "\\boxed{" is an opener, so hedges cannot slip past the one-answer rule.
        ("\\boxed{a} \\\\boxed{b}", ["a", "b"]),
        ("\\boxed{\\frac{1}{2}} \\\\boxed{3}", ["\\frac{1}{2}", "3"]),
        ("\\\\boxed{\\text{x}} \\\\boxed{\\text{y}}", ["\\text{x}", "\\text{y}"]),
        ("\\\\\\boxed{\\{z\\}}", ["\\{z\\}"]),
        ("\\boxed{a \\\\{b} c}", ["a \\\\{b} c"]),  # \\ then a plain brace: still balanced
    ],
)
def test_boxes_behind_a_doubled_backslash_are_found(text: str, expected: list[str]) -> None:
    assert boxed_contents(text) == expected


def test_boxed_contents_of_non_text_is_empty() -> None:
    assert boxed_contents(None) == []
    assert boxed_contents(12) == []


# --- normalization --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ＰＯＳＩＴＩＶＥ", "positive"),
        ("**Positive**.", "positive"),
        ("  very\n\t negative  ", "very negative"),
        ("「ポジティブ」。", "ポジティブ"),
        ("`neutral`", "neutral"),
        ("$positive$", "positive"),
        ("Straße", "strasse"),
        (None, ""),
    ],
)
def test_normalize_text(text: object, expected: str) -> None:
    assert normalize_text(text) == expected


def test_unwrap_latex_text() -> None:
    assert unwrap_latex_text("\\text{positive}") == "positive"
    assert unwrap_latex_text("\\textbf{\\text{neutral}}") == "neutral"
    assert unwrap_latex_text("\\frac{1}{2}") == "\\frac{1}{2}"


def test_reference_value_unwraps_answer_envelopes() -> None:
    assert reference_value({"answer": "x"}) == "x"
    assert reference_value({"label": "y"}, ("answer", "label")) == "y"
    assert reference_value({"other": 1}) == {"other": 1}
    assert reference_value("plain") == "plain"


@pytest.mark.parametrize(
    ("value", "expected"), [(-0.5, 0.0), (0.3, 0.3), (7.0, 1.0), (float("nan"), 0.0), (float("inf"), 1.0)]
)
def test_clamp01(value: float, expected: float) -> None:
    assert clamp01(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, 2.5, null]}', (True, {"a": [1, 2.5, None]})),
        ('  "text"\n', (True, "text")),
        ('{"a": 1, "a": 2}', (False, None)),  # duplicate key: which value counts?
        ('{"a": NaN}', (False, None)),
        ("-Infinity", (False, None)),
        ('{"a": 1} {"a": 1}', (False, None)),  # two values
        ('{"a": 1', (False, None)),
        ("", (False, None)),
        ("[" * 100_000 + "]" * 100_000, (False, None)),  # too deep: refused, never raised
    ],
)
def test_loads_strict(text: str, expected: tuple[bool, object]) -> None:
    assert loads_strict(text) == expected


# --- adversarial sizes: must complete (linear scans) and still be right ---------------------


def test_1mb_of_reasoning_openers_is_no_answer() -> None:
    assert final_answer_region("<think>" * (MB // 7)) == ""


def test_1mb_of_unclosed_boxes_still_finds_the_closed_one() -> None:
    text = "\\boxed{" * (MB // 7) + "\\boxed{5}"
    assert boxed_contents(text)[-1] == "5"


def test_1mb_of_deeply_nested_braces() -> None:
    text = "\\boxed{" + "{" * (MB // 2) + "x" + "}" * (MB // 2) + "}"
    (content,) = boxed_contents(text)
    assert len(content) == MB + 1


def test_1mb_of_solution_openers_and_bounded_tag_attributes() -> None:
    text = "<solution" * (MB // 9) + "<solution>42</solution>"
    assert final_answer_region(text) == "42"


def test_1mb_of_backslashes_and_whitespace() -> None:
    assert boxed_contents("\\" * MB) == []
    assert normalize_text(" \u3000" * (MB // 2) + "ok") == "ok"


# --- properties -------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(
    ["<think>", "</think>", "<thinking>", "</thinking>", "<solution>", "</solution>",
     "<answer>", "</answer>", "\\boxed{", "\\fbox {", "{", "}", "\\", "a", " ", "ｐ", "\n", "\\{"]
), max_size=40).map("".join))
def test_extraction_never_raises_and_boxes_are_balanced(text: str) -> None:
    region = final_answer_region(text)
    assert isinstance(region, str)
    assert region == region.strip()
    for content in boxed_contents(text):
        assert content in text
        # Unescaped braces inside a box content balance out.
        depth = 0
        i = 0
        while i < len(content):
            ch = content[i]
            if ch == "\\":
                i += 2
                continue
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0
            i += 1
        assert depth == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(
    ["\\boxed{a}", "\\\\boxed{b}", "\\fbox {c}", "\\boxed{", "\\", "{", "}", "\\{", " "]
), max_size=20).map("".join))
def test_flat_box_fast_path_agrees_with_the_scanner(text: str) -> None:
    # Whole flat boxes next to noise, so both the fast path and the scanner get exercised.
    fast = boxed_contents(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(extraction, "_FLAT_BOX", re.compile(r"(?!)"))  # never matches: always scan
        assert boxed_contents(text) == fast


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
