"""The monitoring component's template: statistics, alarms, the encrypted topic, outputs, config.

This is the half that synthesizes; the rest is tests/stacks/monitoring/test_monitoring.py.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from reward_kit import names
from stacks.config import parse_environments
from stacks.config.alarms import DEFAULTS, AlarmsConfig
from stacks.monitoring import FunctionMetrics, dashboard_name
from stacks.monitoring.dashboard import histogram_buckets
from tests import ROOT
from tests.cdk_context import CDK_CONTEXT, JUDGE_ENVIRONMENT
from tests.synth.monitoring.test_monitoring_metrics import dashboard_bodies


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["AlarmName"]: p for p in _resources(template, "AWS::CloudWatch::Alarm").values()}


def _stats(body: dict[str, Any], service: str) -> list[tuple[str, str]]:
    """(metric name, statistic) of every metric line of the dashboard for one function's service."""
    found = []
    for widget in body["widgets"]:
        for entry in widget.get("properties", {}).get("metrics", []):
            fields = [f for f in entry if not isinstance(f, dict)]
            options = next((f for f in entry if isinstance(f, dict)), {})
            if fields and fields[2:] == [names.METRIC_DIMENSION_SERVICE, service]:
                found.append((fields[1], options.get("stat", "Average")))
    return found


@pytest.mark.parametrize("env", ["dev", "prod", "judge"])
def test_one_dashboard_per_environment_with_percentiles_and_pr_buckets(synth: Any, env: str) -> None:
    template = synth.templates[env]
    (dashboard,) = _resources(template, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["DashboardName"] == dashboard_name(env)
    (body,) = dashboard_bodies(template)
    for fn in synth.stacks[env].config.reward_functions:
        fm = FunctionMetrics(fn)
        stats = _stats(body, fm.service)
        for _, metric in fm.score_metrics:
            series = fm.percentile_metric(metric)
            for p in ("p10", "p50", "p90"):
                assert (series, p) in stats, (fn.name, series, p)
            assert (series, "Average") in stats
            assert (metric, "SampleCount") in stats
        lo, hi = fm.percentile_range
        aggregate = fm.percentile_metric(names.METRIC_AGGREGATE_REWARD)
        buckets = [s for m, s in stats if m == aggregate and s.startswith("PR(")]
        assert buckets == [s for _, s in histogram_buckets(lo, hi)]
        assert buckets[0] == f"PR(:{(hi - lo) / 10 + lo:g})" and buckets[-1].endswith(f":{hi:g})")
        judge_stats = {(names.METRIC_JUDGE_CALL_SECONDS, p) for p in ("p50", "p90", "p99")} | {
            (m, "Sum") for m in (names.METRIC_JUDGE_CALLS, names.METRIC_JUDGE_THROTTLES, names.METRIC_JUDGE_RETRIES,
                                 names.METRIC_JUDGE_ABANDONED, names.METRIC_JUDGE_INPUT_TOKENS,
                                 names.METRIC_JUDGE_OUTPUT_TOKENS, names.METRIC_JUDGE_CACHE_READ_TOKENS,
                                 names.METRIC_JUDGE_CACHE_WRITE_TOKENS)}
        assert judge_stats <= set(stats) if fm.uses_judge else not any(m.startswith("Judge") for m, _ in stats)
        if fm.normalized:  # percentiles never read a series with negative values
            assert not any(m == names.METRIC_AGGREGATE_REWARD and s.startswith(("p", "PR")) for m, s in stats)
    bars = [w for w in body["widgets"] if w.get("properties", {}).get("view") == "bar"]
    assert len(bars) == len(synth.stacks[env].config.reward_functions)
    assert all(w["properties"]["setPeriodToTimeRange"] for w in bars)
    texts = [w for w in body["widgets"] if w["type"] == "text"]
    graphs = [w for w in body["widgets"] if w["type"] == "metric"]
    assert len(texts) >= len(graphs) // 2  # reading guides beside the panels


def test_the_signed_range_histogram_reads_the_normalized_series(synth: Any) -> None:
    fm = FunctionMetrics(synth.stacks["judge"].config.function("signed"))
    assert fm.normalized and fm.output_range == (-1.0, 1.0) and fm.percentile_range == (0.0, 1.0)
    assert fm.percentile_metric(names.METRIC_AGGREGATE_REWARD) == names.normalized_metric_name(
        names.METRIC_AGGREGATE_REWARD)


def _metric_stats(alarm: dict[str, Any]) -> dict[str, tuple[str, str, int]]:
    """metric id -> (metric name, statistic, period) of a metric-math alarm."""
    return {q["Id"]: (q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Stat"], q["MetricStat"]["Period"])
            for q in alarm["Metrics"] if "MetricStat" in q}


def _expression(alarm: dict[str, Any]) -> str:
    (expression,) = [q["Expression"] for q in alarm["Metrics"] if "Expression" in q]
    return str(expression)


@pytest.mark.parametrize("env", ["dev", "prod", "judge"])
def test_each_alarm_metric_statistic_threshold_period_and_action(synth: Any, env: str) -> None:
    template = synth.templates[env]
    config = synth.stacks[env].config
    settings: AlarmsConfig = config.alarms
    period = settings.period_minutes * 60
    alarms = _alarms(template)
    (topic,) = _resources(template, "AWS::SNS::Topic").values()
    expected_names = set()
    for fn in config.reward_functions:
        fm = FunctionMetrics(fn)
        prefix = f"NovaRftRewards-{env}-{fn.name}"
        errors = alarms[f"{prefix}-Fault-Count-Critical"]
        throttles = alarms[f"{prefix}-Throttled-Count-Critical"]
        latency = alarms[f"{prefix}-Latency-P99-Critical"]
        for alarm, metric, stat, threshold in (
            (errors, "Errors", "Sum", settings.errors_threshold),
            (throttles, "Throttles", "Sum", settings.throttles_threshold),
            (latency, "Duration", "p99", settings.duration_timeout_fraction * fn.timeout_seconds * 1000),
        ):
            (query,) = [q for q in alarm["Metrics"] if "MetricStat" in q]
            stat_ = query["MetricStat"]
            assert stat_["Metric"]["Namespace"] == "AWS/Lambda" and stat_["Metric"]["MetricName"] == metric
            assert stat_["Stat"] == stat and stat_["Period"] == period
            assert alarm["Threshold"] == threshold and alarm["ComparisonOperator"] == "GreaterThanThreshold"
            assert alarm["EvaluationPeriods"] == 1

        share = alarms[f"{prefix}-Failure-Share"]
        assert _metric_stats(share) == {"samples": (names.METRIC_SAMPLES, "Sum", period),
                                        "failed": (names.METRIC_FAILED_SAMPLES, "Sum", period)}
        assert _expression(share) == "100 * FILL(failed, 0) / samples"
        assert share["Threshold"] == settings.failure_share_percent
        assert share["EvaluationPeriods"] == share["DatapointsToAlarm"] == settings.failure_evaluation_periods
        assert share["ComparisonOperator"] == "GreaterThanThreshold" and share["TreatMissingData"] == "notBreaching"

        collapse = alarms[f"{prefix}-Reward-Collapse"]
        series = fm.percentile_metric(names.METRIC_AGGREGATE_REWARD)
        assert _metric_stats(collapse) == {"samples": (names.METRIC_SAMPLES, "Sum", period),
                                           "p90": (series, "p90", period), "p10": (series, "p10", period)}
        assert _expression(collapse) == f"IF(samples >= {settings.collapse_min_samples}, p90 - p10, 1)" or (
            not fm.normalized and fm.output_range != (0.0, 1.0))
        assert collapse["Threshold"] == pytest.approx(settings.collapse_spread * 1.0)
        assert collapse["ComparisonOperator"] == "LessThanThreshold"
        assert collapse["EvaluationPeriods"] == settings.collapse_evaluation_periods
        names_here = {f"{prefix}-{s}" for s in ("Fault-Count-Critical", "Throttled-Count-Critical",
                                                "Latency-P99-Critical", "Failure-Share", "Reward-Collapse")}
        if fm.uses_judge:
            judge = alarms[f"{prefix}-Judge-Failure-Share"]
            judge_metrics = _metric_stats(judge)
            assert {m for m, _, _ in judge_metrics.values()} == {names.METRIC_SAMPLES} | {
                names.failure_metric_name(r) for r in ("judge_unparseable", "judge_error", "judge_timeout")}
            assert all(s == "Sum" and p == period for _, s, p in judge_metrics.values())
            assert judge["Threshold"] == settings.judge_failure_share_percent
            names_here.add(f"{prefix}-Judge-Failure-Share")
        expected_names |= names_here
    assert set(alarms) == expected_names
    topic_id = next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::SNS::Topic")
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], alarm["AlarmName"]
        assert alarm.get("ActionsEnabled", True) is True
    key_id = next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_the_judge_environment_uses_its_own_alarm_settings(synth: Any) -> None:
    settings = synth.stacks["judge"].config.alarms
    assert (settings.period_minutes, settings.collapse_evaluation_periods, settings.failure_share_percent) == (1, 30, 10)
    assert synth.stacks["dev"].config.alarms == DEFAULTS


def test_the_topic_key_lets_cloudwatch_publish(synth: Any) -> None:
    template = Template.from_json(synth.templates["judge"])
    template.has_resource_properties("AWS::KMS::Key", {
        "EnableKeyRotation": True,
        "KeyPolicy": {"Statement": Match.array_with([Match.object_like({
            "Sid": "AllowCloudWatchAlarmsToUseTheKey",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
        })])},
    })
    (key,) = [r["Properties"] for k, r in synth.templates["judge"]["Resources"].items()
              if r["Type"] == "AWS::KMS::Key" and k.startswith("Monitoring")]  # not the guardrails' keys
    (admin,) = [s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "AccountAdministersTheKey"]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert "kms:PutKeyPolicy" in admin["Action"] and not any("*" in a for a in admin["Action"])
    template.has_resource_properties("AWS::SNS::TopicPolicy", {
        "PolicyDocument": {"Statement": Match.array_with([
            Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
            Match.object_like({"Sid": "AllowThisAccountsAlarmsToPublish", "Effect": "Allow",
                               "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
                               "Condition": Match.object_like({"ArnLike": Match.any_value(),
                                                               "StringEquals": Match.any_value()})}),
        ])},
    })
    template.resource_count_is("AWS::SNS::Subscription", 1)
    template.has_resource_properties("AWS::SNS::Subscription",
                                     {"Protocol": "email", "Endpoint": JUDGE_ENVIRONMENT["alarm_email"]})
    Template.from_json(synth.templates["dev"]).resource_count_is("AWS::SNS::Subscription", 0)  # no alarm_email


def test_outputs_dashboard_url_and_topic_arn(synth: Any) -> None:
    for template in synth.templates.values():
        outputs = template["Outputs"]
        url = json.dumps(outputs["DashboardUrl"]["Value"])
        dashboard_id = next(k for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Dashboard")
        assert ".console.aws.amazon.com/cloudwatch/home?region=" in url
        assert f'"#dashboards:name=", {{"Ref": "{dashboard_id}"}}' in url
        assert outputs["AlarmTopicArn"]["Value"] == {"Ref": next(
            k for k, r in template["Resources"].items() if r["Type"] == "AWS::SNS::Topic")}


def test_alarms_switched_off_leave_the_dashboard_only() -> None:
    from aws_cdk import App

    from stacks.app_builder import build_app

    raw = copy.deepcopy(CDK_CONTEXT["environments"]["dev"])
    raw["alarms"] = {"enabled": False}
    raw["alarm_email"] = "team@example.com"
    app = App(context={"aws:cdk:bundling-stacks": []})
    stack = build_app(app, list(parse_environments({"quiet": raw}).values()))["quiet"]
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    for kind in ("AWS::CloudWatch::Alarm", "AWS::SNS::Topic", "AWS::KMS::Key", "AWS::SNS::Subscription"):
        template.resource_count_is(kind, 0)
    assert "AlarmTopicArn" not in template.to_json()["Outputs"]


def test_the_dashboard_picture_generator_draws_the_synthesized_body(synth: Any, tmp_path: Any) -> None:
    import subprocess
    import sys

    root = ROOT
    out = tmp_path / "dashboard.png"
    result = subprocess.run([sys.executable, str(root / "tools" / "dashboard_png.py"),
                             str(synth.template_files["prod"]), str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (body,) = dashboard_bodies(synth.templates["prod"])
    assert f"({len(body['widgets'])} widgets)" in result.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert (root / "docs" / "dashboard-prod.png").exists()  # the README's picture
