"""Issue 22 (6): metrics by function version, and the judge's criteria on the dashboard.

Every EMF record publishes each metric under [service] (the roll-up) and [service, version]
(Lambda's AWS_LAMBDA_FUNCTION_VERSION); the dashboard shows the live version's aggregate,
every version's p50 side by side, and one distribution panel per judge criterion, which the
real RLAIF handler emits (``Criterion_<name>``) when its judge scores criteria.

This is the half that synthesizes; the rest is tests/stacks/monitoring/test_metrics_by_version.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reward_kit import names
from tests.lambdas.fake_bedrock import _bedrock_server, bedrock  # noqa: F401 - fixtures
from tests.stacks.monitoring.test_metrics_by_version import criteria_env
from tests.synth.monitoring.test_monitoring_metrics import dashboard_bodies, dashboard_metrics
from tests.synth.test_safe_changes import synth_one


@pytest.fixture(scope="module")
def criteria_template() -> dict[str, Any]:
    return synth_one(criteria_env())


def test_the_dashboard_has_the_live_version_every_version_and_each_criterion(criteria_template: dict[str, Any]) -> None:
    (body,) = dashboard_bodies(criteria_template)
    versions = {k: r for k, r in criteria_template["Resources"].items() if r["Type"] == "AWS::Lambda::Version"}
    referenced = dashboard_metrics(body)
    service = ("service", "SageMaker-reward-polite-dev")
    for criterion in ("accuracy", "tone"):
        assert (names.METRIC_NAMESPACE, f"Criterion_{criterion}", frozenset({service})) in referenced
    # The live version's panel reads version = this deploy's version number (GetAtt ...Version).
    live = {dict(dims)["version"] for _, name, dims in referenced if "version" in dict(dims)
            and dict(dims)["service"] == service[1]}
    (version_id,) = [k for k, r in versions.items() if r["Properties"]["FunctionName"]["Ref"].startswith("RewardPolite")]
    assert live == {f"<{version_id}.Version>"}
    text = json.dumps(body)
    assert ('SEARCH(\'{NovaRFT/Rewards,service,version} MetricName=\\"Reward\\" '
            'service=\\"SageMaker-reward-polite-dev\\"\', \'p50\', 300)') in text


def test_after_a_rollback_the_live_panel_reads_the_pinned_version() -> None:
    raw = criteria_env()
    raw["reward_functions"]["polite"]["live_version"] = 4
    (body,) = dashboard_bodies(synth_one(raw))
    live = {dict(dims)["version"] for _, _, dims in dashboard_metrics(body) if "version" in dict(dims)
            and dict(dims)["service"] == "SageMaker-reward-polite-dev"}
    assert live == {"4"}
