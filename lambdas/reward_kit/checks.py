"""The one set of validation helpers: reward specs (``spec.py``) and cdk.json (``stacks/config``).

Standard library only: the Lambda runtime validates its spec with these at cold start and
the CDK app validates cdk.json with them at synth time. Every failure is ONE line in one
style, ``<key path>: <rule>, got <value>``::

    environments.dev.reward_functions.x.memory_mb: must be an integer in 128..10240, got 64
    REWARD_SPEC.graders.a.grader: must be one of ['label', 'math'], got 'nope'

A ``Checks`` is bound to the exception type its caller promises (``SpecError``,
``ConfigError``); both derive from ``CheckError``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Iterable, Mapping

__all__ = ["CheckError", "Checks", "is_number", "show"]

MAX_SHOWN_CHARS = 80


class CheckError(ValueError):
    """A value that breaks a rule; the message is one line starting with the key path."""


def show(value: Any) -> str:
    """A value as it appears in messages: strings quoted, the rest as JSON, cut to one short line."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 3] + "..."


def is_number(value: Any) -> bool:
    """A finite int or float (bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _interval(gt: float | None, ge: float | None, lt: float | None, le: float | None) -> str:
    low = (gt, "(") if gt is not None else (ge, "[") if ge is not None else None
    high = (lt, ")") if lt is not None else (le, "]") if le is not None else None
    if low and high:
        return f" in {low[1]}{low[0]:g}, {high[0]:g}{high[1]}"
    if low:
        return f" {'>' if low[1] == '(' else '>='} {low[0]:g}"
    if high:
        return f" {'<' if high[1] == ')' else '<='} {high[0]:g}"
    return ""


class Checks:
    """Checkers that return the normalized value or raise ``error`` with a one-line message."""

    def __init__(self, error: type[CheckError] = CheckError) -> None:
        self.error = error

    def fail(self, path: str, rule: str, *value: Any) -> CheckError:
        """``path: rule, got value`` (or ``path: rule`` without a value)."""
        message = f"{path}: {rule}" + (f", got {show(value[0])}" if value else "")
        return self.error(message.replace("\n", " "))

    def number(self, path: str, value: Any, *, gt: float | None = None, ge: float | None = None,
               lt: float | None = None, le: float | None = None) -> float:
        if not is_number(value) or (gt is not None and not value > gt) or (ge is not None and not value >= ge) or (
            lt is not None and not value < lt) or (le is not None and not value <= le):
            bounded = _interval(gt, ge, lt, le)
            raise self.fail(path, f"must be a finite number{bounded}", value)
        return float(value)

    def integer(self, path: str, value: Any, *, ge: int, le: int | None = None) -> int:
        # 3.0 from a JSON file is fine; 3.5 or True is not.
        rule = f"must be an integer >= {ge}" if le is None else f"must be an integer in {ge}..{le}"
        if not is_number(value) or not float(value).is_integer():
            raise self.fail(path, rule, value)
        number = int(value)
        if number < ge or (le is not None and number > le):
            raise self.fail(path, rule, number)
        return number

    def boolean(self, path: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, "must be true or false", value)
        return value

    def string(self, path: str, value: Any, rule: str = "must be a non-empty string") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, rule, value)
        return value

    def one_of(self, path: str, value: Any, allowed: Iterable[str]) -> str:
        allowed = sorted(allowed)
        if not isinstance(value, str) or value not in allowed:
            raise self.fail(path, f"must be one of {allowed}", value)
        return value

    def pattern(self, path: str, value: Any, regex: re.Pattern[str], rule: str) -> str:
        if not isinstance(value, str) or not regex.fullmatch(value):
            raise self.fail(path, f"must be {rule}", value)
        return value

    def object(self, path: str, value: Any) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, "must be a JSON object", value)
        return value

    def no_unknown_keys(self, path: str, value: Mapping[str, Any], allowed: Iterable[str]) -> None:
        # Unknown keys are almost always typos ("tolerence"); silently ignoring them hides bugs.
        allowed = sorted(allowed)
        for key in value:
            if key not in allowed:
                raise self.fail(f"{path}.{key}", f"unknown key; allowed keys are {allowed}")

    def required(self, path: str, value: Mapping[str, Any], key: str, what: str) -> Any:
        if key not in value or value[key] is None:
            raise self.fail(f"{path}.{key}", f"required ({what})")
        return value[key]
