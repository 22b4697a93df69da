"""Logs, traces and alarms of an environment: ``log_retention_days``, ``tracing``, ``alarm_email``,
``application_log_level``, ``system_log_level``.

Lambda's advanced logging controls: every function logs in Lambda's JSON format (level
filtering needs it) with the environment's application and system log levels. The defaults
favour cost, for production: application ``INFO`` (the lowest level that keeps the
per-invocation metrics record, which Lambda files as INFO) and system ``WARN`` (drops the
START/END/REPORT records of every invocation). A dev environment sets ``DEBUG`` / ``INFO``
for detail.

The monitoring component sends alarms to ``alarm_email``; thresholds live in ``alarms.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from reward_kit.settings import APPLICATION_LOG_LEVELS, APPLICATION_LOG_LEVELS_KEEPING_THE_RECORD

from .errors import CHECKS

KEYS = ("alarm_email", "application_log_level", "log_retention_days", "system_log_level", "tracing")

# CloudWatch Logs' allowed retention values (PutRetentionPolicy), in days: the one list.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
DEFAULT_LOG_RETENTION_DAYS = 30
LOG_FORMAT = "JSON"  # Lambda's log format for every function: level filtering needs it
# Lambda's system log levels: DEBUG and INFO keep the platform's per-invocation records.
SYSTEM_LOG_LEVELS = ("DEBUG", "INFO", "WARN")
DEFAULT_APPLICATION_LOG_LEVEL = "INFO"
DEFAULT_SYSTEM_LOG_LEVEL = "WARN"
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class ObservabilityConfig:
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    tracing: bool = False  # X-Ray active tracing
    alarm_email: str | None = None  # subscribed to the alarm topic (stacks/monitoring)
    application_log_level: str = DEFAULT_APPLICATION_LOG_LEVEL  # Lambda's, for the function's own logs
    system_log_level: str = DEFAULT_SYSTEM_LOG_LEVEL  # Lambda's, for its platform records


def parse_observability(path: str, raw: Mapping[str, Any]) -> ObservabilityConfig:
    retention = raw.get("log_retention_days", DEFAULT_LOG_RETENTION_DAYS)
    if isinstance(retention, bool) or retention not in LOG_RETENTION_DAYS:
        raise CHECKS.fail(f"{path}.log_retention_days", f"must be one of {list(LOG_RETENTION_DAYS)}", retention)
    alarm_email = raw.get("alarm_email")
    if alarm_email is not None:
        alarm_email = CHECKS.pattern(f"{path}.alarm_email", alarm_email, _EMAIL_RE,
                                     "an email address like 'team@example.com'")
    application_level = raw.get("application_log_level", DEFAULT_APPLICATION_LOG_LEVEL)
    if application_level in APPLICATION_LOG_LEVELS and application_level not in APPLICATION_LOG_LEVELS_KEEPING_THE_RECORD:
        raise CHECKS.fail(
            f"{path}.application_log_level",
            f"must be one of {list(APPLICATION_LOG_LEVELS_KEEPING_THE_RECORD)}: a higher level drops the "
            "per-invocation metrics record (Lambda files it as INFO) and with it every reward metric",
            application_level,
        )
    return ObservabilityConfig(
        log_retention_days=int(retention),  # 30.0 from JSON is 30
        tracing=CHECKS.boolean(f"{path}.tracing", raw.get("tracing", False)),
        alarm_email=alarm_email,
        application_log_level=CHECKS.one_of(
            f"{path}.application_log_level", application_level, APPLICATION_LOG_LEVELS_KEEPING_THE_RECORD),
        system_log_level=CHECKS.one_of(
            f"{path}.system_log_level", raw.get("system_log_level", DEFAULT_SYSTEM_LOG_LEVEL), SYSTEM_LOG_LEVELS),
    )
