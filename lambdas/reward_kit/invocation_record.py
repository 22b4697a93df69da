"""One EMF log record per invocation: reward distributions, counts and the summary together.

At one sample per invocation (the shipped default) the log bytes per invocation are the
bill, so everything an invocation reports goes into ONE CloudWatch Embedded Metric Format
record, each field once:

* metrics, read by CloudWatch: per-sample reward values (distributions), per-invocation
  counts and timings, and any extra per-invocation metric group (``Metric`` / ``MetricSource``);
* properties, read by Logs Insights: summary fields that are not metrics (``mean``). The
  metric fields are queryable too: ``Samples``, ``Failed``, ``Seconds``, ``Failure_<reason>``.

Layout decisions (bytes matter at ~35 million invocations a day):

* the serialization is Powertools' (``serialize_metric_set``: EMF schema, namespace,
  ``service`` dimension); the only change is that ``"Unit":"None"`` (EMF's default) is
  left out of each metric definition;
* a distribution with one value is written as a number, not a one-element list (the same
  data point in EMF);
* EMF takes at most 100 values per metric and 100 metrics per record. A batch of more than
  100 samples therefore needs more records: record 1 holds the properties, every
  per-invocation metric and the first 100 values of each distribution; records 2.. hold the
  next 100 values each (``ceil(samples / 100)`` records in all). Nothing is repeated except
  the EMF envelope (timestamp, namespace, dimension) that every record must carry: about
  120 bytes per 100 samples. Metrics beyond 100 in one record spill into further records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

__all__ = ["EMF_MAX_METRICS", "EMF_MAX_VALUES", "Metric", "MetricSource", "build_records", "dumps"]

EMF_MAX_VALUES = 100  # values per metric in one record (CloudWatch user guide: Specification: Embedded metric format)
EMF_MAX_METRICS = 100  # metrics per record
ENVELOPE_KEY = "_aws"
DEFAULT_UNIT = "None"  # EMF's default unit: not written


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric of one invocation.

    ``value`` is a number (one data point per invocation, e.g. a count) or a sequence of
    numbers (one data point each, e.g. a reward per sample or a latency per judge call:
    CloudWatch's percentiles are computed over these). ``unit`` is a CloudWatch unit name.
    """

    name: str
    value: float | int | Sequence[float | int]
    unit: str = DEFAULT_UNIT


# A group of extra per-invocation metrics that joins the invocation's record: called once
# per invocation, after scoring, it returns that invocation's metrics (and resets whatever
# it counts). See RewardRuntime.add_metric_source and the graders' ``invocation_metrics``.
MetricSource = Callable[[], Iterable[Metric]]

# serialize_metric_set(metrics=..., metadata=...) of a Powertools Metrics object.
Serializer = Callable[..., Mapping[str, Any]]


def _chunks(metric: Metric) -> list[Any]:
    value = metric.value
    if isinstance(value, (int, float)):
        return [value]
    values = list(value)
    return [
        values[start] if len(values) - start == 1 else values[start : start + EMF_MAX_VALUES]
        for start in range(0, len(values), EMF_MAX_VALUES)
    ]


def build_records(
    serialize: Serializer,
    metrics: Iterable[Metric],
    properties: Mapping[str, Any] | None = None,
    dimensions: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The EMF records of one invocation (see the module docstring for the layout).

    ``dimensions`` (e.g. the function version): each metric is published twice, with
    Powertools' dimensions alone (the roll-up) and with these added (EMF dimension sets).

    An empty distribution is left out; with no metric at all only the properties are kept
    (as a plain record without the EMF envelope, which CloudWatch does not accept empty).
    """
    properties = dict(properties or {})
    # record index -> [(name, unit, value)]
    slots: list[list[tuple[str, str, Any]]] = []
    seen: set[str] = set()
    for metric in metrics:
        if metric.name in seen or metric.name in properties:
            raise ValueError(f"metric {metric.name!r} is reported twice in one invocation")
        seen.add(metric.name)
        for index, chunk in enumerate(_chunks(metric)):
            while len(slots) <= index:
                slots.append([])
            slots[index].append((metric.name, metric.unit, chunk))

    groups: list[list[tuple[str, str, Any]]] = []
    for entries in slots:
        groups += [entries[i : i + EMF_MAX_METRICS] for i in range(0, len(entries), EMF_MAX_METRICS)]
    if not groups:
        return [properties] if properties else []

    records = []
    for index, group in enumerate(groups):
        metric_set = {name: {"Unit": unit, "StorageResolution": 60, "Value": value} for name, unit, value in group}
        record = dict(serialize(metrics=metric_set, metadata=properties if index == 0 else {}))
        directive = record[ENVELOPE_KEY]["CloudWatchMetrics"][0]
        for definition in directive["Metrics"]:
            if definition.get("Unit") == DEFAULT_UNIT:
                del definition["Unit"]
        if dimensions:
            base = directive["Dimensions"][0] if directive["Dimensions"] else []
            directive["Dimensions"] = [base, [*base, *dimensions]]
            record.update(dimensions)
        records.append(record)
    return records


def without_envelope(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's summary alone (metrics disabled): the scalars, no EMF envelope, no lists."""
    return {k: v for k, v in record.items() if k != ENVELOPE_KEY and not isinstance(v, list)}


def dumps(record: Mapping[str, Any]) -> str:
    """One compact JSON line (non-ASCII kept as is: fewer bytes than \\u escapes)."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)
