"""The metrics of one scored batch, as the invocation's record carries them
(``reward_kit.invocation_record`` writes it): the reward distributions, with their 0..1 copies
for a range below 0, the sample and failure counts, the batch time, the entries dropped to fit
the response limit and the judge's counts and latencies; and the record's properties that are
not metrics (``summary_properties``).
"""

from __future__ import annotations

from typing import Any

from reward_kit import names
from reward_kit.invocation_record import Metric
from reward_kit.judge_stats import JudgeStats
from reward_kit.scoring import AGGREGATE, BatchResult

__all__ = ["compact_value", "invocation_metrics", "summary_properties"]

# Metric values only feed CloudWatch statistics: 4 decimals keep the log lines short.
METRIC_DECIMALS = 4


def invocation_metrics(
    result: BatchResult, dimensions: list[str], seconds: float, judge: JudgeStats | None = None,
    *, output_range: tuple[float, float] = (0.0, 1.0),
) -> list[Metric]:
    """The metrics of one scored batch: the reward distributions (``names.distribution_metric_names``),
    the counts (a ``Failure_<reason>`` only for reasons that occurred), the batch time, the
    entries dropped to fit the response limit (only when some were) and, for
    a spec with a judge, the judge's counts and per-call latencies (``reward_kit.judge_stats``)."""
    series = [result.values[AGGREGATE]]
    if len(dimensions) > 1:
        series += [result.values[d] for d in dimensions]
    distributions = list(zip(names.distribution_metric_names(dimensions), series))
    distributions += _normalized_series(distributions, output_range)
    metrics = [Metric(name, [compact_value(v) for v in values]) for name, values in distributions]
    metrics.append(Metric(names.METRIC_SAMPLES, result.sample_count))
    metrics.append(Metric(names.METRIC_FAILED_SAMPLES, result.failed_samples))
    metrics += [Metric(names.failure_metric_name(r), c) for r, c in sorted(result.failures.items())]
    metrics.append(Metric(names.METRIC_BATCH_SECONDS, round(seconds, 4)))
    if result.dropped:  # the response was trimmed to fit 6 MB (response_limit.fit_response)
        metrics.append(Metric(names.METRIC_DROPPED_DIAGNOSTICS, result.dropped["Metric"], "Count"))
        metrics.append(Metric(names.METRIC_DROPPED_REWARD_ENTRIES, result.dropped["Reward"], "Count"))
    if judge is not None:
        metrics += [Metric(name, count, "Count") for name, count in judge.metric_counts().items()]
        latencies = judge.latency_values()
        if latencies:
            metrics.append(Metric(names.METRIC_JUDGE_CALL_SECONDS, [compact_value(v) for v in latencies], "Seconds"))
    return metrics


def summary_properties(result: BatchResult) -> dict[str, Any]:
    """Record properties that are not metrics. The mean is left out for one sample: it would
    repeat the ``Reward`` value."""
    mean = result.mean_aggregate
    if mean is None or result.sample_count < 2:
        return {}
    return {names.SUMMARY_MEAN: compact_value(mean)}


def _normalized_series(
    series: list[tuple[str, list[float]]], output_range: tuple[float, float]
) -> list[tuple[str, list[float]]]:
    """The 0..1 copies of per-sample series whose range goes below 0 (percentiles need values >= 0)."""
    if not names.publishes_normalized(output_range):
        return []
    lo, hi = output_range
    span = hi - lo
    return [
        (names.normalized_metric_name(name), [min(1.0, max(0.0, (v - lo) / span)) for v in values])
        for name, values in series
    ]


def compact_value(value: float) -> float | int:
    # 1 instead of 1.0: binary rewards are the common case and every byte is per sample.
    value = round(value, METRIC_DECIMALS)
    return int(value) if value.is_integer() else value
