"""Judge criteria as CloudWatch series: which ``metrics_list`` entry of an output carries each
criterion's score (the judge writes ``criterion_<name>`` in 0..1; ``multi`` prefixes its
component's name) and the metric it becomes (``names.criterion_metric_name``). The runtime
emits them and the dashboard draws them from this one list.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from . import names

ENTRY_PREFIX = "criterion_"  # graders/judge/grader.py: f"criterion_{name}"


def criterion_series(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(metrics_list entry name, metric name) of every criterion a validated spec's judges score."""
    if spec.get("grader") == "judge":
        return [(f"{ENTRY_PREFIX}{c}", names.criterion_metric_name(c)) for c in spec.get("criteria") or {}]
    if spec.get("grader") == "multi":
        return [(f"{component}_{ENTRY_PREFIX}{c}", names.criterion_metric_name(f"{component}_{c}"))
                for component, sub in spec["graders"].items() if sub.get("grader") == "judge"
                for c in sub.get("criteria") or {}]
    return []


def criterion_values(outputs: Iterable[Mapping[str, Any]], series: list[tuple[str, str]]) -> dict[str, list[float]]:
    """metric name -> the scores of the samples the judge scored (failed samples carry none)."""
    wanted = dict(series)
    values: dict[str, list[float]] = {metric: [] for _, metric in series}
    for output in outputs:
        for entry in output.get("metrics_list", ()):
            metric = wanted.get(entry.get("name"))
            if metric is not None:
                values[metric].append(entry["value"])
    return {metric: found for metric, found in values.items() if found}
