"""Regular expressions from reward specs, compiled with RE2 (``google-re2``): linear time.

A pattern written by a spec author meets text written by the policy, which will find any
input that makes backtracking explode (``(a+)+$`` on 30 characters takes minutes with
Python's ``re``, and holds the GIL while it does). RE2 matches in time linear in the text,
whatever the pattern, so regex graders stay in-process and cheap. The price is RE2's syntax:
no backreferences (``\\1``) and no lookaround (``(?=``, ``(?<!``); ``\\d``, ``\\w``, ``\\s`` are
ASCII (``\\p{L}``, ``\\p{N}`` cover other scripts).

The CDK app validates spec patterns with this same function at synth, so a pattern RE2
cannot run fails ``cdk synth`` with one line instead of a cold start. ``google-re2`` is
imported on first use only.
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["FLAGS", "PatternError", "compile_pattern"]

FLAGS = ("DOTALL", "IGNORECASE", "MULTILINE")
# RE2 refuses patterns whose compiled program would need more memory than this (bytes).
MAX_PATTERN_MEMORY = 8 << 20


class PatternError(ValueError):
    """RE2 cannot compile the pattern; the message is one line."""


def compile_pattern(pattern: str, flags: Iterable[str] = ()) -> Any:
    """The compiled RE2 pattern (``.search(text)``, ``.fullmatch(text)``); ``PatternError`` if
    RE2 rejects it. ``flags`` are names from ``FLAGS``, with Python's ``re`` meanings."""
    import re2  # lazy: only regex specs need it

    flags = set(flags)
    unknown = flags.difference(FLAGS)
    if unknown:
        raise PatternError(f"unknown flags {sorted(unknown)}; allowed: {sorted(FLAGS)}")
    options = re2.Options()
    options.log_errors = False  # errors come back as exceptions, not stderr lines
    options.never_capture = True  # graders only ask whether it matches: the fast engines
    options.max_mem = MAX_PATTERN_MEMORY
    options.case_sensitive = "IGNORECASE" not in flags
    options.dot_nl = "DOTALL" in flags
    # RE2's perl mode has no multi-line option: the inline flag means the same as re.M.
    source = f"(?m){pattern}" if "MULTILINE" in flags else pattern
    try:
        return re2.compile(source, options)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise PatternError(
            f"does not compile with RE2 ({detail}); RE2 runs in linear time and has no backreferences or lookaround"
        ) from None
