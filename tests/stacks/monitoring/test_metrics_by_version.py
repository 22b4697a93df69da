"""Issue 22 (6): metrics by function version, and the judge's criteria on the dashboard.

Every EMF record publishes each metric under [service] (the roll-up) and [service, version]
(Lambda's AWS_LAMBDA_FUNCTION_VERSION); the dashboard shows the live version's aggregate,
every version's p50 side by side, and one distribution panel per judge criterion, which the
real RLAIF handler emits (``Criterion_<name>``) when its judge scores criteria.

Its synthesized half is tests/synth/monitoring/test_metrics_by_version.py.
"""

from __future__ import annotations

import copy
import importlib
import json
from typing import Any

import pytest

from reward_kit import names
from reward_kit.invocation_record import Metric, build_records
from tests.lambdas.fake_bedrock import _bedrock_server, bedrock  # noqa: F401 - fixtures
from tests.stacks.config.test_config import base
from tests.synth.monitoring.test_monitoring_metrics import Context, emitted_metrics

CRITERIA_SPEC = {"grader": "judge", "rubric": "Is the answer right and kind?",
                 "criteria": {"accuracy": {"description": "facts are right", "weight": 3}, "tone": "polite"}}


def criteria_env() -> dict[str, Any]:
    raw = base()["dev"] | {"account": "123456789012", "region": "us-east-1"}
    raw["reward_functions"]["polite"] = {
        "reward_spec": CRITERIA_SPEC, "judge_model_id": "amazon.nova-pro-v1:0",
        "target_evaluations_per_second": 5, "expected_seconds_per_sample": 1.0}
    return raw


def test_records_carry_the_roll_up_and_the_version_dimension_set() -> None:
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    provider = AmazonCloudWatchEMFProvider(namespace=names.METRIC_NAMESPACE, service="fn")
    (record,) = build_records(provider.serialize_metric_set, [Metric("Reward", [1, 0])], {}, {"version": "3"})
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Dimensions"] == [["service"], ["service", "version"]]
    assert record["service"] == "fn" and record["version"] == "3" and record["Reward"] == [1, 0]
    (plain,) = build_records(provider.serialize_metric_set, [Metric("Reward", [1, 0])], {})
    assert plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]] and "version" not in plain


def test_the_rlaif_handler_emits_each_criterion_by_version(monkeypatch: pytest.MonkeyPatch, capsys: Any,
                                                           bedrock: Any) -> None:  # noqa: F811 - fixture
    from stacks.config import parse_environments

    fn = parse_environments({"dev": criteria_env()})["dev"].function("polite")
    for key, value in fn.environment_variables().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setenv(names.ENV_LAMBDA_FUNCTION_VERSION, "5")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.url)
    bedrock.responder = lambda index, body: '{"scores": {"accuracy": 10, "tone": 5}, "reason": "ok"}'
    module = importlib.reload(importlib.import_module("rlaif.handler"))
    module.runtime.metrics.clear_metrics()
    capsys.readouterr()
    samples = [{"id": str(i), "messages": [{"role": "user", "content": f"q{i}"},
                                           {"role": "assistant", "content": f"answer {i}"}]} for i in range(3)]
    module.handler(samples, Context(remaining_ms=600_000))
    out = capsys.readouterr().out
    emitted = emitted_metrics(out)
    service = ("service", fn.function_name)
    for dims in (frozenset({service}), frozenset({service, ("version", "5")})):
        assert (names.METRIC_NAMESPACE, "Criterion_accuracy", dims) in emitted
        assert (names.METRIC_NAMESPACE, "Criterion_tone", dims) in emitted
    (record,) = [json.loads(line) for line in out.splitlines() if '"_aws"' in line]
    assert record["Criterion_accuracy"] == [1, 1, 1] and record["Criterion_tone"] == [0.5, 0.5, 0.5]
    monkeypatch.undo()  # the function's environment goes before the reload: later tests get a clean module
    importlib.reload(module)
    module.runtime.metrics.clear_metrics()


def test_a_multi_specs_judge_criteria_are_prefixed_by_their_component() -> None:
    from reward_kit.criteria import criterion_series

    spec = {"grader": "multi", "graders": {"answer": {"grader": "numeric"}, "style": copy.deepcopy(CRITERIA_SPEC)},
            "weights": {"answer": 0.5, "style": 0.5}}
    assert criterion_series(spec) == [("style_criterion_accuracy", "Criterion_style_accuracy"),
                                      ("style_criterion_tone", "Criterion_style_tone")]
