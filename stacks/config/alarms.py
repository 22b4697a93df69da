"""Alarm thresholds and windows of an environment: ``alarms`` (the monitoring component reads them).

Every key is optional; the defaults below are the documented starting point. ``enabled: false``
switches every alarm (and the alarm topic) off for the environment; the dashboard stays.
Alarm e-mail goes to ``alarm_email`` (``observability.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import CHECKS

# CloudWatch alarm periods for standard-resolution metrics: 1 minute or a multiple of it.
PERIOD_MINUTES_CHOICES = (1, 5, 10, 15, 30, 60)
MAX_EVALUATION_PERIODS = 96  # a day of 15-minute periods; more is no longer an alarm


@dataclass(frozen=True)
class AlarmsConfig:
    enabled: bool = True
    period_minutes: int = 5  # one period for every alarm
    errors_threshold: int = 0  # Lambda Errors (sum per period) above this
    throttles_threshold: int = 0  # Lambda Throttles (sum per period) above this
    duration_timeout_fraction: float = 0.8  # Duration p99 above this fraction of the function's timeout
    failure_share_percent: float = 20.0  # FailedSamples / Samples, in percent, above this
    judge_failure_share_percent: float = 5.0  # judge_* failures / Samples (functions with a judge)
    failure_evaluation_periods: int = 3  # consecutive periods over a failure share before alarming
    collapse_spread: float = 0.01  # p90 - p10 of the aggregate, as a fraction of the output range
    collapse_evaluation_periods: int = 6  # consecutive periods of collapse (30 minutes by default)
    collapse_min_samples: int = 50  # samples per period below which spread is not judged

    @property
    def collapse_minutes(self) -> int:
        return self.collapse_evaluation_periods * self.period_minutes


KEYS = tuple(AlarmsConfig.__dataclass_fields__)
DEFAULTS = AlarmsConfig()


def parse_alarms(path: str, raw: Any) -> AlarmsConfig:
    """``raw`` is the environment's ``alarms`` value (None when absent)."""
    if raw is None:
        return DEFAULTS
    raw = CHECKS.object(path, raw)
    CHECKS.no_unknown_keys(path, raw, KEYS)

    def get(key: str) -> Any:
        return raw.get(key, getattr(DEFAULTS, key))

    period = get("period_minutes")
    if isinstance(period, bool) or period not in PERIOD_MINUTES_CHOICES:
        raise CHECKS.fail(f"{path}.period_minutes", f"must be one of {list(PERIOD_MINUTES_CHOICES)}", period)
    return AlarmsConfig(
        enabled=CHECKS.boolean(f"{path}.enabled", get("enabled")),
        period_minutes=int(period),
        errors_threshold=CHECKS.integer(f"{path}.errors_threshold", get("errors_threshold"), ge=0),
        throttles_threshold=CHECKS.integer(f"{path}.throttles_threshold", get("throttles_threshold"), ge=0),
        duration_timeout_fraction=CHECKS.number(
            f"{path}.duration_timeout_fraction", get("duration_timeout_fraction"), gt=0, le=1
        ),
        failure_share_percent=CHECKS.number(f"{path}.failure_share_percent", get("failure_share_percent"),
                                            ge=0, lt=100),
        judge_failure_share_percent=CHECKS.number(
            f"{path}.judge_failure_share_percent", get("judge_failure_share_percent"), ge=0, lt=100
        ),
        failure_evaluation_periods=CHECKS.integer(
            f"{path}.failure_evaluation_periods", get("failure_evaluation_periods"), ge=1, le=MAX_EVALUATION_PERIODS
        ),
        collapse_spread=CHECKS.number(f"{path}.collapse_spread", get("collapse_spread"), gt=0, lt=1),
        collapse_evaluation_periods=CHECKS.integer(
            f"{path}.collapse_evaluation_periods", get("collapse_evaluation_periods"), ge=1, le=MAX_EVALUATION_PERIODS
        ),
        collapse_min_samples=CHECKS.integer(f"{path}.collapse_min_samples", get("collapse_min_samples"), ge=1),
    )
