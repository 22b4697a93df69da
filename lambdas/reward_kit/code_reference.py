"""The ``code`` grader's references: the tests a reference carries, and how an answer compares.

``parse_reference`` reads a reference (a JSON object, or its JSON text; the formats are listed
in ``reward_kit.graders.code``) into one suite: ``StdioSuite`` (stdin and expected stdout),
``CallSuite`` (a function, its encoded arguments and expected values) or ``AssertSuite`` (test
code compiled for the replay by ``reward_kit.code_replay_suite``); None when it is unusable
(``invalid_reference``). ``same_output`` and ``call_matches`` compare what the program gave
with what the reference expects. Nothing runs here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from reward_kit import plain_data

if TYPE_CHECKING:  # the replay's compiler loads with the first assert-style reference
    from reward_kit import code_replay_suite

__all__ = ["AssertSuite", "CallSuite", "StdioSuite", "Suite", "call_matches", "parse_reference", "same_output"]

MAX_TESTS = 100  # per reference


@dataclass(frozen=True)
class StdioSuite:
    cases: tuple[tuple[str, str], ...]  # (stdin, expected stdout)

    @property
    def size(self) -> int:
        return len(self.cases)


@dataclass(frozen=True)
class CallSuite:
    function: str
    cases: tuple[tuple[Any, Any, bool], ...]  # (encoded args, expected value, a one-item list may wrap it)

    @property
    def size(self) -> int:
        return len(self.cases)


@dataclass(frozen=True)
class AssertSuite:
    replay: code_replay_suite.ReplaySuite

    @property
    def size(self) -> int:
        return len(self.replay.units)


Suite = StdioSuite | CallSuite | AssertSuite


def parse_reference(reference: Any, reference_key: str | None = None) -> Suite | None:
    """The tests a reference carries (under ``reference_key`` when given), or None when it is
    unusable (``invalid_reference``)."""
    if isinstance(reference, str):
        try:
            reference = json.loads(reference)
        except (ValueError, RecursionError):
            return None
    if reference_key is not None:
        reference = reference.get(reference_key) if isinstance(reference, Mapping) else None
    if not isinstance(reference, Mapping):
        return None
    styles = [key for key in ("tests", "inputs", "test_code", "test") if key in reference]
    if len(styles) != 1 and styles != ["test_code", "test"]:
        return None
    function = reference.get("fn_name") or reference.get("func_name")
    if function is not None and not (isinstance(function, str) and function.isidentifier()):
        return None
    try:
        if styles[0] == "tests":
            return _parse_tests(reference["tests"], function)
        if styles[0] == "inputs":
            return _parse_inputs(reference["inputs"], reference.get("outputs"), function)
        source = reference.get("test_code", reference.get("test"))
        entry = reference.get("entry_point")
        if entry is not None and not (isinstance(entry, str) and entry.isidentifier()):
            return None
        return _parse_test_code(source, entry)
    except (ValueError, TypeError, RecursionError, plain_data.NotPlain):
        return None


def _parse_tests(items: Any, function: str | None) -> Suite | None:
    if not isinstance(items, list) or not 0 < len(items) <= MAX_TESTS:
        return None
    if all(isinstance(i, Mapping) and i.get("testtype") == "functional" for i in items):
        if function is None:
            return None
        cases = []
        for item in items:
            if not isinstance(item.get("input"), str) or not isinstance(item.get("output"), str):
                return None
            args = [json.loads(line) for line in item["input"].split("\n") if line.strip()]
            cases.append((plain_data.encode(args), json.loads(item["output"]), False))
        return CallSuite(function, tuple(cases))
    if function is not None and any(isinstance(i, Mapping) and i.get("testtype") == "functional" for i in items):
        return None  # mixed styles
    stdio = []
    for item in items:
        if not (isinstance(item, Mapping) and isinstance(item.get("input", ""), str)
                and isinstance(item.get("output"), str)):
            return None
        stdio.append((item.get("input", ""), item["output"]))
    return StdioSuite(tuple(stdio))


def _lines(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(value) + "\n"
    if not isinstance(value, str):
        raise TypeError("text expected")
    return value


def _parse_inputs(inputs: Any, outputs: Any, function: str | None) -> Suite | None:
    if not (isinstance(inputs, list) and isinstance(outputs, list) and 0 < len(inputs) == len(outputs) <= MAX_TESTS):
        return None
    if function is None:
        return StdioSuite(tuple((_lines(i), _lines(o)) for i, o in zip(inputs, outputs)))
    cases = []
    for args, expected in zip(inputs, outputs):
        if isinstance(args, str):  # arguments as JSON lines (some prime_code rows)
            args = [json.loads(line) for line in args.split("\n") if line.strip()]
        if not isinstance(args, list):
            return None
        cases.append((plain_data.encode(args), expected, True))
    return CallSuite(function, tuple(cases))


def _parse_test_code(source: Any, entry: str | None) -> Suite | None:
    from reward_kit import code_replay_suite

    sources = [source] if isinstance(source, str) else source
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
        return None
    replay = code_replay_suite.compile_suite("\n\n".join(sources), entry)
    if replay is None or len(replay.units) > MAX_TESTS:
        return None
    return AssertSuite(replay)


# --- comparisons -----------------------------------------------------------------------------


def normalize_output(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).rstrip("\n")


def same_output(actual: str, expected: str) -> bool:
    """Equal up to trailing whitespace on each line and trailing blank lines."""
    return normalize_output(actual) == normalize_output(expected)


def _as_lists(value: Any) -> Any:
    if type(value) in (list, tuple):
        return [_as_lists(item) for item in value]
    if type(value) is dict:
        return {key: _as_lists(item) for key, item in value.items()}
    return value


def call_matches(actual: Any, expected: Any, may_wrap: bool) -> bool:
    """The returned plain value against the reference's (JSON) one: tuples compare as lists;
    APPS/TACO wrap some outputs in a one-item list."""
    actual = _as_lists(actual)
    if actual == expected and _same_kind(actual, expected):
        return True
    return may_wrap and type(expected) is list and len(expected) == 1 and actual == expected[0] and _same_kind(
        actual, expected[0])


def _same_kind(actual: Any, expected: Any) -> bool:
    """``True == 1`` and ``1 == 1.0`` in Python; a bool is not an answer for a number here."""
    if type(expected) is bool or type(actual) is bool:
        return type(actual) is type(expected)
    if type(expected) in (list, tuple) and type(actual) in (list, tuple):
        return all(_same_kind(a, e) for a, e in zip(actual, expected))
    if type(expected) is dict and type(actual) is dict:
        return all(_same_kind(actual[k], expected[k]) for k in expected if k in actual)
    return True
