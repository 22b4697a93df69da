"""``numeric`` grader: one number compared with tolerance (GSM8K style).

Candidate extraction, on the final answer region only:
- Explicit answers: every ``\\boxed{...}`` and every ``#### <number>``. Explicit answers within
  tolerance of each other are ONE answer, whatever their spelling (``\\boxed{\\frac12}`` and
  ``\\boxed{0.5}``); different values => ``multiple_answers``. A box holding no number =>
  ``no_answer``; a box holding several numbers (``\\boxed{3 or 4}``, ``\\boxed{3 4}``) =>
  ``multiple_answers``.
- Otherwise the last number of the region (the usual "flexible" fallback).
Numbers are read by ``reward_kit.numbers`` (the reader references use too): ``72``, ``-3.5``,
``$1,234.00``, ``1\\,234``, ``1e5``, ``1/2``, ``\\frac{1}{2}``, ``\\dfrac``, ``\\frac12``,
``-\\frac{1}{2}``, mixed ``3\\frac{1}{2}``, full-width digits, the Unicode minus. A trailing
``%`` is ignored: ``50%`` == 50 (GSM8K references are bare numbers); use the ``math`` grader
when 50% must equal 0.5.
A list reference of k numbers is a set: k explicit answers that are exactly those numbers
earn full credit; any missing or extra element does not.
Correct => 1.0; wrong but explicit (boxed, ``####`` or the sole content) => ``format_score``;
wrong via the fallback => 0. A non-numeric reference => ``invalid_reference``, 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Mapping

from reward_kit.extraction import (
    boxed_contents,
    clamp01,
    final_answer_region,
    is_finite_number,
)
from reward_kit.graders.base import GradeInput, GradeResult, Grader, single_result
from reward_kit.numbers import NUMBER_TOKEN, marker_answers, prepare, read_numbers
from reward_kit.references import convert_reference
from reward_kit.spec_checks import checks, reference_key

_ABS_ERROR_CAP = 1e12  # keeps the metric finite and readable on dashboards


def numbers_in(text: str) -> list[float]:
    """Every number in ``text`` in order (unparseable/infinite tokens skipped)."""
    return read_numbers(prepare(text))


def _one_number(value: Any) -> float | None:
    if is_finite_number(value):
        return float(value)
    if not isinstance(value, str):
        return None
    found = numbers_in(value)
    # A reference with several numbers is ambiguous: refuse rather than guess.
    return found[0] if len(found) == 1 else None


def parse_reference(reference: Any, key: str | None = None) -> float | list[float] | None:
    """The expected number (or, for a list reference, the expected set of numbers).

    Number, numeric string (``"1,234"``, ``"$5"``, ``"-\\frac{1}{2}"``, GSM8K ``"... #### 72"``,
    ``"\\boxed{72}"``), unwrapped per ``reward_kit.references``; None when unusable.
    """
    return convert_reference(reference, key, _one_number)


# --- the spec ----------------------------------------------------------------------------------


def validate(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Check the spec's ``numeric`` keys at ``path`` and write them, normalized, to ``out``."""
    out["tolerance"] = checks.number(f"{path}.tolerance", spec.get("tolerance", 1e-6), ge=0)
    out["relative_tolerance"] = checks.number(
        f"{path}.relative_tolerance", spec.get("relative_tolerance", 0.0), ge=0
    )
    reference_key(path, spec, out)


# --- the grader --------------------------------------------------------------------------------


# slots: its fields are read on every sample.
@dataclass(frozen=True, slots=True)
class NumericConfig:
    """A numeric grader's settings, read once from its validated spec."""

    result: Callable[[float, str | None, Mapping[str, float]], GradeResult]  # single_result for its dimension
    tolerance: float
    relative: float
    format_score: float
    reference_key: str | None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> NumericConfig:
        return cls(
            result=partial(single_result, spec.get("name") or spec["grader"]),
            tolerance=float(spec.get("tolerance", 1e-6)),
            relative=float(spec.get("relative_tolerance", 0.0)),
            format_score=clamp01(float(spec.get("format_score", 0.0) or 0.0)),
            reference_key=spec.get("reference_key"),
        )


def _close(config: NumericConfig, a: float, b: float) -> bool:
    diff = abs(a - b)
    return diff <= config.tolerance or diff <= config.relative * abs(b)


def _distinct_values(config: NumericConfig, values: list[float]) -> list[float]:
    """One entry per value: spellings within tolerance of each other are one answer."""
    distinct: list[float] = []
    for value in values:
        if not any(_close(config, value, seen) for seen in distinct):
            distinct.append(value)
    return distinct


def _answers_set(config: NumericConfig, answers: list[float], expected: list[float]) -> bool:
    """k distinct answers that are exactly the k elements of a set reference."""
    if len(answers) != len(_distinct_values(config, expected)):
        return False
    unmatched = _distinct_values(config, expected)
    for answer in answers:
        match = next((e for e in unmatched if _close(config, answer, e)), None)
        if match is None:
            return False
        unmatched.remove(match)
    return not unmatched


def _explicit_answers(config: NumericConfig, region: str) -> tuple[list[float], str | None]:
    """The values of every box and ``####`` marker (one number each), or a failure reason."""
    explicit: list[float] = []
    for box in boxed_contents(region):
        values = read_numbers(box)
        if not values:
            return [], "no_answer"
        if len(_distinct_values(config, values)) > 1:
            return [], "multiple_answers"
        explicit.append(values[0])
    for value in marker_answers(region):
        if value is None:
            return [], "no_answer"
        explicit.append(value)
    return explicit, None


def _extract(config: NumericConfig, region: str) -> tuple[list[float], str | None, bool]:
    """(distinct explicit values or [the fallback value], reason, explicit)."""
    region = prepare(region)  # full-width digits, Unicode minus, before any matching
    explicit, reason = _explicit_answers(config, region)
    if reason is not None:
        return [], reason, False
    if explicit:
        return _distinct_values(config, explicit), None, True
    values = read_numbers(region)
    if not values:
        return [], "no_answer", False
    # The region is nothing but one number (e.g. "<answer>72</answer>"): explicit too.
    sole = len(values) == 1 and NUMBER_TOKEN.fullmatch(region.strip(" $.%")) is not None
    return [values[-1]], None, sole


def _grade_set(config: NumericConfig, values: list[float], expected: list[float], explicit: bool) -> GradeResult:
    """Answers against a list reference: full credit only as exactly its elements, explicitly."""
    result = config.result
    if _answers_set(config, values, expected) if explicit else False:
        return result(1.0, None, {"answer_found": 1.0, "abs_error": 0.0})
    if len(values) > 1 and len(values) != len(_distinct_values(config, expected)):
        return result(0.0, "multiple_answers", {"answer_found": 0.0})
    return result(config.format_score if explicit else 0.0, None, {"answer_found": 1.0})


def grade(config: NumericConfig, sample: GradeInput) -> GradeResult:
    """One sample's number(s) against its reference, within tolerance."""
    result = config.result
    expected = parse_reference(sample.reference, config.reference_key)
    if expected is None:
        return result(0.0, "invalid_reference", {"answer_found": 0.0})
    region = final_answer_region(sample.response)
    values, reason, explicit = _extract(config, region) if region else ([], "no_answer", False)
    if not values:
        return result(0.0, reason, {"answer_found": 0.0})
    if isinstance(expected, list):
        return _grade_set(config, values, expected, explicit)
    if len(values) > 1:
        return result(0.0, "multiple_answers", {"answer_found": 0.0})
    value = values[0]
    metrics = {
        "answer_found": 1.0,
        "abs_error": min(abs(value - expected), _ABS_ERROR_CAP),
    }
    if _close(config, value, expected):
        return result(1.0, None, metrics)
    return result(config.format_score if explicit else 0.0, None, metrics)


def build(spec: Mapping[str, Any]) -> Grader:
    return partial(grade, NumericConfig.from_spec(spec))
