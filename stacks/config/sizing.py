"""Capacity settings of an environment and the account-wide concurrency pools.

``account_concurrency_limit``, ``headroom`` and ``invocation_overhead_seconds`` feed the
capacity model (``stacks/capacity/``); the pools check that every environment deployed to
one account and region fits that account's Lambda concurrency quota.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from stacks import capacity

from .errors import CHECKS

KEYS = ("account_concurrency_limit", "headroom", "invocation_overhead_seconds")
MAX_HEADROOM = 10.0
MAX_INVOCATION_OVERHEAD_SECONDS = 60.0


@dataclass(frozen=True)
class SizingConfig:
    account_concurrency_limit: int = capacity.DEFAULT_ACCOUNT_CONCURRENCY_LIMIT
    headroom: float = capacity.DEFAULT_HEADROOM
    invocation_overhead_seconds: float = capacity.DEFAULT_INVOCATION_OVERHEAD_SECONDS


def parse_sizing(path: str, raw: Mapping[str, Any]) -> SizingConfig:
    return SizingConfig(
        account_concurrency_limit=CHECKS.integer(
            f"{path}.account_concurrency_limit",
            raw.get("account_concurrency_limit", capacity.DEFAULT_ACCOUNT_CONCURRENCY_LIMIT),
            ge=capacity.MIN_UNRESERVED_CONCURRENCY + 1,
        ),
        headroom=CHECKS.number(f"{path}.headroom", raw.get("headroom", capacity.DEFAULT_HEADROOM),
                               ge=1, le=MAX_HEADROOM),
        invocation_overhead_seconds=CHECKS.number(
            f"{path}.invocation_overhead_seconds",
            raw.get("invocation_overhead_seconds", capacity.DEFAULT_INVOCATION_OVERHEAD_SECONDS),
            ge=0,
            le=MAX_INVOCATION_OVERHEAD_SECONDS,
        ),
    )


def check_reservable(path: str, limit: int, reserved: Mapping[str, int], *, context: str = "",
                     advice: str = "") -> None:
    """Fail at ``path`` when the named reserved concurrencies do not fit an account ``limit``."""
    try:
        capacity.check_account_fits(reserved.values(), limit)
    except capacity.CapacityError as exc:
        listed = ", ".join(f"{name}={value}" for name, value in reserved.items())
        raise CHECKS.fail(path, f"{context}{exc} ({listed}){advice}") from None
