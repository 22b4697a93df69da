"""Dashboard panels by function version, and one per judge criterion.

Every metric is published twice (``reward_kit.invocation_record``): with ``service`` only
(the roll-up the other panels and the alarms read) and with ``service`` and ``version``
(Lambda's ``AWS_LAMBDA_FUNCTION_VERSION``). A new version, a rollback and two jobs on
different versions then stay apart:

* the live version's aggregate (``version`` = the version the ``live`` alias and the stack
  outputs name: this deploy's, or ``live_version``) as p10 / p50 / p90 / average;
* the p50 of every version seen in the time range, one line each (a ``SEARCH`` expression:
  version numbers are not known at synth), so the live version sits next to the previous one;
* with a judge that scores criteria, each criterion's p10 / p50 / p90 (``Criterion_<name>``).
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cw

from reward_kit import names
from reward_kit.criteria import criterion_series

from .dashboard import DASHBOARD_PERIOD, PANEL_HEIGHT, PANEL_WIDTH, PERCENTILES, panel
from .reward_metrics import FunctionMetrics


def version_metric(fm: FunctionMetrics, metric_name: str, statistic: str, version: str, label: str) -> cw.Metric:
    return cw.Metric(
        namespace=names.METRIC_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={**fm.dimensions, names.METRIC_DIMENSION_VERSION: version},
        statistic=statistic,
        period=DASHBOARD_PERIOD,
        label=label,
    )


def search_by_version(fm: FunctionMetrics, metric_name: str, statistic: str) -> str:
    """Every version's series of one metric of this function (CloudWatch search expression)."""
    schema = f"{{{names.METRIC_NAMESPACE},{names.METRIC_DIMENSION_SERVICE},{names.METRIC_DIMENSION_VERSION}}}"
    return (f"SEARCH('{schema} MetricName=\"{metric_name}\" {names.METRIC_DIMENSION_SERVICE}=\"{fm.service}\"', "
            f"'{statistic}', {int(DASHBOARD_PERIOD.to_seconds())})")


def version_panels(fm: FunctionMetrics, live_version: str) -> list[cw.IWidget]:
    """The live version's aggregate, and every version's p50 side by side."""
    series = fm.percentile_metric(names.METRIC_AGGREGATE_REWARD)
    lo, hi = fm.percentile_range
    name = fm.function.name
    live = cw.GraphWidget(
        title=f"{name} live version: aggregate p10 / p50 / p90 / average",
        left=[version_metric(fm, series, cw.Stats.percentile(p), live_version, f"p{p}") for p in PERCENTILES]
        + [version_metric(fm, series, cw.Stats.AVERAGE, live_version, "average")],
        right=[version_metric(fm, names.METRIC_AGGREGATE_REWARD, cw.Stats.SAMPLE_COUNT, live_version, "samples")],
        left_y_axis=cw.YAxisProps(min=lo, max=hi, show_units=False),
        right_y_axis=cw.YAxisProps(min=0, show_units=False, label="samples"),
        width=PANEL_WIDTH, height=PANEL_HEIGHT,
    )
    by_version = cw.GraphWidget(
        title=f"{name} aggregate p50 by version",
        left=[cw.MathExpression(expression=search_by_version(fm, series, "p50"), label="version",
                                period=DASHBOARD_PERIOD)],
        left_y_axis=cw.YAxisProps(min=lo, max=hi, show_units=False),
        width=PANEL_WIDTH, height=PANEL_HEIGHT,
    )
    return [
        panel("Only the version the live alias and the stack outputs name (after a rollback: the pinned one), "
              "so a new version is not mixed with the one it replaced.", live),
        panel("One line per version in the time range: the live version next to the previous one. A rollout "
              "or a rollback shows as one line ending and another starting.", by_version),
    ]


def criteria_panels(fm: FunctionMetrics) -> list[cw.IWidget]:
    """p10 / p50 / p90 of each judge criterion (0..1), with the number of judged samples."""
    panels = []
    for _, metric_name in criterion_series(fm.function.reward_spec):
        criterion = metric_name[len(names.METRIC_CRITERION_PREFIX):]
        graph = cw.GraphWidget(
            title=f"{fm.function.name} judge criterion {criterion}: p10 / p50 / p90",
            left=[cw.Metric(namespace=names.METRIC_NAMESPACE, metric_name=metric_name, dimensions_map=fm.dimensions,
                            statistic=cw.Stats.percentile(p), period=DASHBOARD_PERIOD, label=f"p{p}")
                  for p in PERCENTILES],
            right=[cw.Metric(namespace=names.METRIC_NAMESPACE, metric_name=metric_name, dimensions_map=fm.dimensions,
                             statistic=cw.Stats.SAMPLE_COUNT, period=DASHBOARD_PERIOD, label="judged samples")],
            left_y_axis=cw.YAxisProps(min=0, max=1, show_units=False),
            right_y_axis=cw.YAxisProps(min=0, show_units=False),
            width=PANEL_WIDTH, height=PANEL_HEIGHT,
        )
        panels.append(panel(f"The judge's {criterion} score per sample (0..1): one criterion falling while the "
                            "aggregate rises is a policy trading it away.", graph))
    return panels
