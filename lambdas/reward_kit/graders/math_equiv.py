"""``math`` grader: symbolic equivalence with math-verify (``\\frac{1}{2}`` == ``0.5`` == ``1/2``).

Candidate: the boxes of the final answer region, each parsed exactly as written (boxes that
differ only in whitespace are parsed once; the whitespace-free key is never parsed itself, so
``\\boxed{32, 349}`` stays the set {32, 349} and never becomes 32349). Boxes whose values are
equivalent are ONE answer; two values => ``multiple_answers``, except that when the reference
is a set of k elements (``(2, 2), (6, 2)``), k boxes whose values are exactly those elements are
that answer. Digits separated only by whitespace in a box (``\\boxed{3 4}``) are two numbers:
``multiple_answers`` (math-verify alone would read 7). Without a box, math-verify's own
extraction runs on the tail of the region (it prefers the rightmost expression).
Equations: an answer ``a = b`` counts as its right-hand side only when ``a`` is made of
variables alone (Math-Verify's assignment rule: ``x = 2``, ``f(x) = 2``, ``(p,q) = (3,2)``);
``7 = 2`` is an equation, never the number 2. A reference equation is math-verify's to read:
a left side of variables names the value on its right (``\\frac{NO}{BO}=\\frac{1}{\\sqrt6}``),
any other is answered by an equivalent equation only. Matrices (``pmatrix``, ``bmatrix``,
``array``) and tuples are compared entry by entry.
References are unwrapped by ``reward_kit.references``; a reference written in words
(``forty two``) is ``invalid_reference``, not a product of letters: textual answers go in
``\\text{...}``.
Correct => 1.0; a boxed, parseable but wrong answer => ``format_score``; unboxed wrong => 0;
nothing parseable => ``no_answer``; over ``timeout_seconds`` => ``grader_timeout``.

Isolation: ``build_grader`` runs this grader in a killable worker process
(``reward_kit.isolation``), which enforces the limit even when sympy holds the GIL; inside
the worker the timer below stops well-behaved runaways first.

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
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, Mapping, NamedTuple, TypeVar

from reward_kit.deadline import remaining_seconds
from reward_kit.extraction import (
    boxed_contents,
    clamp01,
    final_answer_region,
    is_finite_number,
)
from reward_kit.graders.base import GradeInput, GradeResult, Grader, GraderTraits, Isolation, answer_result, with_traits
from reward_kit.math_text import joins_numbers, latex_groups, looks_like_prose, same_words
from reward_kit.references import MAX_SET_ELEMENTS, convert_reference
from reward_kit.spec_checks import checks, reference_key

T = TypeVar("T")

# Answers longer than this are not handed to sympy: real answers are short, and sympy/regex
# work inside math-verify is not interruptible by signals while in C code.
MAX_ANSWER_CHARS = 1_000
# Unboxed fallback: math-verify scans only this many trailing characters of the region.
UNBOXED_TAIL_CHARS = 2_000
# More distinct boxes than this (beyond a set reference's k elements) is spraying answers.
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


def _element_text(value: Any) -> str | None:
    if is_finite_number(value):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def reference_text(reference: Any, key: str | None = None) -> str | None:
    """The reference's final answer as LaTeX-ish text; a list becomes the set ``a, b, c``."""
    text = convert_reference(reference, key, _element_text)
    return ", ".join(text) if isinstance(text, list) else text


# --- the spec ----------------------------------------------------------------------------------


def validate(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Check the spec's ``math`` keys at ``path`` and write them, normalized, to ``out``."""
    # Capped well under the Lambda maximum: one pathological sample must not eat the batch.
    out["timeout_seconds"] = checks.number(
        f"{path}.timeout_seconds",
        spec.get("timeout_seconds", 5),
        gt=0,
        le=60,
    )
    reference_key(path, spec, out)


# --- the grader --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MathConfig:
    """A math grader's settings, read once from its validated spec."""

    name: str
    seconds: float  # per sample, before the invocation's deadline
    format_score: float
    reference_key: str | None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> MathConfig:
        return cls(
            name=spec.get("name") or spec["grader"],
            seconds=float(spec.get("timeout_seconds", 5)),
            format_score=clamp01(float(spec.get("format_score", 0.0) or 0.0)),
            reference_key=spec.get("reference_key"),
        )

    def result(self, score: float, reason: str | None, found: bool, format_ok: bool) -> GradeResult:
        return answer_result(self.name, score, reason, found, format_ok)


class _Library(NamedTuple):
    """math-verify and the sympy names the grader reads, loaded on first use."""

    parse: Callable[..., list[Any]]
    verify: Callable[..., bool]
    sympy: Any
    is_expr_of_only_symbols: Callable[[Any], bool]  # math-verify's own "a name = value" rule


def _library() -> _Library:
    # Lazy: sympy-backed imports cost ~1 s; only specs that use this grader pay it (at build).
    # Looked up on each use (sys.modules: microseconds), so a patched math_verify is seen.
    import math_verify.grader
    import math_verify.parser
    import sympy
    from latex2sympy2_extended import is_expr_of_only_symbols
    from math_verify import parse, verify

    # We pass timeout=None on purpose (see module docstring); silence the "no timeout" warning.
    math_verify.parser.TIMEOUT_WARNING_SHOWN = True
    math_verify.grader.TIMEOUT_WARNING_SHOWN = True
    return _Library(parse, verify, sympy, is_expr_of_only_symbols)


def _parse_text(text: str) -> list[Any]:
    return _library().parse(text, parsing_timeout=None)


def _parse_box(content: str) -> list[Any]:
    return _parse_text("\\boxed{" + latex_groups(content) + "}")


def _is_equation(parsed: list[Any]) -> bool:
    return bool(parsed) and isinstance(parsed[0], _library().sympy.Equality)


def _non_variable_equation(parsed: list[Any]) -> bool:
    """An equation whose left side is not made of variables only (``7 = 2``, ``x^2 = 4``):
    it states a relation, it does not name a value."""
    library = _library()
    head = parsed[0] if parsed else None
    return isinstance(head, library.sympy.Equality) and not library.is_expr_of_only_symbols(head.lhs)


def _same(gold: list[Any], pred: list[Any]) -> bool:
    # An answer "7 = 2" is not the value 2 (math-verify would compare its right-hand side);
    # "x = 2", "(p,q) = (3,2)" are. A reference equation is math-verify's to read: a left
    # side made of variables ("(p,q)=(3,2)", "\frac{NO}{BO}=\frac{1}{\sqrt6}") names the
    # value on its right; any other ("x^2+y^2=25") is answered only by an equivalent equation.
    if _non_variable_equation(pred) and not _is_equation(gold):
        return False
    return bool(_library().verify(gold, pred, timeout_seconds=None))


def _parse_gold(text: str) -> list[Any]:
    if "\\boxed" in text or "$" in text or "\\(" in text or "\\[" in text:
        return _parse_text(latex_groups(text))
    # A bare reference ("x^2+1", "\\frac{1}{2}", "72"): read it as if boxed, then as-is.
    return _parse_box(text) or _parse_text(text)


def _gold_set(gold: list[Any]) -> list[Any]:
    """The elements of a set reference (k >= 2), else []."""
    head = gold[0] if gold else None
    if isinstance(head, _library().sympy.FiniteSet) and 2 <= len(head) <= MAX_SET_ELEMENTS:
        return list(head)
    return []


def _answers_set(elements: list[Any], answers: list[list[Any]]) -> bool:
    """Each answer equals a different element, and every element is answered."""
    if len(answers) != len(elements):
        return False
    verify = _library().verify
    unmatched = list(elements)
    for answer in answers:
        match = next((e for e in unmatched if bool(verify(e, answer, timeout_seconds=None))), None)
        if match is None or _non_variable_equation(answer):
            return False
        unmatched.remove(match)
    return True


def _distinct_boxes(region: str, limit: int) -> tuple[list[str], str | None]:
    """The boxes' texts, one per whitespace-free spelling (the first as written), or a failure reason."""
    texts: dict[str, str] = {}
    for box in boxed_contents(region):
        key = "".join(box.split())
        if key and key not in texts:
            if len(texts) == limit:  # stop here: the list stays tiny
                return [], "multiple_answers"
            texts[key] = box
    if any(len(box) > MAX_ANSWER_CHARS for box in texts.values()):
        return [], "no_answer"
    if any(joins_numbers(box) for box in texts.values()):
        return [], "multiple_answers"
    return list(texts.values()), None


def _distinct_answers(region: str, limit: int) -> tuple[list[list[Any]], str | None]:
    """Boxes grouped by value (one parsed answer per distinct value), or a failure reason."""
    boxes, reason = _distinct_boxes(region, limit)
    if reason is not None or not boxes:
        return [], reason
    groups: list[list[Any]] = []
    for box in boxes:
        parsed = _parse_box(box)
        if not parsed:
            return [], "no_answer" if len(boxes) == 1 else "multiple_answers"
        if not any(_same(group, parsed) for group in groups):
            groups.append(parsed)
    return groups, None


def _grade_boxes(config: MathConfig, elements: list[Any], groups: list[list[Any]]) -> GradeResult:
    """Several distinct boxed values: right only as the exact elements of a set reference."""
    if elements and len(groups) == len(elements):
        if _answers_set(elements, groups):
            return config.result(1.0, None, True, True)
        return config.result(config.format_score, None, True, True)
    return config.result(0.0, "multiple_answers", False, False)


def _words_agree(gold_text: str, gold: list[Any], region: str, boxed: bool) -> bool:
    """A reference with a value (``5\\text{ cm}``) is math-verify's to judge; one that is only
    words must be answered with the same words (read only then: the common case reads nothing)."""
    if any(not isinstance(part, str) for part in gold):
        return True
    return same_words(gold_text, " ".join(boxed_contents(region)) if boxed else region[-UNBOXED_TAIL_CHARS:])


def _grade_region(config: MathConfig, gold_text: str, region: str) -> GradeResult:
    if len(gold_text) > MAX_ANSWER_CHARS * 10 or looks_like_prose(gold_text) or joins_numbers(gold_text):
        return config.result(0.0, "invalid_reference", False, False)
    gold = _parse_gold(gold_text)
    if not gold:
        return config.result(0.0, "invalid_reference", False, False)
    elements = _gold_set(gold)
    groups, reason = _distinct_answers(region, MAX_DISTINCT_BOXES + len(elements))
    if reason is not None:
        return config.result(0.0, reason, False, False)
    if len(groups) > 1:
        return _grade_boxes(config, elements, groups)
    boxed = bool(groups)
    pred = groups[0] if boxed else _parse_text(region[-UNBOXED_TAIL_CHARS:])
    if not pred:
        return config.result(0.0, "no_answer", False, False)
    if _same(gold, pred) and _words_agree(gold_text, gold, region, boxed):
        return config.result(1.0, None, True, boxed)
    return config.result(config.format_score if boxed else 0.0, None, True, boxed)


class MathGrader:
    """Grades one sample: its final answer against the reference, within the time limit."""

    def __init__(self, config: MathConfig) -> None:
        self.config = config

    def __call__(self, sample: GradeInput) -> GradeResult:
        config = self.config
        gold_text = reference_text(sample.reference, config.reference_key)
        if gold_text is None:
            return config.result(0.0, "invalid_reference", False, False)
        region = final_answer_region(sample.response)
        if not region:
            return config.result(0.0, "no_answer", False, False)
        # The invocation's deadline (isolation passes it to the worker) may come first.
        remaining = remaining_seconds()
        limit = config.seconds if remaining is None else min(config.seconds, remaining)
        if limit <= 0:
            return config.result(0.0, "grader_timeout", False, False)
        try:
            return call_with_deadline(lambda: _grade_region(config, gold_text, region), limit)
        except _Deadline:
            return config.result(0.0, "grader_timeout", False, False)
        except Exception:  # noqa: BLE001 - a sympy bug on odd input must not fail the batch
            return config.result(0.0, "grader_error", False, False)


def build(spec: Mapping[str, Any]) -> Grader:
    config = MathConfig.from_spec(spec)
    _library()  # at build time (cold start), not on the first sample
    # sympy's cost is the input's choice and may hold the GIL: build_grader runs this grader
    # in a killable worker process (reward_kit.isolation) with these outcomes.
    isolation = Isolation(
        time_limit=config.seconds,
        timeout_result=partial(config.result, 0.0, "grader_timeout", False, False),
        error_result=partial(config.result, 0.0, "grader_error", False, False),
        # One parse and verify of each kind (box, bare reference) before the workers fork.
        warmup=GradeInput("\\boxed{\\frac{1}{2}}", "0.5", {}),
    )
    return with_traits(MathGrader(config), GraderTraits(isolation=isolation))
