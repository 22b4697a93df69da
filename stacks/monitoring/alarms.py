"""The reward alarms of one function: failure share, judge failure share, reward collapse.

Thresholds and windows come from ``stacks.config.alarms`` (per environment); metric names
from ``reward_kit.names`` through ``FunctionMetrics``.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from constructs import Construct

from reward_kit import names
from stacks.config import AlarmsConfig

from .dashboard import group_sum, reward_metric
from .reward_metrics import FunctionMetrics


def _alarm(scope: Construct, construct_id: str, name: str, description: str,
           metric: cw.IMetric, threshold: float, periods: int,
           comparison: cw.ComparisonOperator = cw.ComparisonOperator.GREATER_THAN_THRESHOLD) -> cw.Alarm:
    return cw.Alarm(
        scope,
        construct_id,
        alarm_name=name,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        evaluation_periods=periods,
        datapoints_to_alarm=periods,
        comparison_operator=comparison,
        treat_missing_data=cw.TreatMissingData.NOT_BREACHING,  # no traffic is not a failure
    )


def failure_share_alarm(scope: Construct, fm: FunctionMetrics, config: AlarmsConfig, prefix: str) -> cw.Alarm:
    period = Duration.minutes(config.period_minutes)
    share = cw.MathExpression(
        expression="100 * FILL(failed, 0) / samples",
        label="failed samples (%)",
        using_metrics={
            "samples": reward_metric(fm, names.METRIC_SAMPLES, cw.Stats.SUM, period=period),
            "failed": reward_metric(fm, names.METRIC_FAILED_SAMPLES, cw.Stats.SUM, period=period),
        },
        period=period,
    )
    return _alarm(
        scope, "FailureShare", f"{prefix}-Failure-Share",
        f"More than {config.failure_share_percent:g}% of {fm.function.name}'s samples failed (any reason) in "
        f"{config.failure_evaluation_periods} consecutive {config.period_minutes}-minute periods: see the "
        "dashboard's failure panel for the reason.",
        share, config.failure_share_percent, config.failure_evaluation_periods,
    )


def judge_failure_share_alarm(scope: Construct, fm: FunctionMetrics, config: AlarmsConfig, prefix: str) -> cw.Alarm | None:
    group = fm.judge_failure_group
    if group is None:
        return None
    period = Duration.minutes(config.period_minutes)
    expression, metrics = group_sum(fm, group, period)
    share = cw.MathExpression(
        expression=f"100 * ({expression}) / samples",
        label="judge failures (%)",
        using_metrics={"samples": reward_metric(fm, names.METRIC_SAMPLES, cw.Stats.SUM, period=period), **metrics},
        period=period,
    )
    return _alarm(
        scope, "JudgeFailureShare", f"{prefix}-Judge-Failure-Share",
        f"More than {config.judge_failure_share_percent:g}% of {fm.function.name}'s samples got a judge failure "
        f"({', '.join(group.reasons)}) in {config.failure_evaluation_periods} consecutive "
        f"{config.period_minutes}-minute periods: Bedrock throttling, errors or unparseable replies.",
        share, config.judge_failure_share_percent, config.failure_evaluation_periods,
    )


def collapse_alarm(scope: Construct, fm: FunctionMetrics, config: AlarmsConfig, prefix: str) -> cw.Alarm:
    """p90 - p10 of the aggregate near zero for a sustained window while samples flow."""
    period = Duration.minutes(config.period_minutes)
    series = fm.percentile_metric(names.METRIC_AGGREGATE_REWARD)
    lo, hi = fm.percentile_range
    span = hi - lo
    spread = cw.MathExpression(
        # Below collapse_min_samples per period the spread is reported as the full span (no alarm).
        expression=f"IF(samples >= {config.collapse_min_samples}, p90 - p10, {span:g})",
        label="aggregate p90 - p10",
        using_metrics={
            "samples": reward_metric(fm, names.METRIC_SAMPLES, cw.Stats.SUM, period=period),
            "p90": reward_metric(fm, series, cw.Stats.percentile(90), period=period),
            "p10": reward_metric(fm, series, cw.Stats.percentile(10), period=period),
        },
        period=period,
    )
    threshold = round(config.collapse_spread * span, 6)
    return _alarm(
        scope, "RewardCollapse", f"{prefix}-Reward-Collapse",
        f"{fm.function.name}'s aggregate reward collapsed: p90 - p10 below {threshold:g} for "
        f"{config.collapse_minutes} minutes with at least {config.collapse_min_samples} samples per "
        f"{config.period_minutes} minutes. Reward hacking (every answer scores the same) or a broken extractor.",
        spread, threshold, config.collapse_evaluation_periods, cw.ComparisonOperator.LESS_THAN_THRESHOLD,
    )
