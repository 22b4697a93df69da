"""The reward widgets of the dashboard: distributions, histogram, failure shares (this project's own).

Every metric name comes from ``reward_kit.names`` through ``FunctionMetrics``; each panel sits
under a one-line text widget saying how to read it.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw

from reward_kit import names

from .reward_metrics import JUDGE_ERROR, FailureGroup, FunctionMetrics

PANEL_WIDTH = 12
PANEL_HEIGHT = 6
HELP_HEIGHT = 1
HISTOGRAM_BUCKETS = 10
PERCENTILES = (10, 50, 90)
# The widgets' own default period: one point per 5 minutes is readable over a training day.
DASHBOARD_PERIOD = Duration.minutes(5)


def _fmt(value: float) -> str:
    return f"{value:g}"


def reward_metric(fm: FunctionMetrics, metric_name: str, statistic: str, *, label: str | None = None,
                  period: Duration = DASHBOARD_PERIOD) -> cw.Metric:
    return cw.Metric(
        namespace=names.METRIC_NAMESPACE,
        metric_name=metric_name,
        dimensions_map=fm.dimensions,
        statistic=statistic,
        period=period,
        label=label,
    )


def histogram_buckets(lo: float, hi: float, buckets: int = HISTOGRAM_BUCKETS) -> list[tuple[str, str]]:
    """(label, PR statistic) per bucket. PR(a:b) counts a < value <= b, so the first bucket is
    open below (``PR(:b)``) to count values exactly at ``lo``; values never exceed ``hi``."""
    step = (hi - lo) / buckets
    edges = [round(lo + i * step, 6) for i in range(buckets + 1)]
    result = []
    for i in range(buckets):
        a, b = edges[i], edges[i + 1]
        statistic = cw.Stats.percentile_rank(a, b) if i else cw.Stats.percentile_rank(b)
        result.append((f"{_fmt(a)}-{_fmt(b)}", statistic))
    return result


def _help(text: str, width: int = PANEL_WIDTH) -> cw.TextWidget:
    return cw.TextWidget(markdown=text, width=width, height=HELP_HEIGHT, background=cw.TextWidgetBackground.TRANSPARENT)


def panel(help_line: str, widget: cw.IWidget) -> cw.IWidget:
    """A panel: its one-line reading guide above it."""
    return cast(cw.IWidget, cw.Column(_help(help_line), widget))  # jsii's Column is an IWidget


def section_header(fm: FunctionMetrics) -> cw.TextWidget:
    fn = fm.function
    lo, hi = fm.output_range
    scale = (f" Percentiles and the histogram read the 0..1 copies (`{names.METRIC_NORMALIZED_PREFIX}*`): "
             f"0 = {_fmt(lo)}, 1 = {_fmt(hi)}." if fm.normalized else "")
    return cw.TextWidget(
        markdown=f"## {fn.name}: `{fn.function_name}`\n{fn.kind}, reward range [{_fmt(lo)}, {_fmt(hi)}], "
        f"reserved concurrency {fn.reserved_concurrency}, timeout {fn.timeout_seconds} s.{scale}",
        width=24,
        height=2,
    )


def distribution_panel(fm: FunctionMetrics, title: str, metric_name: str) -> cw.IWidget:
    """p10/p50/p90 and the average of one per-sample series, with the sample count."""
    series = fm.percentile_metric(metric_name)
    lo, hi = fm.percentile_range
    left = [reward_metric(fm, series, cw.Stats.percentile(p), label=f"p{p}") for p in PERCENTILES]
    left.append(reward_metric(fm, series, cw.Stats.AVERAGE, label="average"))
    graph = cw.GraphWidget(
        title=f"{fm.function.name} {title}: p10 / p50 / p90 / average",
        left=left,
        right=[reward_metric(fm, metric_name, cw.Stats.SAMPLE_COUNT, label="samples")],
        left_y_axis=cw.YAxisProps(min=lo, max=hi, show_units=False),
        right_y_axis=cw.YAxisProps(min=0, show_units=False, label="samples"),
        width=PANEL_WIDTH,
        height=PANEL_HEIGHT,
    )
    help_line = ("Learning: the p50 and average creep up. Collapse: p10, p50 and p90 meet on one value "
                 "(reward hacking or a broken extractor).")
    return panel(help_line, graph)


def histogram_panel(fm: FunctionMetrics) -> cw.IWidget:
    """Bar chart of PR(a:b) buckets of the aggregate over the dashboard's time range."""
    series = fm.percentile_metric(names.METRIC_AGGREGATE_REWARD)
    lo, hi = fm.percentile_range
    bars = [reward_metric(fm, series, statistic, label=label) for label, statistic in histogram_buckets(lo, hi)]
    graph = cw.GraphWidget(
        title=f"{fm.function.name} aggregate reward histogram (% of samples per bucket)",
        left=bars,
        view=cw.GraphWidgetView.BAR,
        set_period_to_time_range=True,
        left_y_axis=cw.YAxisProps(min=0, max=100, show_units=False, label="% of samples"),
        width=PANEL_WIDTH,
        height=PANEL_HEIGHT,
    )
    scale = " (0..1 scale)" if fm.normalized else ""
    help_line = (f"Share of samples per score bucket{scale} over the time range. One tall bar, "
                 "or one at the format-only score, is a collapse.")
    return panel(help_line, graph)


def failure_share_expressions(fm: FunctionMetrics, period: Duration = DASHBOARD_PERIOD) -> list[cw.MathExpression]:
    """Percent of samples per failure group, all failures, and the rest ("other")."""
    samples = reward_metric(fm, names.METRIC_SAMPLES, cw.Stats.SUM, period=period)
    failed = reward_metric(fm, names.METRIC_FAILED_SAMPLES, cw.Stats.SUM, period=period)
    expressions = [
        cw.MathExpression(expression="100 * FILL(failed, 0) / samples", label="all failures",
                          using_metrics={"samples": samples, "failed": failed}, period=period)
    ]
    group_sums = []
    for group in fm.failure_groups:
        expression, metrics = group_sum(fm, group, period)
        group_sums.append((expression, metrics))
        expressions.append(cw.MathExpression(
            expression=f"100 * ({expression}) / samples", label=group.label,
            using_metrics={"samples": samples, **metrics}, period=period))
    other = " - ".join(f"({e})" for e, _ in group_sums)
    using: dict[str, cw.IMetric] = {"samples": samples, "failed": failed}
    for _, metrics in group_sums:
        using.update(metrics)
    expressions.append(cw.MathExpression(
        expression=f"100 * (FILL(failed, 0) - {other}) / samples", label="other (grader errors, timeouts, ...)",
        using_metrics=using, period=period))
    return expressions


def group_sum(fm: FunctionMetrics, group: FailureGroup, period: Duration) -> tuple[str, dict[str, cw.IMetric]]:
    """A metric-math sum of a failure group's counters (missing data = 0) and its metrics."""
    metrics: dict[str, cw.IMetric] = {
        f"{group.key}{i}": reward_metric(fm, metric_name, cw.Stats.SUM, period=period)
        for i, metric_name in enumerate(group.metric_names)
    }
    return " + ".join(f"FILL({metric_id}, 0)" for metric_id in metrics), metrics


def failure_panel(fm: FunctionMetrics) -> cw.IWidget:
    graph = cw.GraphWidget(
        title=f"{fm.function.name} failed samples by reason (% of samples)",
        left=failure_share_expressions(fm),
        left_y_axis=cw.YAxisProps(min=0, show_units=False, label="% of samples"),
        width=PANEL_WIDTH,
        height=PANEL_HEIGHT,
    )
    help_line = ("Rising no_answer or multiple_answers: the policy broke the answer format (or games it); "
                 "contract or judge failures: the trainer or the judge is in trouble.")
    if any(group.key == "executor" for group in fm.failure_groups):
        help_line += (" Code executor errors: the executor died, hung or answered nonsense on a sample (a hostile "
                      "program can cause that); see the executor's own errors and throttles.")
    return panel(help_line, graph)


def judge_panels(fm: FunctionMetrics) -> list[cw.IWidget]:
    """Latency, trouble and tokens of the Bedrock judge (functions whose spec has one)."""
    if not fm.uses_judge:
        return []
    name = fm.function.name
    latency = cw.GraphWidget(
        title=f"{name} judge call seconds: p50 / p90 / p99, calls",
        left=[reward_metric(fm, names.METRIC_JUDGE_CALL_SECONDS, cw.Stats.percentile(p), label=f"p{p}")
              for p in (50, 90, 99)],
        right=[reward_metric(fm, names.METRIC_JUDGE_CALLS, cw.Stats.SUM, label="calls")],
        left_y_axis=cw.YAxisProps(min=0, show_units=False, label="seconds"),
        right_y_axis=cw.YAxisProps(min=0, show_units=False),
        width=PANEL_WIDTH,
        height=PANEL_HEIGHT,
    )
    trouble = cw.GraphWidget(
        title=f"{name} judge throttles, retries, abandoned calls, judge_error samples",
        left=[
            reward_metric(fm, names.METRIC_JUDGE_THROTTLES, cw.Stats.SUM, label="throttled attempts"),
            reward_metric(fm, names.METRIC_JUDGE_RETRIES, cw.Stats.SUM, label="retries"),
            reward_metric(fm, names.METRIC_JUDGE_ABANDONED, cw.Stats.SUM, label="abandoned at the deadline"),
            reward_metric(fm, names.failure_metric_name(JUDGE_ERROR), cw.Stats.SUM, label="judge_error samples"),
        ],
        left_y_axis=cw.YAxisProps(min=0, show_units=False),
        width=PANEL_WIDTH,
        height=PANEL_HEIGHT,
    )
    tokens = cw.GraphWidget(
        title=f"{name} judge tokens (uncached input, cache reads, cache writes, output), shared samples",
        left=[reward_metric(fm, names.METRIC_JUDGE_INPUT_TOKENS, cw.Stats.SUM, label="uncached input tokens"),
              reward_metric(fm, names.METRIC_JUDGE_CACHE_READ_TOKENS, cw.Stats.SUM, label="cache read tokens"),
              reward_metric(fm, names.METRIC_JUDGE_CACHE_WRITE_TOKENS, cw.Stats.SUM, label="cache write tokens"),
              reward_metric(fm, names.METRIC_JUDGE_OUTPUT_TOKENS, cw.Stats.SUM, label="output tokens")],
        right=[reward_metric(fm, names.METRIC_JUDGE_DEDUPLICATED, cw.Stats.SUM, label="de-duplicated samples"),
               reward_metric(fm, names.METRIC_JUDGE_CACHE_HITS, cw.Stats.SUM, label="cache hits")],
        left_y_axis=cw.YAxisProps(min=0, show_units=False),
        right_y_axis=cw.YAxisProps(min=0, show_units=False),
        width=PANEL_WIDTH,
        height=PANEL_HEIGHT,
    )
    return [
        panel("Judge latency per call (retries included): p99 near the function timeout turns into "
              "judge_timeout samples.", latency),
        panel("Throttles and retries rising: the Bedrock quota is too small for the rate; abandoned "
              "calls and judge_error samples score the minimum.", trouble),
        panel("Tokens drive the judge's cost and its tokens-per-minute quota. Cache reads are the "
              "prompt-caching discount at work (a group's rubric, prompt and reference paid once); "
              "writes near reads mean groups are not reusing their prefix; de-duplicated samples "
              "shared a call.", tokens),
    ]


def reward_panels(fm: FunctionMetrics) -> list[cw.IWidget]:
    """Every reward panel of one function, in reading order (judge panels last, with a judge)."""
    panels = [distribution_panel(fm, title, metric) for title, metric in fm.score_metrics]
    panels += [histogram_panel(fm), failure_panel(fm)]
    return panels + judge_panels(fm)
