"""The batch being scored, visible to graders that block on I/O or share work (the judge).

The Scorer creates one ``Batch`` per scored event and runs every grade call inside it (also
in its worker threads): graders read the deadline with ``remaining_seconds()`` and give up
instead of starting work that cannot finish in time, and the judge keeps its per-batch
de-duplication map and its statistics (``Batch.judge``) there. Deadlines are
``time.monotonic()`` values.
"""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from typing import Any, Callable, TypeVar

from reward_kit.judge_stats import JudgeStats

__all__ = [
    "Batch",
    "current_batch",
    "grading_seconds",
    "remaining_seconds",
    "run_in_batch",
    "run_with_deadline",
    "safety_margin_seconds",
]

# Time kept after the scoring deadline to build outputs, flush metrics and return:
# 10% of the time left, at most 2 s (1,000 outputs and their metrics take ~0.1 s).
SAFETY_MARGIN_FRACTION = 0.1
SAFETY_MARGIN_MAX_SECONDS = 2.0

_T = TypeVar("_T")


class Batch:
    """One scored event: its deadline and what graders share while grading it."""

    __slots__ = ("deadline", "judge", "lock", "shared", "size", "concurrency")

    def __init__(self, deadline: float | None = None, size: int = 1, concurrency: int = 1) -> None:
        self.deadline = deadline
        # Samples to grade and how many at once: a grader's fair share of the time left.
        self.size = size
        self.concurrency = concurrency
        self.judge = JudgeStats()
        self.lock = threading.Lock()
        self.shared: dict[Any, Any] = {}  # grader-owned entries (the judge's in-flight map)


_BATCH: ContextVar[Batch | None] = ContextVar("reward_kit_batch", default=None)


def current_batch() -> Batch | None:
    """The batch being graded on this thread, or None outside the Scorer."""
    return _BATCH.get()


def safety_margin_seconds(remaining: float) -> float:
    """Seconds kept back from ``remaining`` for everything after grading."""
    return min(SAFETY_MARGIN_MAX_SECONDS, SAFETY_MARGIN_FRACTION * remaining)


def grading_seconds(function_timeout: float) -> float:
    """The most time grading can get in an invocation of a function with this timeout. The CDK
    app rejects a grader time limit longer than this (one sample could never finish)."""
    return function_timeout - safety_margin_seconds(function_timeout)


def remaining_seconds() -> float | None:
    """Seconds left before the current deadline (may be <= 0), or None when there is none."""
    batch = _BATCH.get()
    if batch is None or batch.deadline is None:
        return None
    return batch.deadline - time.monotonic()


def run_in_batch(batch: Batch, function: Callable[..., _T], *args: Any) -> _T:
    """Call ``function(*args)`` with ``batch`` as the current batch (thread-safe)."""
    token = _BATCH.set(batch)
    try:
        return function(*args)
    finally:
        _BATCH.reset(token)


def run_with_deadline(deadline: float | None, function: Callable[..., _T], *args: Any) -> _T:
    """Call ``function(*args)`` in a batch of its own with ``deadline``."""
    return run_in_batch(Batch(deadline), function, *args)
