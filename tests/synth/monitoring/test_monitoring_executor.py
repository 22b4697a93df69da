"""The dashboard's failure panel shows the code executor's per-sample errors, read from the kinds
table (``GraderKind.executor_failures``), for every spec with a grader that declares them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aws_cdk import aws_cloudwatch as cw

from reward_kit import kinds, names
from stacks.monitoring import FunctionMetrics
from stacks.monitoring.dashboard import failure_panel, failure_share_expressions
from stacks.monitoring.reward_metrics import executor_failures
from tests.synth.test_stacks import config

REASON = "code_executor_error"


@dataclasses.dataclass(frozen=True)
class _KindWithExecutor(kinds.GraderKind):
    executor_failures: tuple[str, ...] = ()


@pytest.fixture
def code_declares_executor_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """The code kind's row as the executor's runtime writes it: it gives ``code_executor_error``."""
    row = kinds.GRADER_KINDS["code"]
    fields = {f.name: getattr(row, f.name) for f in dataclasses.fields(row) if f.name != "executor_failures"}
    monkeypatch.setitem(kinds.GRADER_KINDS, "code", _KindWithExecutor(**fields, executor_failures=(REASON,)))


def _metric_names(expressions: list[cw.MathExpression]) -> set[str]:
    found = set()
    for expression in expressions:
        for metric in expression.using_metrics.values():
            assert isinstance(metric, cw.Metric)
            found.add(metric.metric_name)
    return found


def test_code_functions_get_an_executor_series(synth: Any, code_declares_executor_failures: None) -> None:
    fm = FunctionMetrics(config(synth, "dev").function("code-tests"))  # multi {code, regex}
    assert executor_failures(fm.function.reward_spec) == (REASON,)
    (group,) = [g for g in fm.failure_groups if g.key == "executor"]
    assert group.reasons == (REASON,) and group.metric_names == (names.failure_metric_name(REASON),)
    labels = [e.label for e in failure_share_expressions(fm)]
    assert "code executor errors" in labels
    assert names.failure_metric_name(REASON) in _metric_names(failure_share_expressions(fm))
    failure_panel(fm)  # builds, with the executor's help line


def test_functions_without_code_get_none(synth: Any, code_declares_executor_failures: None) -> None:
    for env in ("dev", "prod", "judge"):
        for fn in config(synth, env).reward_functions:
            if fn.kind != "code":
                assert not [g for g in FunctionMetrics(fn).failure_groups if g.key == "executor"], fn.name


def test_a_kind_that_declares_none_gets_none(synth: Any) -> None:
    fm = FunctionMetrics(config(synth, "dev").function("code-tests"))
    declared = getattr(kinds.GRADER_KINDS["code"], "executor_failures", ())
    assert [g.reasons for g in fm.failure_groups if g.key == "executor"] == ([declared] if declared else [])


def test_the_dashboard_has_a_code_executor_section_without_alarms_of_its_own(synth: Any) -> None:
    from tests.synth.monitoring.test_monitoring_metrics import dashboard_bodies

    for env in ("dev", "sandbox", "prod"):
        cfg = config(synth, env)
        (body,) = dashboard_bodies(synth.templates[env])
        texts = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
        headers = [t for t in texts if t.startswith("## code executor")]
        graphs = [w["properties"] for w in body["widgets"] if w["type"] == "metric"]
        reserved = [g for g in graphs if g.get("title") == "code executor concurrent executions vs reserved"]
        if not cfg.runs_code:
            assert headers == [] and reserved == []
            continue
        (header,) = headers
        assert f"`{cfg.executor_function_name}`" in header
        assert f"reserved concurrency {cfg.executor_reserved_concurrency}" in header
        (panel,) = reserved
        assert panel["annotations"]["horizontal"][0]["value"] == cfg.executor_reserved_concurrency
        (metric,) = panel["metrics"]
        (executor_id,) = [k for k, r in synth.templates[env]["Resources"].items()
                          if r["Type"] == "AWS::Lambda::Function"
                          and r["Properties"].get("FunctionName") == cfg.executor_function_name]
        assert metric[:4] == ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", f"<{executor_id}>"]
        alarms = [r["Properties"].get("AlarmName", "") for r in synth.templates[env]["Resources"].values()
                  if r["Type"] == "AWS::CloudWatch::Alarm"]
        assert not [a for a in alarms if "code-executor" in a]
