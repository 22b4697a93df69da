"""``math`` grader: symbolic equivalence through math-verify, conflicting boxes, time limit."""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

import pytest

from reward_kit.graders import build_grader
from reward_kit.graders.base import GradeInput, GradeResult
from reward_kit.graders.math_equiv import _Deadline, call_with_deadline
from reward_kit.spec import validate_spec

MATH = {"grader": "math"}


def grade(spec: dict[str, Any], response: Any, reference: Any) -> GradeResult:
    return build_grader(validate_spec(spec))(GradeInput(response, reference, {}))


@pytest.fixture(scope="module")
def math_grader():
    return build_grader(validate_spec(MATH))


def run(grader, response: Any, reference: Any) -> GradeResult:
    return grader(GradeInput(response, reference, {}))


@pytest.mark.parametrize(
    ("response", "reference"),
    [
        ("\\boxed{\\frac{1}{2}}", "0.5"),
        ("\\boxed{0.5}", "\\frac{1}{2}"),
        ("\\boxed{1/2}", "$\\frac{1}{2}$"),
        ("\\boxed{(x+1)^2}", "x^2+2x+1"),
        ("\\boxed{x^2 + 2x + 1}", "(x+1)^2"),
        ("\\boxed{\\sqrt{4}}", 2),
        ("\\boxed{2\\pi}", "2\\pi"),
        ("\\boxed{72}", {"answer": "72"}),
        ("\\boxed{3}", {"solution": "Add them: $1+2=\\boxed{3}$"}),
        ("<think>\\boxed{5}</think><solution>\\boxed{\\frac{6}{2}}</solution>", "3"),
        ("\\boxed{\\frac{1}{2}} which is also \\boxed{0.5}", "1/2"),  # equivalent boxes agree
        ("The answer is $\\frac{1}{2}$.", "0.5"),  # unboxed fallback
    ],
)
def test_equivalent_answers_get_full_credit(math_grader, response: str, reference: Any) -> None:
    result = run(math_grader, response, reference)
    assert result.score == 1.0, result
    assert result.reason is None


def test_wrong_boxed_answer_gets_format_score_unboxed_gets_nothing() -> None:
    grader = build_grader(validate_spec({"grader": "math", "format_score": 0.1}))
    assert run(grader, "\\boxed{3}", "4").score == pytest.approx(0.1)
    assert run(grader, "\\boxed{3}", "4").metrics["format_ok"] == 1.0
    assert run(grader, "The answer is $3$.", "4").score == 0.0


@pytest.mark.parametrize(
    "response",
    [
        "\\boxed{1} \\boxed{2}",
        "\\boxed{4} or maybe \\boxed{\\text{see above}}",
        "\\boxed{1}\\boxed{2}\\boxed{3}\\boxed{4}\\boxed{5}\\boxed{6}",
    ],
)
def test_conflicting_boxes_are_multiple_answers(math_grader, response: str) -> None:
    result = run(math_grader, response, "4")
    assert result.score == 0.0
    assert result.reason == "multiple_answers"


@pytest.mark.parametrize(
    "response", ["", "   ", "I do not know.", "\\boxed{}", "<think>\\boxed{4}", "\\boxed{" + "1+" * 600 + "1}"]
)
def test_no_parseable_answer_is_no_answer(math_grader, response: str) -> None:
    result = run(math_grader, response, "4")
    assert result.score == 0.0
    assert result.reason == "no_answer"


@pytest.mark.parametrize("reference", [None, "", "   ", True, [], ["4", None], {"other": "4"}])
def test_unusable_reference_is_invalid_reference(math_grader, reference: Any) -> None:
    result = run(math_grader, "\\boxed{4}", reference)
    assert result.score == 0.0
    assert result.reason == "invalid_reference"


def test_math_verify_is_not_imported_with_reward_kit() -> None:
    # Module import must stay light; only build() pulls math-verify in.
    import reward_kit.graders.math_equiv as module

    assert "math_verify" not in vars(module)
    assert "sympy" not in vars(module)


def _slow_verify(*args: Any, **kwargs: Any) -> bool:
    try:
        time.sleep(5)
    except Exception:  # a library that swallows exceptions must not swallow the deadline
        pass
    return True


def test_timeout_in_main_thread_is_grader_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import math_verify

    monkeypatch.setattr(math_verify, "verify", _slow_verify)
    grader = build_grader(validate_spec({"grader": "math", "timeout_seconds": 0.2}))
    before = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    result = run(grader, "\\boxed{4}", "4")
    assert time.monotonic() - started < 3
    assert result.reason == "grader_timeout"
    assert result.score == 0.0
    assert signal.getsignal(signal.SIGALRM) is before  # handler restored
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0  # timer disarmed


def test_timeout_outside_the_main_thread_is_grader_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import math_verify

    monkeypatch.setattr(math_verify, "verify", _slow_verify)
    grader = build_grader(validate_spec({"grader": "math", "timeout_seconds": 0.2}))
    results: list[GradeResult] = []
    worker = threading.Thread(target=lambda: results.append(run(grader, "\\boxed{4}", "4")))
    worker.start()
    worker.join(4)
    assert results and results[0].reason == "grader_timeout"


def test_grading_works_outside_the_main_thread(math_grader) -> None:
    results: list[GradeResult] = []
    worker = threading.Thread(target=lambda: results.append(run(math_grader, "\\boxed{0.5}", "1/2")))
    worker.start()
    worker.join(30)
    assert results and results[0].score == 1.0


def test_call_with_deadline_returns_value_and_propagates_errors() -> None:
    assert call_with_deadline(lambda: 7, 1.0) == 7
    with pytest.raises(ZeroDivisionError):
        call_with_deadline(lambda: 1 / 0, 1.0)
    with pytest.raises(_Deadline):
        call_with_deadline(lambda: time.sleep(2), 0.05)


@pytest.mark.skipif(sys.platform == "win32", reason="setitimer is POSIX")
def test_call_with_deadline_gives_back_a_pending_outer_timer() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 5.0)
        call_with_deadline(lambda: None, 1.0)
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 3.0 < remaining <= 5.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not fired


def test_1mb_of_distinct_boxes_is_multiple_answers_not_a_timeout(math_grader) -> None:
    # Counting distinct boxes stops at the first one too many: linear, so the answer is
    # multiple_answers in well under the 5 s limit (a quadratic count ran into grader_timeout).
    response = "".join(f"\\boxed{{{i}}}" for i in range(90_000))
    assert len(response) > 1_000_000
    result = run(math_grader, response, "4")
    assert result.reason == "multiple_answers"
    assert result.score == 0.0


def test_1mb_response_completes(math_grader) -> None:
    response = "x + " * 250_000 + "\\boxed{4}"
    assert run(math_grader, response, "4").score == 1.0
    assert run(math_grader, "$" * 1_000_000, "4").reason == "no_answer"
