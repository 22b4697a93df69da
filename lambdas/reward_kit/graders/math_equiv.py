"""``math`` grader: symbolic equivalence with math-verify (``\\frac{1}{2}`` == ``0.5`` == ``1/2``).

Candidate: the last ``\\boxed{...}`` of the final answer region. Boxes holding different answers
(not equivalent to the last one) => ``multiple_answers``. Without a box, math-verify's own
extraction runs on the tail of the region (it prefers the rightmost expression).
Correct => 1.0; a boxed, parseable but wrong answer => ``format_score``; unboxed wrong => 0;
nothing parseable => ``no_answer``; over ``timeout_seconds`` => ``grader_timeout``.

Time limit: math-verify's built-in timeouts use ``signal.alarm`` (whole seconds, per call, main
thread only). We disable them and put ONE deadline around the whole sample instead:
``signal.setitimer`` in the main thread (the Lambda handler runs there); in any other thread a
daemon worker thread is abandoned when the deadline passes (it cannot be killed, but the
grader answers on time). Heavy imports happen in ``build()``, never when reward_kit loads.
"""

from __future__ import annotations

import signal
import threading
import time
from functools import partial
from typing import Any, Callable, Mapping, TypeVar

from reward_kit.extraction import (
    boxed_contents,
    clamp01,
    final_answer_region,
    is_finite_number,
    reference_value,
)
from reward_kit.graders.base import GradeInput, GradeResult, Grader, answer_result

T = TypeVar("T")

# Answers longer than this are not handed to sympy: real answers are short, and sympy/regex
# work inside math-verify is not interruptible by signals while in C code.
MAX_ANSWER_CHARS = 1_000
# Unboxed fallback: math-verify scans only this many trailing characters of the region.
UNBOXED_TAIL_CHARS = 2_000
# More distinct boxes than this is spraying answers, whatever they are.
MAX_DISTINCT_BOXES = 4


class _Deadline(BaseException):
    """Raised by the timer. BaseException so library ``except Exception`` blocks can't eat it."""


def _raise_deadline(signum: int, frame: Any) -> None:
    raise _Deadline()


def call_with_deadline(fn: Callable[[], T], seconds: float) -> T:
    """Run ``fn()``; raise ``_Deadline`` if it takes longer than ``seconds``."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        previous_handler = signal.signal(signal.SIGALRM, _raise_deadline)
        previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
        started = time.monotonic()
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(
                signal.SIGALRM, previous_handler if previous_handler is not None else signal.SIG_DFL
            )
            if previous_timer[0] > 0:  # someone else's alarm was pending: give it back
                remaining = max(previous_timer[0] - (time.monotonic() - started), 1e-3)
                signal.setitimer(signal.ITIMER_REAL, remaining, previous_timer[1])

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="math-verify", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _Deadline()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _reference_text(reference: Any) -> str | None:
    value = reference_value(reference, ("answer", "solution"))
    if is_finite_number(value):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def build(spec: Mapping[str, Any]) -> Grader:
    # Lazy: sympy-backed imports cost ~1 s; only specs that use this grader pay it.
    import math_verify.grader
    import math_verify.parser
    from math_verify import parse, verify

    # We pass timeout=None on purpose (see module docstring); silence the "no timeout" warning.
    math_verify.parser.TIMEOUT_WARNING_SHOWN = True
    math_verify.grader.TIMEOUT_WARNING_SHOWN = True

    name = spec.get("name") or spec["grader"]
    seconds = float(spec.get("timeout_seconds", 5))
    format_score = clamp01(float(spec.get("format_score", 0.0) or 0.0))
    result = partial(answer_result, name)

    def parse_text(text: str) -> list[Any]:
        return parse(text, parsing_timeout=None)

    def parse_box(content: str) -> list[Any]:
        return parse_text("\\boxed{" + content + "}")

    def same(gold: list[Any], pred: list[Any]) -> bool:
        return bool(verify(gold, pred, timeout_seconds=None))

    def parse_gold(text: str) -> list[Any]:
        if "\\boxed" in text or "$" in text or "\\(" in text or "\\[" in text:
            return parse_text(text)
        # A bare reference ("x^2+1", "\\frac{1}{2}", "72"): read it as if boxed, then as-is.
        return parse_box(text) or parse_text(text)

    def grade_region(gold_text: str, region: str) -> GradeResult:
        gold = parse_gold(gold_text) if len(gold_text) <= MAX_ANSWER_CHARS * 10 else []
        if not gold:
            return result(0.0, "invalid_reference", False, False)
        distinct: list[str] = []
        for box in boxed_contents(region):
            key = "".join(box.split())
            if key and key not in distinct:
                if len(distinct) == MAX_DISTINCT_BOXES:  # stop here: the list stays tiny
                    return result(0.0, "multiple_answers", False, False)
                distinct.append(key)
        if distinct:
            if any(len(box) > MAX_ANSWER_CHARS for box in distinct):
                return result(0.0, "no_answer", False, False)
            pred = parse_box(distinct[-1])
            if not pred:
                return result(0.0, "no_answer", False, False)
            for other in distinct[:-1]:
                other_pred = parse_box(other)
                if not other_pred or not same(pred, other_pred):
                    return result(0.0, "multiple_answers", False, False)
            boxed = True
        else:
            pred = parse_text(region[-UNBOXED_TAIL_CHARS:])
            if not pred:
                return result(0.0, "no_answer", False, False)
            boxed = False
        if same(gold, pred):
            return result(1.0, None, True, boxed)
        return result(format_score if boxed else 0.0, None, True, boxed)

    def grade(sample: GradeInput) -> GradeResult:
        gold_text = _reference_text(sample.reference)
        if gold_text is None:
            return result(0.0, "invalid_reference", False, False)
        region = final_answer_region(sample.response)
        if not region:
            return result(0.0, "no_answer", False, False)
        try:
            return call_with_deadline(lambda: grade_region(gold_text, region), seconds)
        except _Deadline:
            return result(0.0, "grader_timeout", False, False)
        except Exception:  # noqa: BLE001 - a sympy bug on odd input must not fail the batch
            return result(0.0, "grader_error", False, False)

    return grade
