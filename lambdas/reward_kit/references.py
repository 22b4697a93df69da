"""Reference answers: from what a dataset row carries to the value a grader compares with.

One set of rules for every grader (``label``, ``numeric``, ``math``; ``json_schema`` only
unwraps with an explicit ``reference_key``):

1. **Unwrap a dict** by the first of ``REFERENCE_KEYS`` it holds with a non-empty value
   (``answer``, ``final_answer``, ``label``, ``text``, ``solution``, ``ground_truth``), or by the
   grader's ``reference_key`` when the spec sets one (then only that key; a dict without it is
   ``invalid_reference``). AWS's GSM8K samples use ``{"final_answer": "4", "steps": [...]}``
   and ``{"text": "... #### 72"}``.
2. **Take the final answer of a text** the way it is taken from a response: the text after the
   last ``####`` (GSM8K solutions), else the ``\\boxed{...}`` (MATH solutions), else the
   whole text. A final answer given as several boxes a few words apart at most
   (``\\boxed{1}\\boxed{2}``, ``\\boxed{1} and \\boxed{2}``) is a set reference, as a list of
   them is (rule 3): Math-Verify reads them as the set {1, 2} too. Boxes further apart are steps
   of a solution: the last one is the answer.
3. **A list** (JSON list, or a 1-element numpy array from verl) of several elements is a *set*
   reference: k boxes whose values are exactly those k elements answer it. A 1-element list is
   that element.
"""

from __future__ import annotations

import re
from typing import Any, Callable, TypeVar

from reward_kit.extraction import boxed_contents, boxed_spans
from reward_kit.numbers import GSM8K_MARKER

_T = TypeVar("_T")

__all__ = ["MISSING", "REFERENCE_KEYS", "final_answer_text", "reference_answer", "unwrap_reference"]

# Looked up in this order; documented in the README ("Reference answers").
REFERENCE_KEYS = ("answer", "final_answer", "label", "text", "solution", "ground_truth")
# Longer reference texts are not answers anyone can compare with: refused, never scanned.
MAX_REFERENCE_CHARS = 100_000


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # "no usable reference": graders turn it into invalid_reference

_LINE_END = re.compile(r"[\r\n]")


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, (dict, list)) and not value)


def unwrap_reference(reference: Any, key: str | None = None) -> Any:
    """The value inside a reference envelope, or ``MISSING``; non-dicts are returned as they are."""
    if not isinstance(reference, dict):
        return MISSING if _is_empty(reference) else reference
    if key is not None:
        value = reference.get(key)
        return MISSING if _is_empty(value) else value
    for candidate in REFERENCE_KEYS:
        value = reference.get(candidate)
        if not _is_empty(value):
            return value
    return reference  # no known key: graders decide (json_schema compares whole objects)


def final_answer_text(text: str) -> str:
    """The final answer of a reference text: after the last ``####``, else the last box, else all."""
    if "#" not in text and "\\" not in text:  # the usual short answer: nothing to look for
        return text.strip()
    markers = list(GSM8K_MARKER.finditer(text))
    if markers:
        rest = text[markers[-1].end() :]
        line_end = _LINE_END.search(rest)
        return (rest[: line_end.start()] if line_end else rest).strip()
    boxes = boxed_contents(text)
    if boxes:
        return boxes[-1].strip()
    return text.strip()


# Boxes a few words apart at most ("\\boxed{1} and \\boxed{2}", "\\boxed{1} papers and \\boxed{2}
# bins") are one answer given in parts; boxes further apart are steps of a solution.
MAX_WORDS_BETWEEN_BOXES = 2
_BOX_OPENER_TAIL = re.compile(r"\\(?:boxed|fbox)\s*\{$")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_WORD = re.compile(r"[^\W\d_]+")


def _distinct_boxes(text: str) -> list[str]:
    """The contents of the text's last run of boxes (each within a few words of the previous
    one), once per spelling (whitespace aside), when the text has no GSM8K ``####`` answer
    (that one wins); [] when there is none."""
    if "\\" not in text or GSM8K_MARKER.search(text):
        return []
    spans = boxed_spans(text)
    if len(spans) < 2:
        return []
    run = [spans[-1]]
    for span in reversed(spans[:-1]):
        between = _BOX_OPENER_TAIL.sub("", text[span[1] + 1 : run[0][0]])
        if len(_WORD.findall(_LATEX_COMMAND.sub(" ", between))) > MAX_WORDS_BETWEEN_BOXES:
            break
        run.insert(0, span)
    seen: dict[str, str] = {}
    for start, end in run:
        content = text[start:end].strip()
        key = "".join(content.split())
        if key and key not in seen:
            seen[key] = content
    return list(seen.values())


def reference_answer(reference: Any, key: str | None = None) -> Any:
    """Unwrapped reference with text references reduced to their final answer.

    Returns ``MISSING`` (unusable), a str (the final answer text), a number, a list (a set
    reference of several elements), or a dict (an object without any known key).
    """
    value = unwrap_reference(reference, key)
    if isinstance(value, list):
        if len(value) == 1:
            value = value[0]
        else:
            return value
    if isinstance(value, str):
        if len(value) > MAX_REFERENCE_CHARS:
            return MISSING
        boxes = _distinct_boxes(value)
        if len(boxes) > 1:
            return boxes  # a set given as several boxes
        answer = final_answer_text(value)
        return answer if answer else MISSING
    if value is None:
        return MISSING
    return value


# A longer list reference is not a set of answers anyone boxes one by one.
MAX_SET_ELEMENTS = 16


def convert_reference(
    reference: Any, key: str | None, convert: Callable[[Any], _T | None], *, max_elements: int | None = MAX_SET_ELEMENTS
) -> _T | list[_T] | None:
    """A reference converted by a grader's ``convert`` (one value), or a list of converted
    elements for a set reference; None when unusable: missing, more than ``max_elements``
    elements, or any value ``convert`` rejects (returns None for)."""
    value = reference_answer(reference, key)
    if value is MISSING:
        return None
    if isinstance(value, list):
        if max_elements is not None and len(value) > max_elements:
            return None
        elements = [convert(reference_answer(element)) for element in value]
        if any(element is None for element in elements):
            return None
        return elements  # type: ignore[return-value]
    return convert(value)

