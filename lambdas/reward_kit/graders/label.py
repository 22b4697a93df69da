"""``label`` grader: one answer out of a closed set of labels (classification, sentiment, ...).

Candidate extraction, on the final answer region only:
1. ``\\boxed{...}``: every box must name the same label (different labels => ``multiple_answers``);
   boxes that name no label => ``no_answer`` (the model committed to something invalid).
2. else the whole region is exactly one label or alias (after normalization).
3. else label mentions as whole words (substring for CJK edges): exactly one distinct label
   => that label; several => ``multiple_answers`` (keyword spam earns nothing); none => ``no_answer``.
Correct => 1.0. Wrong but a single label in the expected format (boxed or the sole content)
=> ``format_score``. Wrong via a mere mention => 0.
Repeated answers: spellings of one label (case, aliases, ``\\text{}``) are one answer. A list
reference of k labels (multi-label) is answered by boxes naming exactly those k labels; a
missing or extra label is a wrong answer (``format_score``), never full credit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Mapping

from reward_kit.extraction import (
    DECORATION,
    boxed_contents,
    clamp01,
    final_answer_region,
    normalize_text,
    unwrap_latex_text,
)
from reward_kit.graders.base import GradeInput, GradeResult, Grader, answer_result
from reward_kit.references import convert_reference, unwrap_reference
from reward_kit.spec_checks import checks, reference_key

# Scripts written without spaces (kana, CJK ideographs, Hangul, half-width katakana): no word
# boundary can be required next to these characters.
_NO_SPACE_RANGES = "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f"
_NO_SPACE_SCRIPT = re.compile(f"[{_NO_SPACE_RANGES}]")
# A neighbour that would make a Latin-style label part of a longer word ("positively").
_WORD_CHAR_NOT_CJK = f"[^\\W{_NO_SPACE_RANGES}]"
# Regions longer than this take the fast path when it applies (short ones hit the caches).
FAST_PATH_MIN_CHARS = 64


_INVALID: frozenset[str] = frozenset()  # an unusable reference (cached like the others)
_REFERENCE_CACHE_SIZE = 4096
_CACHED_REFERENCE_CHARS = 256  # bounded memory: only short references are memoized


def _mention_pattern(forms: list[str]) -> re.Pattern[str] | None:
    """One alternation over all normalized label/alias forms, longest first.

    Longest-first means "very negative" is consumed before "negative" can match inside it.
    """
    parts = []
    for form in sorted(set(forms), key=lambda f: (-len(f), f)):
        if not form:
            continue
        left = "" if _NO_SPACE_SCRIPT.match(form[0]) else f"(?<!{_WORD_CHAR_NOT_CJK})"
        right = "" if _NO_SPACE_SCRIPT.match(form[-1]) else f"(?!{_WORD_CHAR_NOT_CJK})"
        parts.append(f"{left}{re.escape(form)}{right}")
    if not parts:
        return None
    return re.compile("|".join(parts))


def _normalize_answer(text: str) -> str:
    return normalize_text(unwrap_latex_text(text))


# --- fast path for long untagged prose ----------------------------------------------------------
# Normalizing a whole paragraph and running the mention regex (lookarounds at every position)
# costs ~100 us per 1,000 characters. When the forms cannot overlap one another and the text
# needs no NFKC or LaTeX work, the same answer comes from case folding, stripping the ends and
# one C-speed str.find scan per form (tests/lambdas/reward_kit/graders/test_graders_label.py checks the equivalence).


def _is_word_not_cjk(char: str) -> bool:
    """What ``_WORD_CHAR_NOT_CJK`` matches (re's word characters are isalnum() or "_")."""
    return (char.isalnum() or char == "_") and not _NO_SPACE_SCRIPT.match(char)


def _find_plan(forms: list[str]) -> list[tuple[str, bool, bool]] | None:
    """(form, left boundary needed, right boundary needed) per form, or None when occurrences
    of two different forms could overlap or a form holds whitespace (then only the regex's
    leftmost-longest scan over normalized text gives the right answer)."""
    for form in forms:
        if not form or any(char.isspace() for char in form):
            return None
        for other in forms:
            if other == form:
                continue
            if form in other:
                return None
            # A proper suffix of `form` that starts `other`: "ABC" + "CDE" overlap in "ABCDE".
            if any(other.startswith(form[cut:]) for cut in range(1, len(form))):
                return None
    return [(form, not _NO_SPACE_SCRIPT.match(form[0]), not _NO_SPACE_SCRIPT.match(form[-1])) for form in forms]


def _strip_ends(text: str) -> str:
    """Both ends stripped of whitespace and decoration, as ``normalize_text`` strips them."""
    while True:
        stripped = text.strip().strip(DECORATION)
        if stripped == text:
            return text
        text = stripped


def _folded_fast(region: str) -> str | None:
    """``normalize_text(region)`` up to inner whitespace runs, when that is all it would
    change: no LaTeX to unwrap and already NFKC. None: take the normal path."""
    if "\\" in region or not (region.isascii() or unicodedata.is_normalized("NFKC", region)):
        return None
    return _strip_ends(region.casefold())


def _found_by_find(text: str, plan: list[tuple[str, bool, bool]]) -> set[str]:
    """Forms with at least one occurrence in ``text`` whose neighbours are boundaries."""
    found = set()
    end = len(text)
    for form, left, right in plan:
        size = len(form)
        position = text.find(form)
        while position >= 0:
            after = position + size
            if not (left and position > 0 and _is_word_not_cjk(text[position - 1])) and not (
                right and after < end and _is_word_not_cjk(text[after])
            ):
                found.add(form)
                break
            position = text.find(form, position + 1)
    return found


# --- the spec ----------------------------------------------------------------------------------


def validate(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Check the spec's ``label`` keys at ``path`` and write them, normalized, to ``out``."""
    if "labels" not in spec:
        raise checks.fail(f"{path}.labels", "required (a non-empty list of strings)")
    labels = spec["labels"]
    if not isinstance(labels, list) or not labels:
        raise checks.fail(f"{path}.labels", "must be a non-empty list of strings", labels)
    seen: set[str] = set()
    for i, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            raise checks.fail(f"{path}.labels[{i}]", "must be a non-empty string", label)
        if label in seen:
            raise checks.fail(f"{path}.labels[{i}]", "duplicate label", label)
        seen.add(label)
    aliases = checks.object(f"{path}.aliases", spec.get("aliases", {}))
    normalized_aliases: dict[str, str] = {}
    for alias, target in aliases.items():
        if not isinstance(alias, str) or not alias.strip():
            raise checks.fail(f"{path}.aliases", "alias names must be non-empty strings", alias)
        if target not in seen:
            checks.one_of(f"{path}.aliases.{alias}", target, seen)
        normalized_aliases[alias] = target
    out["labels"] = list(labels)
    out["aliases"] = normalized_aliases
    reference_key(path, spec, out)


# --- the grader --------------------------------------------------------------------------------


# slots: its fields are read on every sample.
@dataclass(frozen=True, slots=True)
class LabelConfig:
    """A label grader's settings and lookup tables, read once from its validated spec."""

    result: Callable[[float, str | None, bool, bool], GradeResult]  # answer_result for its dimension
    format_score: float
    reference_key: str | None
    forms: dict[str, str]  # normalized label or alias -> canonical label
    mentions: re.Pattern[str] | None  # every form as a whole word, longest first
    plan: list[tuple[str, bool, bool]] | None  # the fast path's find plan; None: regex only
    # Short string references already resolved (repeated across a batch); cleared when full.
    reference_cache: dict[str, frozenset[str]]

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> LabelConfig:
        # normalized form -> canonical label; labels win over aliases that normalize the same way.
        canonical = {normalize_text(label): label for label in map(str, spec["labels"])}
        forms: dict[str, str] = {}
        for alias, label in (spec.get("aliases") or {}).items():
            forms[normalize_text(str(alias))] = canonical.get(normalize_text(str(label)), str(label))
        forms.update(canonical)
        forms.pop("", None)
        return cls(
            result=partial(answer_result, spec.get("name") or spec["grader"]),
            format_score=clamp01(float(spec.get("format_score", 0.0) or 0.0)),
            reference_key=spec.get("reference_key"),
            forms=forms,
            mentions=_mention_pattern(list(forms)),
            plan=_find_plan(list(forms)),
            reference_cache={},
        )


def _mentioned(config: LabelConfig, normalized: str) -> set[str]:
    """Labels mentioned in already normalized text."""
    if config.mentions is None:
        return set()
    forms = config.forms
    return {forms[m.group(0)] for m in config.mentions.finditer(normalized)}


def _resolve_one(forms: Mapping[str, str], value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 2.0 from JSON is the label "2"
    return forms.get(_normalize_answer(str(value)))


def _resolve_uncached(config: LabelConfig, reference: Any) -> frozenset[str]:
    # Any number of labels: a list reference may name every label.
    labels = convert_reference(
        reference, config.reference_key, partial(_resolve_one, config.forms), max_elements=None
    )
    if not labels:
        return _INVALID
    return frozenset(labels) if isinstance(labels, list) else frozenset((labels,))


def _resolve_reference(config: LabelConfig, reference: Any) -> frozenset[str] | None:
    """The expected label(s): one, or the k labels of a list reference; None if unusable."""
    if type(reference) is dict:
        # {"answer": "positive"} resolves as its unwrapped value does: share the cache.
        reference = unwrap_reference(reference, config.reference_key)
    if type(reference) is str and len(reference) <= _CACHED_REFERENCE_CHARS:  # repeated across a batch
        reference_cache = config.reference_cache
        labels = reference_cache.get(reference)
        if labels is None:
            if len(reference_cache) >= _REFERENCE_CACHE_SIZE:
                reference_cache.clear()
            labels = reference_cache[reference] = _resolve_uncached(config, reference)
    else:
        labels = _resolve_uncached(config, reference)
    return labels or None


def _extract_boxed(config: LabelConfig, boxes: list[str]) -> tuple[frozenset[str], str | None, bool]:
    """Every box names a label (or mentions exactly one): the distinct labels, in the expected format."""
    forms = config.forms
    found: set[str] = set()
    for box in boxes:
        normalized = _normalize_answer(box)
        label = forms.get(normalized)
        if label is not None:
            found.add(label)
            continue
        inside = _mentioned(config, normalized)
        if len(inside) > 1:
            return frozenset(), "multiple_answers", False
        found |= inside
    if not found:
        return frozenset(), "no_answer", False
    return frozenset(found), None, True


def _extract_unboxed(config: LabelConfig, region: str) -> tuple[frozenset[str], str | None, bool]:
    """The region is exactly one label (expected format), or mentions exactly one."""
    forms = config.forms
    plan = config.plan
    folded = _folded_fast(region) if plan is not None and len(region) > FAST_PATH_MIN_CHARS else None
    if folded is not None:
        # Same answer as below (module comment): forms hold no whitespace, so inner runs
        # of it cannot change an exact match or a mention.
        label = forms.get(folded)
        if label is not None:
            return frozenset((label,)), None, True
        found = {forms[form] for form in _found_by_find(folded, plan)}  # type: ignore[arg-type]
    else:
        normalized = _normalize_answer(region)
        label = forms.get(normalized)
        if label is not None:
            return frozenset((label,)), None, True
        found = _mentioned(config, normalized)
    if len(found) > 1:
        return frozenset(), "multiple_answers", False
    if not found:
        return frozenset(), "no_answer", False
    return frozenset(found), None, False


def grade(config: LabelConfig, sample: GradeInput) -> GradeResult:
    """One sample's label(s) against its reference: from the boxes, else from the whole region
    (several labels only from boxes)."""
    result = config.result
    expected = _resolve_reference(config, sample.reference)
    if expected is None:
        return result(0.0, "invalid_reference", False, False)
    region = final_answer_region(sample.response)
    if not region:
        return result(0.0, "no_answer", False, False)
    boxes = boxed_contents(region)
    labels, reason, format_ok = _extract_boxed(config, boxes) if boxes else _extract_unboxed(config, region)
    if not labels:
        return result(0.0, reason, False, False)
    if labels == expected:
        return result(1.0, None, True, format_ok)
    # Several boxed labels answer only a reference of exactly that many labels.
    if len(labels) > 1 and len(labels) != len(expected):
        return result(0.0, "multiple_answers", False, False)
    return result(config.format_score if format_ok else 0.0, None, True, format_ok)


def build(spec: Mapping[str, Any]) -> Grader:
    return partial(grade, LabelConfig.from_spec(spec))
