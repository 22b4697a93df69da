"""Scorer mechanisms for graders that block on I/O: concurrency, deadline, optional reference.

Uses plain fake graders (no Bedrock): the judge's own tests cover the real thing.
"""

from __future__ import annotations

import threading
import time

import pytest

from reward_kit import deadline
from reward_kit.graders.base import GradeInput, GradeResult, GraderTraits, with_traits
from reward_kit.lambda_runtime import deadline_from_context
from reward_kit.scoring import AGGREGATE, Scorer
from tests.lambdas.helpers import LABEL_SPEC, RecordingGrader, make_sample


class SlowGrader:
    """Scores len(response) / 10, records peak parallelism, sleeps when told."""

    def __init__(self, concurrency: int = 1, sleep: float = 0.0, **traits) -> None:
        self.traits = GraderTraits(concurrency=concurrency, **traits)
        self.sleep = sleep
        self.active = 0
        self.peak = 0
        self.threads: set[str] = set()
        self.remaining: list[float | None] = []
        self._lock = threading.Lock()

    def __call__(self, sample: GradeInput) -> GradeResult:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.threads.add(threading.current_thread().name)
            self.remaining.append(deadline.remaining_seconds())
        try:
            if "boom" in sample.response:
                raise RuntimeError("grader bug")
            time.sleep(self.sleep)
            return GradeResult(score=min(1.0, len(sample.response) / 10))
        finally:
            with self._lock:
                self.active -= 1


def test_concurrent_grader_keeps_order_and_the_per_sample_guard():
    grader = SlowGrader(concurrency=8, sleep=0.01)
    event = [make_sample(str(i), "y" + "x" * (i % 11)) for i in range(60)]
    event[5] = make_sample("5", "boom")
    event[6] = "junk"
    result = Scorer(LABEL_SPEC, grader=grader).score_event(event)
    assert [o["id"] for o in result.outputs] == [str(i) for i in range(6)] + ["missing-id-6"] + [str(i) for i in range(7, 60)]
    expected = [round(min(1, (1 + i % 11) / 10), 6) for i in range(60)]
    expected[5] = expected[6] = 0.0
    assert result.values[AGGREGATE] == expected
    assert result.failures == {"grader_error": 1, "not_an_object": 1}
    assert 1 < grader.peak <= 8
    assert all(name.startswith("reward-grader") for name in grader.threads)


def test_concurrency_one_runs_in_the_calling_thread():
    grader = SlowGrader(concurrency=1)
    Scorer(LABEL_SPEC, grader=grader).score_event([make_sample(str(i)) for i in range(5)])
    assert grader.threads == {threading.current_thread().name}
    assert grader.remaining == [None] * 5  # no deadline given: graders see none


def test_scorer_concurrency_argument_overrides_the_grader():
    grader = SlowGrader(concurrency=8)
    assert Scorer(LABEL_SPEC, grader=grader, concurrency=1).concurrency == 1
    with pytest.raises(ValueError, match="GraderTraits.concurrency"):
        GraderTraits(concurrency="8")  # type: ignore[arg-type]  # junk is a bug at build time


def test_deadline_times_out_unfinished_samples_with_the_grader_reason():
    grader = SlowGrader(concurrency=4, sleep=2.0, timeout_reason="judge_timeout")
    started = time.monotonic()
    result = Scorer({**LABEL_SPEC, "range": [-1, 1]}, grader=grader).score_event(
        [make_sample(str(i)) for i in range(8)], deadline=started + 0.3
    )
    assert time.monotonic() - started < 1.5
    assert [o["id"] for o in result.outputs] == [str(i) for i in range(8)]
    assert result.failures == {"judge_timeout": 8}
    assert result.values[AGGREGATE] == [-1.0] * 8


def test_sequential_deadline_and_default_reason():
    grader = SlowGrader(concurrency=1, sleep=0.2)
    result = Scorer(LABEL_SPEC, grader=grader).score_event(
        [make_sample(str(i)) for i in range(5)], deadline=time.monotonic() + 0.3
    )
    assert result.failures == {"grader_timeout": 3}  # two graded, then the deadline passed
    assert all(r is not None and r < 0.31 for r in grader.remaining)  # graders saw the deadline


def test_malformed_timeout_reason_is_rejected_when_the_grader_is_built():
    with pytest.raises(ValueError, match="GraderTraits.timeout_reason"):
        GraderTraits(timeout_reason="Not Snake")
    assert Scorer(LABEL_SPEC, grader=SlowGrader()).timeout_reason == "grader_timeout"


def test_graders_that_need_no_reference_grade_samples_without_one():
    event = [make_sample("a", "xxxxx", None), make_sample("b", "xx", where="nowhere")]
    result = Scorer(LABEL_SPEC, grader=SlowGrader(requires_reference=False)).score_event(event)
    assert result.values[AGGREGATE] == [0.5, 0.2] and result.failures == {}
    result = Scorer(LABEL_SPEC, grader=SlowGrader()).score_event(event)
    assert result.failures == {"missing_reference": 2}


def test_deadline_from_context_keeps_a_safety_margin():
    class Context:
        def __init__(self, ms):
            self.ms = ms

        def get_remaining_time_in_millis(self):
            return self.ms

    now = 100.0
    assert deadline_from_context(None) is None
    assert deadline_from_context(object()) is None
    assert deadline_from_context(Context(1000), started=now) == now + 0.9
    assert deadline_from_context(Context(900_000), started=now) == now + 898.0  # margin capped at 2 s
    assert deadline_from_context(Context(-5), started=now) == now


def test_only_graders_that_want_the_prompt_get_it(monkeypatch):
    from reward_kit import scoring

    calls = []
    real_parse_event = scoring.parse_event

    def spy(event, max_response_chars, **kwargs):
        calls.append(kwargs.get("with_prompt", False))
        return real_parse_event(event, max_response_chars, **kwargs)

    monkeypatch.setattr(scoring, "parse_event", spy)
    event = [make_sample("a", user="THE QUESTION"), make_sample("b", user=[{"type": "image"}])]
    plain, wanting = RecordingGrader(), RecordingGrader()
    with_traits(wanting, GraderTraits(wants_prompt=True))
    Scorer(LABEL_SPEC, grader=plain).score_event(event)
    Scorer(LABEL_SPEC, grader=wanting).score_event(event)
    assert calls == [False, True]  # the default path never builds prompt text
    assert [c.prompt for c in plain.calls] == ["", ""]
    assert [c.prompt for c in wanting.calls] == ["THE QUESTION", ""]


def test_wants_prompt_comes_from_the_traits():
    assert Scorer(LABEL_SPEC, grader=SlowGrader(wants_prompt=True)).wants_prompt is True
    assert Scorer(LABEL_SPEC, grader=SlowGrader()).wants_prompt is False


def test_concurrent_graders_get_the_prompt_too():
    seen = []

    class PromptGrader(SlowGrader):
        def __call__(self, sample):
            seen.append((sample.response, sample.prompt))
            return super().__call__(sample)

    event = [make_sample(str(i), f"r{i}", user=f"q{i}") for i in range(20)]
    Scorer(LABEL_SPEC, grader=PromptGrader(concurrency=4, wants_prompt=True)).score_event(event)
    assert sorted(seen) == sorted((f"r{i}", f"q{i}") for i in range(20))
