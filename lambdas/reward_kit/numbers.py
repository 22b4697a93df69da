"""The one number reader: how a written number becomes a float, for responses and references.

Shared by the ``numeric`` grader (response candidates) and ``reward_kit.references`` (numeric
references), so a spelling that counts in an answer counts the same way in a reference.

Spellings read as ONE number:
- ``72``, ``-3.5``, ``.5``, ``1e5``; thousands groups with ``,``, LaTeX ``{,}`` or a thin space
  ``\\,`` (``1,234``, ``1{,}234``, ``1\\,234``); never with plain whitespace: ``3 4`` is two
  numbers, whatever whitespace separates them;
- fractions ``1/2``, ``\\frac{1}{2}``, ``\\dfrac``/``\\tfrac``, LaTeX's one-character arguments
  ``\\frac12`` / ``\\frac1{2}``, a sign in front (``-\\frac{1}{2}`` = -0.5) or inside;
- mixed numbers ``3\\frac{1}{2}`` = 3.5 (a whole number written right before a proper fraction,
  as math-verify reads them; ``-3\\frac{1}{2}`` = -3.5);
- full-width digits and Unicode minus signs (after ``prepare``).
A sign only counts when it is not a binary operator: ``5-3`` is 5 and 3. Infinite or
unparseable values are skipped, never returned.
"""

from __future__ import annotations

import math
import re
import unicodedata

__all__ = ["GSM8K_MARKER", "NUMBER_TOKEN", "marker_answers", "number_at", "prepare", "read_numbers"]

_GROUP_SEPARATOR = r"(?:,|\{,\}|\\,)"
# Unsigned number: thousands-grouped or plain digits, optional decimals and exponent.
_UNSIGNED = rf"(?:\d{{1,3}}(?:{_GROUP_SEPARATOR}\d{{3}})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+"
# A sign only counts when it is not a binary operator ("5-3" is 5 and 3, not 5 and -3).
_SIGN = r"(?:(?<![\w)\]}.])[-+])"
_SIGNED = rf"{_SIGN}?(?:{_UNSIGNED})"


def _frac(tag: str) -> str:
    """A \\frac with named groups <tag>n / <tag>d (braced) and <tag>n1 / <tag>d1 (one digit)."""

    def arg(name: str) -> str:
        return r"(?:\{\s{0,8}(?P<" + name + ">" + _SIGNED + r")\s{0,8}\}|(?P<" + name + r"1>\d))"

    return r"\\[dt]?frac\s{0,8}" + arg(tag + "n") + r"\s{0,8}" + arg(tag + "d")


NUMBER_TOKEN = re.compile(
    # mixed number: a whole number glued to a fraction (3\frac{1}{2})
    rf"(?P<mixsign>{_SIGN})?(?P<whole>\d+){_frac('m')}"
    # a fraction, signed in front (-\frac{1}{2}) or not
    rf"|(?P<fsign>{_SIGN})?{_frac('f')}"
    rf"|(?P<sn>{_SIGNED})\s{{0,8}}/\s{{0,8}}(?P<sd>{_UNSIGNED})(?![\d.,])"
    rf"|(?P<n>{_SIGNED})"
)

# "#### 72": GSM8K's final-answer marker (a currency sign may follow it).
GSM8K_MARKER = re.compile(r"####[ \t]{0,64}\\?\$?[ \t]{0,8}")
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\ufe63": "-", "\u2044": "/"})
_GROUPS = re.compile(_GROUP_SEPARATOR)


def prepare(text: str) -> str:
    """NFKC (full-width digits) and Unicode minus/fraction slashes, before any matching."""
    return unicodedata.normalize("NFKC", text).translate(_MINUS_SIGNS)


def _to_float(token: str | None) -> float | None:
    if token is None:
        return None
    try:
        value = float(_GROUPS.sub("", token))
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    value = num / den
    return value if math.isfinite(value) else None


def _fraction(match: re.Match[str], num: str, den: str) -> float | None:
    return _ratio(
        _to_float(match.group(num) or match.group(num + "1")), _to_float(match.group(den) or match.group(den + "1"))
    )


def _value(match: re.Match[str]) -> float | None:
    if match.group("n") is not None:
        return _to_float(match.group("n"))
    if match.group("sn") is not None:
        return _ratio(_to_float(match.group("sn")), _to_float(match.group("sd")))
    if match.group("whole") is not None:
        whole = _to_float(match.group("whole"))
        num = _to_float(match.group("mn") or match.group("mn1"))
        den = _to_float(match.group("md") or match.group("md1"))
        # Only a proper, unsigned fraction makes a mixed number; 3\frac{7}{2} is not one.
        if whole is None or num is None or den is None or not (0 <= num < den) or not num.is_integer():
            return None
        mixed = whole + num / den
        return -mixed if match.group("mixsign") == "-" else mixed
    fraction = _fraction(match, "fn", "fd")
    if fraction is not None and match.group("fsign") == "-":
        return -fraction
    return fraction


def read_numbers(prepared: str) -> list[float]:
    """Every number in text already passed through ``prepare``, in order."""
    values = []
    for match in NUMBER_TOKEN.finditer(prepared):
        value = _value(match)
        if value is not None:
            values.append(value)
    return values


def number_at(prepared: str, position: int) -> float | None:
    """The number starting exactly at ``position`` (None when there is none)."""
    match = NUMBER_TOKEN.match(prepared, position)
    return _value(match) if match else None


def marker_answers(prepared: str) -> list[float | None]:
    """The number right after each ``####`` (None when a marker has no number)."""
    return [number_at(prepared, marker.end()) for marker in GSM8K_MARKER.finditer(prepared)]
