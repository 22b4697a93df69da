"""The one log record per invocation, parsed the way CloudWatch and Logs Insights read it.

CloudWatch reads it as EMF (namespace, dimensions, every metric the dashboards use, checked
against the EMF specification's structure and limits); Logs Insights reads its top-level
fields (the summary). Both from real handler runs at 1 sample and at 1,000.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from bench.dataset import build_batch
from bench.naive_handler import lambda_handler as naive_handler
from reward_kit import names
from reward_kit.invocation_record import EMF_MAX_VALUES, Metric, build_records
from tests.lambdas.helpers import fresh_handler, make_sample

SERVICE = "SageMaker-reward-sentiment-prod"
LABEL_SPEC = {"grader": "label", "name": "sentiment", "labels": ["positive", "negative", "neutral"]}
MULTI_SPEC = {
    "grader": "multi",
    "graders": {"correctness": {k: v for k, v in LABEL_SPEC.items() if k != "name"}, "format": {"grader": "regex", "pattern": "\\\\boxed\\{", "target": "response"}},
    "weights": {"correctness": 0.8, "format": 0.2},
}

# The EMF specification's structure (CloudWatch "Embedded metric format specification"):
# the envelope, its directives, and its limits.
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 30},
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                        "Unit": {"type": "string"},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"repeated field in the record: {keys}"
    return dict(pairs)


def parse_emf(line: str) -> tuple[str, dict[str, str], dict[str, list[float]], dict[str, Any]]:
    """(namespace, dimensions, metrics, other top-level fields) of one EMF record, checked
    against the spec: schema, every dimension and metric a root member of the right type,
    at most 100 values per metric."""
    record = json.loads(line, object_pairs_hook=_no_duplicate_keys)
    jsonschema.validate(record, EMF_SCHEMA)
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    dimensions = {}
    for dimension_set in directive["Dimensions"]:
        for key in dimension_set:
            assert isinstance(record[key], str), f"dimension {key} must be a string member"
            dimensions[key] = record[key]
    metrics = {}
    for definition in directive["Metrics"]:
        value = record[definition["Name"]]
        values = value if isinstance(value, list) else [value]
        assert 1 <= len(values) <= EMF_MAX_VALUES
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        metrics[definition["Name"]] = values
    other = {k: v for k, v in record.items() if k != "_aws" and k not in dimensions and k not in metrics}
    return directive["Namespace"], dimensions, metrics, other


@pytest.fixture
def handler_module(monkeypatch):
    # The service name (the metric dimension) is read at import: a prod-length one here.
    import rlvr.handler as module

    monkeypatch.setenv(names.ENV_POWERTOOLS_SERVICE_NAME, SERVICE)
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(LABEL_SPEC))
    module = importlib.reload(module)
    try:
        yield from fresh_handler("rlvr.handler", LABEL_SPEC, monkeypatch)
    finally:
        monkeypatch.undo()
        module.runtime.metrics.clear_metrics()
        importlib.reload(module)


def run(module, event, capsys) -> tuple[list[dict], list[str]]:
    outputs = module.handler(event, None)
    lines = capsys.readouterr().out.splitlines()
    return outputs, lines


def mixed_event(n: int) -> list[Any]:
    event: list[Any] = []
    for i in range(n):
        response = ["\\boxed{positive}", "\\boxed{negative}", "", "positive negative"][i % 4]
        event.append(make_sample(f"id-{i}", response))
    if n > 5:
        event[5] = "junk"
    return event


@pytest.mark.parametrize("spec", [LABEL_SPEC, MULTI_SPEC], ids=["one-dimension", "multi"])
@pytest.mark.parametrize("n", [1, 1000])
def test_the_record_is_valid_emf_and_a_queryable_summary(handler_module, capsys, monkeypatch, spec, n):
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(spec))
    outputs, lines = run(handler_module, mixed_event(n), capsys)
    dimensions = handler_module.get_scorer().dimensions
    assert len(lines) == -(-n // EMF_MAX_VALUES)  # 1 record up to 100 samples, then 1 per 100
    parsed = [parse_emf(line) for line in lines]

    # CloudWatch: namespace, the service dimension, every metric the dashboards use.
    values: dict[str, list[float]] = {}
    for namespace, dims, metrics, _ in parsed:
        assert namespace == names.METRIC_NAMESPACE
        assert dims == {names.METRIC_DIMENSION_SERVICE: SERVICE}
        for name, vals in metrics.items():
            values.setdefault(name, []).extend(vals)
    aggregate = [o["aggregate_reward_score"] for o in outputs]
    assert values[names.METRIC_AGGREGATE_REWARD] == aggregate
    for dimension in dimensions if len(dimensions) > 1 else []:
        expected = [next(m["value"] for m in o["metrics_list"] if m["name"] == dimension) for o in outputs]
        assert values[names.reward_metric_name(dimension)] == expected
    distributions = set(names.distribution_metric_names(dimensions))
    failures = {}
    for o in outputs:
        for m in o["metrics_list"]:
            if m["name"].startswith("failure_"):
                reason = m["name"][len("failure_"):]
                failures[reason] = failures.get(reason, 0) + 1
    expected_counts = {
        names.METRIC_SAMPLES: [n],
        names.METRIC_FAILED_SAMPLES: [sum(failures.values())],
        **{names.failure_metric_name(r): [c] for r, c in failures.items()},
    }
    assert set(values) == distributions | set(expected_counts) | {names.METRIC_BATCH_SECONDS}
    assert {k: values[k] for k in expected_counts} == expected_counts

    # Logs Insights: the summary fields are top-level members of the first record only.
    first = json.loads(lines[0])
    assert first[names.METRIC_SAMPLES] == n
    assert first[names.METRIC_FAILED_SAMPLES] == sum(failures.values())
    assert first[names.METRIC_BATCH_SECONDS] >= 0
    assert {k[len(names.METRIC_FAILURE_PREFIX):]: v for k, v in first.items()
            if k.startswith(names.METRIC_FAILURE_PREFIX)} == failures
    if n == 1:
        assert parsed[0][3] == {}  # nothing but metrics: the mean would repeat Reward
    else:
        assert parsed[0][3] == {names.SUMMARY_MEAN: pytest.approx(sum(aggregate) / n, abs=1e-4)}
    for _, _, metrics, other in parsed[1:]:
        assert other == {} and set(metrics) <= distributions


def test_bytes_at_one_sample_are_at_most_a_fifth_of_the_naive_handler(handler_module, capsys):
    samples, _ = build_batch(50)
    ours = naive = 0
    for sample in samples:
        handler_module.handler([json.loads(json.dumps(sample))], None)
        ours += len(capsys.readouterr().out.encode())
        naive_handler([json.loads(json.dumps(sample))], None)
        naive += len(capsys.readouterr().out.encode())
    assert ours * 5 <= naive, (ours / 50, naive / 50)


def test_bytes_at_1000_samples_are_no_worse_than_before(handler_module, capsys):
    samples, _ = build_batch(1000)
    handler_module.handler(samples, None)
    size = len(capsys.readouterr().out.encode())
    # Before one record per invocation: 8,965 bytes for this batch (10 reward blobs with the
    # dimension written twice, one counts blob and one summary line).
    assert size <= 8965, size


def test_extra_metric_groups_join_the_record(handler_module, capsys):
    calls = []

    def judge_metrics():
        calls.append(1)
        return [Metric("JudgeCalls", 3, "Count"), Metric("JudgeLatency", [0.5] * 250, "Seconds")]

    handler_module.runtime.add_metric_source(judge_metrics)
    try:
        handler_module.runtime.metrics.add_metric(name="DroppedDiagnostics", unit="Count", value=2)
        _, lines = run(handler_module, [make_sample("a")], capsys)
    finally:
        handler_module.runtime.metric_sources.clear()
    assert calls == [1]
    parsed = [parse_emf(line) for line in lines]
    assert len(parsed) == 3  # 250 latencies need three records of at most 100
    first = parsed[0][2]
    assert first["JudgeCalls"] == [3] and first["DroppedDiagnostics"] == [2]
    assert first[names.METRIC_AGGREGATE_REWARD] == [1]
    assert sum(len(p[2]["JudgeLatency"]) for p in parsed) == 250
    units = {d["Name"]: d.get("Unit") for d in json.loads(lines[0])["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert units["JudgeCalls"] == "Count" and units[names.METRIC_SAMPLES] is None  # None: EMF's default
    # Nothing carries over into the next invocation.
    _, lines = run(handler_module, [make_sample("b")], capsys)
    assert "DroppedDiagnostics" not in lines[0] and "JudgeCalls" not in lines[0]


def test_a_grader_can_offer_its_own_metric_group(handler_module, capsys, monkeypatch):
    from reward_kit.graders.base import GraderTraits, traits_of, with_traits

    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(MULTI_SPEC))
    grader = handler_module.get_scorer().grader
    counter = iter(range(1, 100))
    with_traits(grader, replace(traits_of(grader), metrics=lambda: [Metric("JudgeCalls", next(counter))]))
    handler_module.runtime.scorers.clear()  # rebuilt with the grader's new traits
    monkeypatch.setattr("reward_kit.graders.build_grader", lambda spec: grader)
    _, lines = run(handler_module, [make_sample("a")], capsys)
    assert parse_emf(lines[0])[2]["JudgeCalls"] == [1]
    _, lines = run(handler_module, [make_sample("b")], capsys)
    assert parse_emf(lines[0])[2]["JudgeCalls"] == [2]  # asked once per invocation
    assert GraderTraits().metrics is None


def test_a_broken_metric_group_costs_its_metrics_not_the_rewards(handler_module, capsys):
    def broken():
        raise RuntimeError("bug")

    handler_module.runtime.add_metric_source(broken)
    try:
        outputs, lines = run(handler_module, [make_sample("a")], capsys)
    finally:
        handler_module.runtime.metric_sources.clear()
    assert outputs[0]["aggregate_reward_score"] == 1.0
    records = [json.loads(line) for line in lines]
    assert [r.get("level") for r in records] == ["ERROR", None]
    assert parse_emf(lines[1])[2][names.METRIC_SAMPLES] == [1]


def test_a_group_cannot_overwrite_the_batchs_own_fields(handler_module, capsys):
    handler_module.runtime.add_metric_source(lambda: [Metric(names.METRIC_SAMPLES, 99), Metric("JudgeCalls", 1)])
    try:
        _, lines = run(handler_module, [make_sample("a")], capsys)
    finally:
        handler_module.runtime.metric_sources.clear()
    warning, record = (json.loads(line) for line in lines)
    assert warning["level"] == "WARNING" and warning["metric"] == names.METRIC_SAMPLES
    assert record[names.METRIC_SAMPLES] == 1 and record["JudgeCalls"] == 1


def test_multi_combines_its_components_metric_groups(monkeypatch):
    import reward_kit.graders as graders
    from reward_kit.graders import multi
    from reward_kit.graders.base import traits_of, with_traits

    real_build = graders.build_grader

    def build(spec):
        grader = real_build(spec)
        if spec["grader"] == "regex":
            return with_traits(lambda sample: grader(sample),
                               replace(traits_of(grader), metrics=lambda: [Metric("RegexCalls", 2)]))
        return grader

    monkeypatch.setattr(graders, "build_grader", build)
    metrics = traits_of(multi.build(MULTI_SPEC)).metrics
    assert metrics is not None and metrics() == [Metric("RegexCalls", 2)]
    assert traits_of(multi.build({**MULTI_SPEC, "graders": {"a": {"grader": "label", "labels": ["x"]}}})).metrics is None


# --- the packing, without a handler ----------------------------------------------------------


class FakeSerializer:
    def __call__(self, metrics, metadata):
        return {
            "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{
                "Namespace": "N", "Dimensions": [["service"]],
                "Metrics": [{"Name": k, "Unit": v["Unit"]} for k, v in metrics.items()]}]},
            "service": "s", **metadata, **{k: v["Value"] for k, v in metrics.items()},
        }


def test_packing_limits_and_layout():
    metrics = [Metric("R", list(range(201))), Metric("Samples", 201)]
    metrics += [Metric(f"M{i}", i) for i in range(120)]
    records = build_records(FakeSerializer(), metrics, {"mean": 0.5})
    for record in records:
        parse_emf(json.dumps(record))
    # record 1: 100 R values + 121 scalars = 122 metrics -> spills into a second record
    assert [len(r["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for r in records] == [100, 22, 1, 1]
    assert records[0]["mean"] == 0.5 and all("mean" not in r for r in records[1:])
    assert records[3]["R"] == 200  # a lone last value is written as a number


def test_packing_rejects_a_repeated_metric_and_drops_empty_distributions():
    with pytest.raises(ValueError, match="reported twice"):
        build_records(FakeSerializer(), [Metric("A", 1), Metric("A", 2)])
    with pytest.raises(ValueError, match="reported twice"):
        build_records(FakeSerializer(), [Metric("mean", 1)], {"mean": 2})
    assert build_records(FakeSerializer(), [Metric("A", [])]) == []
    assert build_records(FakeSerializer(), [], {"mean": 1}) == [{"mean": 1}]
