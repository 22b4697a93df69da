"""The current invocation's deadline, visible to graders that block on I/O (the judge).

The Scorer sets it around every grade call (also inside its worker threads) when the caller
passed a deadline; graders read it with ``remaining_seconds()`` and give up instead of
starting work that cannot finish in time. Deadlines are ``time.monotonic()`` values.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any, Callable, TypeVar

__all__ = ["remaining_seconds", "run_with_deadline"]

_T = TypeVar("_T")
_DEADLINE: ContextVar[float | None] = ContextVar("reward_kit_deadline", default=None)


def remaining_seconds() -> float | None:
    """Seconds left before the current deadline (may be <= 0), or None when there is none."""
    deadline = _DEADLINE.get()
    return None if deadline is None else deadline - time.monotonic()


def run_with_deadline(deadline: float | None, function: Callable[..., _T], *args: Any) -> _T:
    """Call ``function(*args)`` with ``deadline`` as the current deadline (thread-safe)."""
    token = _DEADLINE.set(deadline)
    try:
        return function(*args)
    finally:
        _DEADLINE.reset(token)
