"""Regular expressions from reward specs: RE2 (``google-re2``, linear time) first, and the
``regex`` module, bounded, for what RE2 cannot run.

A pattern written by a spec author meets text written by the policy, which will find any
input that makes backtracking explode (``(a+)+$`` on 30 characters takes minutes with
Python's ``re``, and holds the GIL while it does). RE2 matches in time linear in the text,
whatever the pattern, so a pattern RE2 accepts runs in-process and cheap. RE2 has no
backreferences (``\\1``) and no lookaround (``(?=``, ``(?<!``); ``\\d``, ``\\w``, ``\\s`` are
ASCII (``\\p{L}``, ``\\p{N}`` cover other scripts).

Patterns that need them (TRL's and open-r1's ``^<think>(?!.*<think>)(.*?)</think>.*$``) compile
with the ``regex`` module instead (Python ``re`` syntax and meaning, VERSION0), a backtracking
engine: ``compile_pattern`` then returns a ``BacktrackingPattern`` whose ``engine`` says so,
whose matches take a ``timeout`` (the module's own, which interrupts the match), and the
regex grader runs it in a killable worker (``reward_kit.isolation``) under the sample's budget.

The CDK app validates spec patterns with this same function at synth, so a pattern neither
engine compiles fails ``cdk synth`` with one line instead of a cold start. ``google-re2`` and
``regex`` are imported on first use only.
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["FLAGS", "BacktrackingPattern", "PatternError", "compile_pattern", "RE2", "REGEX"]

FLAGS = ("DOTALL", "IGNORECASE", "MULTILINE")
# RE2 refuses patterns whose compiled program would need more memory than this (bytes).
MAX_PATTERN_MEMORY = 8 << 20
RE2 = "re2"  # the engine names a compiled pattern reports (``.engine``)
REGEX = "regex"


class PatternError(ValueError):
    """Neither RE2 nor the regex module can compile the pattern; the message is one line."""


class BacktrackingPattern:
    """A pattern RE2 cannot run, compiled with the ``regex`` module. ``search``/``fullmatch``
    take ``timeout`` (seconds, None for none) and raise ``TimeoutError`` when it runs out."""

    engine = REGEX

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled

    def search(self, text: str, timeout: float | None = None) -> Any:
        return self._compiled.search(text, timeout=timeout)

    def fullmatch(self, text: str, timeout: float | None = None) -> Any:
        return self._compiled.fullmatch(text, timeout=timeout)


def compile_pattern(pattern: str, flags: Iterable[str] = ()) -> Any:
    """The compiled pattern (``.search(text)``, ``.fullmatch(text)``, ``.engine``): RE2's when
    RE2 accepts it, else a ``BacktrackingPattern``; ``PatternError`` (one line) when neither
    engine compiles it. ``flags`` are names from ``FLAGS``, with Python's ``re`` meanings."""
    flags = set(flags)
    unknown = flags.difference(FLAGS)
    if unknown:
        raise PatternError(f"unknown flags {sorted(unknown)}; allowed: {sorted(FLAGS)}")
    try:
        return _compile_re2(pattern, flags)
    except PatternError as re2_error:
        try:
            return _compile_regex(pattern, flags)
        except PatternError as regex_error:
            raise PatternError(f"{re2_error}, nor with the regex module ({regex_error})") from None


class _RE2Pattern:
    """RE2's compiled pattern, with ``engine`` and the ``timeout`` argument the other has
    (ignored: RE2 is linear in the text)."""

    engine = RE2
    __slots__ = ("_compiled",)

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled

    def search(self, text: str, timeout: float | None = None) -> Any:
        return self._compiled.search(text)

    def fullmatch(self, text: str, timeout: float | None = None) -> Any:
        return self._compiled.fullmatch(text)


def _compile_re2(pattern: str, flags: set[str]) -> _RE2Pattern:
    import re2  # lazy: only regex specs need it

    options = re2.Options()
    options.log_errors = False  # errors come back as exceptions, not stderr lines
    options.never_capture = True  # graders only ask whether it matches: the fast engines
    options.max_mem = MAX_PATTERN_MEMORY
    options.case_sensitive = "IGNORECASE" not in flags
    options.dot_nl = "DOTALL" in flags
    # RE2's perl mode has no multi-line option: the inline flag means the same as re.M.
    source = f"(?m){pattern}" if "MULTILINE" in flags else pattern
    try:
        return _RE2Pattern(re2.compile(source, options))
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise PatternError(f"does not compile with RE2 ({_one_line(detail)})") from None


def _compile_regex(pattern: str, flags: set[str]) -> BacktrackingPattern:
    import regex  # lazy: only patterns RE2 rejects need it

    options = regex.VERSION0  # Python re's syntax and meaning (what TRL/open-r1 patterns are written for)
    for name in flags:
        options |= getattr(regex, name)
    try:
        return BacktrackingPattern(regex.compile(pattern, options))
    except (regex.error, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise PatternError(_one_line(exc)) from None


def _one_line(detail: Any) -> str:
    return " ".join(str(detail).split())
