"""Final-answer extraction shared by the graders, built to resist reward hacking.

Rules (see docs/DESIGN.md):
- Only the *final answer region* is graded: reasoning blocks (``<thinking>``/``<think>``) are
  removed, and an unterminated reasoning block means the model never left its reasoning, so
  there is no final answer at all.
- Inside what remains, the last ``<solution>`` block wins (then the last ``<answer>`` block
  inside it, or anywhere when there is no solution block).
- Every scan here is a single linear pass with pre-compiled, bounded patterns, so a 1 MB
  adversarial response costs milliseconds, not minutes.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

__all__ = [
    "final_answer_region",
    "strip_reasoning",
    "boxed_contents",
    "boxed_spans",
    "unwrap_latex_text",
    "normalize_text",
    "reference_value",
    "clamp01",
    "is_finite_number",
    "loads_strict",
]

# Reasoning tags, case-insensitive; the attribute part is bounded so a flood of "<think" with
# no ">" stays linear.
_REASONING_TAG = re.compile(r"<(/?)(?:thinking|think)\b[^<>]{0,64}>", re.IGNORECASE)
_SOLUTION_TAG = re.compile(r"<(/?)solution\b[^<>]{0,64}>", re.IGNORECASE)
_ANSWER_TAG = re.compile(r"<(/?)answer\b[^<>]{0,64}>", re.IGNORECASE)

# Tokens for the brace scanner: a box opener, an escaped character (so \{ and \} are literal
# braces), or a run of plain braces (runs keep deeply nested input cheap). An escape never
# swallows the backslash of an opener (in \\boxed{ the second backslash starts one), so the
# scanner sees exactly the openers _BOX_OPENER finds: no box hides behind a doubled backslash.
_OPENER = r"\\(?:boxed|fbox)\s{0,16}\{"
_BOX_OPENER = re.compile(_OPENER)
_FLAT_BOX = re.compile(_OPENER + r"([^{}\\]*)\}")
_BOX_TOKENS = re.compile(rf"({_OPENER})|(\\(?!{_OPENER}).)|(\{{+)|(\}}+)", re.DOTALL)

# LaTeX text wrappers that carry a plain word, e.g. \boxed{\text{positive}}.
_LATEX_TEXT_WRAPPER = re.compile(
    r"\\(?:text|textbf|textit|textrm|texttt|mathrm|mathbf|mathit|mbox|operatorname)\s{0,16}\{([^{}]{0,1000})\}"
)

_WHITESPACE = re.compile(r"\s+")
# Characters that decorate an answer without changing it: markdown emphasis, quotes,
# brackets, sentence punctuation (ASCII and CJK), math-mode dollars.
DECORATION = (
    " \t\r\n\f\v"
    "*_~`\"'“”‘’„«»‹›「」『』【】〈〉《》()[]{}<>"
    ".,;:!?。、，．：；！？…·$#|\\"
)


def clamp01(value: float) -> float:
    """Clamp to [0, 1]; NaN becomes 0 so a bad number can never look like a reward."""
    if value != value:  # NaN
        return 0.0
    if value <= 0.0:
        return 0.0
    if value >= 1.0:
        return 1.0
    return float(value)


def strip_reasoning(text: str) -> str:
    """Remove reasoning blocks; return "" when a reasoning block is left open.

    A closing tag with no opening tag (templates often pre-fill ``<think>``) means everything
    before it was reasoning, so it is dropped too.
    """
    if not isinstance(text, str) or not text:
        return ""
    kept: list[str] = []
    depth = 0
    pos = 0  # start of the current segment outside reasoning
    for match in _REASONING_TAG.finditer(text):
        closing = match.group(1) == "/"
        if not closing:
            if depth == 0:
                kept.append(text[pos : match.start()])
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                pos = match.end()
        else:
            # Stray closing tag: what came before it was reasoning.
            kept.clear()
            pos = match.end()
    if depth > 0:
        return ""  # reasoning never finished: no final answer
    kept.append(text[pos:])
    return "".join(kept)


def _last_block(text: str, tag: re.Pattern[str]) -> str | None:
    """Content of the last ``<tag>`` block; an unclosed last opener runs to the end of text."""
    last_open_end = -1
    last_content: str | None = None
    for match in tag.finditer(text):
        if match.group(1) != "/":
            last_open_end = match.end()
        elif last_open_end >= 0:
            last_content = text[last_open_end : match.start()]
            last_open_end = -2  # consumed; a later opener starts a new block
    if last_open_end >= 0:
        # An opener after the last complete block (e.g. a truncated response): it is the latest.
        return text[last_open_end:]
    return last_content


def final_answer_region(response: Any) -> str:
    """The part of a response that is graded, stripped of surrounding whitespace.

    Reasoning removed; then the last ``<solution>`` block if any; then, inside that, the last
    ``<answer>`` block if any. Never raises: non-text input gives "".
    """
    if isinstance(response, str) and "<" not in response:
        return response.strip()  # no tag of any kind: nothing to remove or select
    text = strip_reasoning(response) if isinstance(response, str) else ""
    if not text:
        return ""
    solution = _last_block(text, _SOLUTION_TAG)
    if solution is not None:
        text = solution
    answer = _last_block(text, _ANSWER_TAG)
    if answer is not None:
        text = answer
    return text.strip()


def boxed_contents(text: Any) -> list[str]:
    """Contents of every outermost ``\\boxed{...}`` / ``\\fbox{...}``, in order of appearance.

    Braces are balanced (``\\boxed{\\frac{1}{2}}`` -> ``\\frac{1}{2}``), ``\\{``/``\\}`` are literal,
    ``\\boxed {x}`` is accepted, unclosed boxes are ignored. One linear pass with a stack.
    """
    if not isinstance(text, str) or "\\" not in text:
        return []
    first = _BOX_OPENER.search(text)
    if first is None:
        return []
    # Fast path for the usual answer, flat boxes like \boxed{positive}: when every opener
    # is a flat box (no braces or backslashes inside), the scanner below would return exactly
    # these contents, because flat boxes can neither nest nor be nested.
    flat = _FLAT_BOX.findall(text, first.start())
    if flat and len(flat) == len(_BOX_OPENER.findall(text, first.start())):
        return flat
    return [text[start:end] for start, end in _outermost_spans(text, first.start())]


def boxed_spans(text: Any) -> list[tuple[int, int]]:
    """(start, end) of the content of every outermost box, as ``boxed_contents`` finds them."""
    if not isinstance(text, str) or "\\" not in text:
        return []
    first = _BOX_OPENER.search(text)
    return [] if first is None else _outermost_spans(text, first.start())


def _outermost_spans(text: str, first: int) -> list[tuple[int, int]]:
    # Braces before the first box can never close a box (the stack is LIFO): start there.
    stack: list[int] = []  # content start for box frames, -1 for plain braces
    spans: list[tuple[int, int]] = []
    for match in _BOX_TOKENS.finditer(text, first):
        if match.group(1) is not None:
            stack.append(match.end())
        elif match.group(3) is not None:
            stack.extend([-1] * len(match.group(3)))
        elif match.group(4) is not None and stack:
            count = min(len(match.group(4)), len(stack))
            popped = stack[len(stack) - count :]
            del stack[len(stack) - count :]
            # The top frame closes at the first "}" of the run, the next one at the second...
            last_close = match.start() + count - 1
            for index, start in enumerate(popped):
                if start >= 0:
                    spans.append((start, last_close - index))
    if not spans:
        return []
    # Keep outermost boxes only: a nested box is part of its parent's content.
    spans.sort()
    result: list[tuple[int, int]] = []
    covered_until = -1
    for start, end in spans:
        if start < covered_until:
            continue
        result.append((start, end))
        covered_until = end
    return result


def unwrap_latex_text(text: str) -> str:
    """Replace ``\\text{word}``-style wrappers by their content (repeated for nesting)."""
    for _ in range(4):  # nesting deeper than this is not a plain word anyway
        if "\\" not in text:
            break
        new = _LATEX_TEXT_WRAPPER.sub(r"\1", text)
        if new == text:
            break
        text = new
    return text


def normalize_text(text: Any) -> str:
    """Canonical form for comparing short answers.

    NFKC (full-width ``ＰＯＳＩＴＩＶＥ`` -> ``POSITIVE``), casefold, collapse whitespace, and strip
    decoration around the answer (``**positive**.`` -> ``positive``).
    """
    if not isinstance(text, str):
        return ""
    # Short answers (labels, box contents, references) repeat across a batch: memoize them.
    if len(text) <= _NORMALIZE_CACHE_MAX_CHARS:
        cached = _normalize_cache.get(text)
        if cached is None:
            if len(_normalize_cache) >= _NORMALIZE_CACHE_SIZE:
                _normalize_cache.clear()  # bounded memory; refills with what this batch uses
            cached = _normalize_cache[text] = _normalize_uncached(text)
        return cached
    return _normalize_uncached(text)


_NORMALIZE_CACHE_MAX_CHARS = 64
_NORMALIZE_CACHE_SIZE = 4096
_normalize_cache: dict[str, str] = {}


def _normalize_uncached(text: str) -> str:
    if not text.isascii():  # NFKC is the identity on ASCII
        text = unicodedata.normalize("NFKC", text)
    text = _WHITESPACE.sub(" ", text.casefold())
    return text.strip(DECORATION)


def reference_value(reference: Any, keys: tuple[str, ...] = ("answer",)) -> Any:
    """Unwrap the usual reference envelopes: ``{"answer": x}`` (or another of ``keys``) -> x.

    Anything else is returned unchanged; graders decide what they accept.
    """
    if isinstance(reference, dict):
        for key in keys:
            if key in reference:
                return reference[key]
    return reference


def is_finite_number(value: Any) -> bool:
    """True for int/float values that are real numbers (bool excluded)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # huge int
        return False


class _NotJson(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _NotJson("duplicate key")
    return result


def _reject_constant(name: str) -> Any:
    raise _NotJson(name)


def _finite_float(text: str) -> float:
    # 1e999 is valid JSON syntax but not a number anyone can compare: float() makes it inf,
    # and {"score": -1e999} would then pass "maximum": 5.
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson("number out of range")
    return value


_STRICT_JSON = json.JSONDecoder(
    object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant, parse_float=_finite_float
)


def loads_strict(text: str) -> tuple[bool, Any]:
    """(ok, value): exactly one JSON value, surrounding whitespace allowed; never raises.

    Stricter than ``json.loads``: a duplicate key (which value counts would be the parser's
    choice), NaN/Infinity (not JSON, and not a number anyone can compare) and numbers that
    overflow a float (``1e999``, which Python would read as infinity) are not JSON.
    """
    text = text.strip()
    if not text:
        return False, None
    try:
        return True, _STRICT_JSON.decode(text)
    except (ValueError, RecursionError, TypeError):
        return False, None
