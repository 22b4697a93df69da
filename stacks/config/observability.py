"""Logs, traces and alarms of an environment: ``log_retention_days``, ``tracing``, ``alarm_email``.

The monitoring component (dashboards, alarms) reads its settings from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import CHECKS

KEYS = ("alarm_email", "log_retention_days", "tracing")

# CloudWatch Logs' allowed retention values (PutRetentionPolicy), in days: the one list.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
DEFAULT_LOG_RETENTION_DAYS = 30
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class ObservabilityConfig:
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    tracing: bool = False  # X-Ray active tracing
    alarm_email: str | None = None  # reserved for alarms


def parse_observability(path: str, raw: Mapping[str, Any]) -> ObservabilityConfig:
    retention = raw.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
    if isinstance(retention, bool) or retention not in LOG_RETENTION_DAYS:
        raise CHECKS.fail(f"{path}.log_retention_days", f"must be one of {list(LOG_RETENTION_DAYS)}", retention)
    alarm_email = raw.get("alarm_email")
    if alarm_email is not None:
        alarm_email = CHECKS.pattern(f"{path}.alarm_email", alarm_email, _EMAIL_RE,
                                     "an email address like 'team@example.com'")
    return ObservabilityConfig(
        log_retention_days=int(retention),  # 30.0 from JSON is 30
        tracing=CHECKS.boolean(f"{path}.tracing", raw.get("tracing", False)),
        alarm_email=alarm_email,
    )
