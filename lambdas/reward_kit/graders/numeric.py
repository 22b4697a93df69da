"""``numeric`` grader: one number compared with tolerance (GSM8K style).

Candidate extraction, on the final answer region only:
- Explicit answers: every ``\\boxed{...}`` and every ``#### <number>``. All explicit answers must
  agree (within tolerance); different values => ``multiple_answers``. A box holding no number
  => ``no_answer``; a box holding several numbers (``\\boxed{3 or 4}``) => ``multiple_answers``.
- Otherwise the last number of the region (the usual "flexible" fallback).
Accepted number forms: ``72``, ``-3.5``, ``1,234`` and ``$1,234.00`` (thousands commas, currency
ignored), ``1e5``, ``1/2`` and ``\\frac{1}{2}`` (a fraction is one number), full-width digits
and the Unicode minus. A trailing ``%`` is ignored: ``50%`` == 50 (GSM8K references are bare
numbers); use the ``math`` grader when 50% must equal 0.5.
Correct => 1.0; wrong but explicit (boxed, ``####`` or the sole content) => ``format_score``;
wrong via the fallback => 0. A non-numeric reference => ``invalid_reference``, 0.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import partial
from typing import Any, Mapping

from reward_kit.extraction import (
    boxed_contents,
    clamp01,
    final_answer_region,
    is_finite_number,
    reference_value,
)
from reward_kit.graders.base import GradeInput, GradeResult, Grader, single_result

# Unsigned number: thousands-grouped or plain digits, optional decimals and exponent.
_UNSIGNED = r"(?:\d{1,3}(?:,\d{3})+(?![\d])|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+"
# A sign only counts when it is not a binary operator ("5-3" is 5 and 3, not 5 and -3).
_SIGNED = rf"(?:(?<![\w)\]}}.])[-+])?(?:{_UNSIGNED})"
_NUMBER_TOKEN = re.compile(
    rf"\\[dt]?frac\s{{0,8}}\{{\s{{0,8}}(?P<fn>{_SIGNED})\s{{0,8}}\}}\s{{0,8}}\{{\s{{0,8}}(?P<fd>{_SIGNED})\s{{0,8}}\}}"
    rf"|(?P<sn>{_SIGNED})\s{{0,8}}/\s{{0,8}}(?P<sd>{_UNSIGNED})(?![\d.,])"
    rf"|(?P<n>{_SIGNED})"
)
_GSM8K_MARKER = re.compile(r"####[ \t]{0,64}\$?[ \t]{0,8}")
_MINUS_SIGNS = str.maketrans(
    {"\u2212": "-", "\u2012": "-", "\u2013": "-", "\ufe63": "-", "\u2044": "/"}
)
_ABS_ERROR_CAP = 1e12  # keeps the metric finite and readable on dashboards


def _prepare(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_MINUS_SIGNS)


def _to_float(token: str) -> float | None:
    try:
        value = float(token.replace(",", ""))
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _match_value(match: re.Match[str]) -> float | None:
    if match.group("n") is not None:
        return _to_float(match.group("n"))
    if match.group("fn") is not None:
        num, den = _to_float(match.group("fn")), _to_float(match.group("fd"))
    else:
        num, den = _to_float(match.group("sn")), _to_float(match.group("sd"))
    if num is None or den is None or den == 0:
        return None
    value = num / den
    return value if math.isfinite(value) else None


def _numbers(prepared: str) -> list[float]:
    """Every number in text already passed through ``_prepare``, in order (unparseable and
    infinite tokens skipped)."""
    values = []
    for match in _NUMBER_TOKEN.finditer(prepared):
        value = _match_value(match)
        if value is not None:
            values.append(value)
    return values


def numbers_in(text: str) -> list[float]:
    """Every number in ``text`` in order (unparseable/infinite tokens skipped)."""
    return _numbers(_prepare(text))


def _gsm8k_answers(text: str) -> list[float | None]:
    """The number right after each ``####`` (None when a marker has no number)."""
    answers: list[float | None] = []
    for marker in _GSM8K_MARKER.finditer(text):
        match = _NUMBER_TOKEN.match(text, marker.end())
        answers.append(_match_value(match) if match else None)
    return answers


def parse_reference(reference: Any) -> float | None:
    """Number, numeric string (``"1,234"``, ``"$5"``, GSM8K ``"... #### 72"``), or {"answer": ...}."""
    value = reference_value(reference)
    if is_finite_number(value):
        return float(value)
    if not isinstance(value, str):
        return None
    text = _prepare(value)
    markers = _gsm8k_answers(text)
    if markers:
        return markers[-1]
    boxes = boxed_contents(text)
    if boxes:
        text = boxes[-1]
    found = _numbers(text)
    # A reference with several numbers is ambiguous: refuse rather than guess.
    return found[0] if len(found) == 1 else None


def build(spec: Mapping[str, Any]) -> Grader:
    name = spec.get("name") or spec["grader"]
    tolerance = float(spec.get("tolerance", 1e-6))
    relative = float(spec.get("relative_tolerance", 0.0))
    format_score = clamp01(float(spec.get("format_score", 0.0) or 0.0))

    def close(a: float, b: float) -> bool:
        diff = abs(a - b)
        return diff <= tolerance or diff <= relative * abs(b)

    result = partial(single_result, name)

    def extract(region: str) -> tuple[float | None, str | None, bool]:
        """(value, reason, explicit)."""
        region = _prepare(region)  # full-width digits, Unicode minus, before any matching
        explicit: list[float] = []
        for box in boxed_contents(region):
            values = _numbers(box)
            if not values:
                return None, "no_answer", False
            if len(values) > 1:
                return None, "multiple_answers", False
            explicit.append(values[0])
        for value in _gsm8k_answers(region):
            if value is None:
                return None, "no_answer", False
            explicit.append(value)
        if explicit:
            first = explicit[-1]
            if any(not close(other, first) for other in explicit):
                return None, "multiple_answers", False
            return first, None, True
        values = _numbers(region)
        if not values:
            return None, "no_answer", False
        # The region is nothing but one number (e.g. "<answer>72</answer>"): explicit too.
        sole = len(values) == 1 and _NUMBER_TOKEN.fullmatch(region.strip(" $.%")) is not None
        return values[-1], None, sole

    def grade(sample: GradeInput) -> GradeResult:
        expected = parse_reference(sample.reference)
        if expected is None:
            return result(0.0, "invalid_reference", {"answer_found": 0.0})
        region = final_answer_region(sample.response)
        value, reason, explicit = extract(region) if region else (None, "no_answer", False)
        if value is None:
            return result(0.0, reason, {"answer_found": 0.0})
        metrics = {
            "answer_found": 1.0,
            "abs_error": min(abs(value - expected), _ABS_ERROR_CAP),
        }
        if close(value, expected):
            return result(1.0, None, metrics)
        return result(format_score if explicit else 0.0, None, metrics)

    return grade
