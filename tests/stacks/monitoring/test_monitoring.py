"""The monitoring component's config, without a synth: alarm settings (defaults, overrides,
one-line errors) and the kinds table's columns the dashboard reads.

The template (statistics, alarms, the encrypted topic, outputs): tests/synth/monitoring/test_monitoring.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reward_kit import names
from stacks.config import ConfigError, parse_environments
from stacks.config.alarms import DEFAULTS
from tests.cdk_context import CDK_CONTEXT


def _alarms_error(alarms: Any) -> str:
    raw = copy.deepcopy(CDK_CONTEXT["environments"]["dev"])
    raw["alarms"] = alarms
    with pytest.raises(ConfigError) as info:
        parse_environments({"dev": raw})
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("alarms", "message"), [
    ({"period_minutes": 7}, "environments.dev.alarms.period_minutes: must be one of [1, 5, 10, 15, 30, 60], got 7"),
    ({"enabled": "yes"}, "environments.dev.alarms.enabled: must be true or false"),
    ({"failure_share_percent": 100}, "environments.dev.alarms.failure_share_percent: must be a"),
    ({"collapse_spread": 0}, "environments.dev.alarms.collapse_spread: must be a"),
    ({"collapse_evaluation_periods": 0}, "environments.dev.alarms.collapse_evaluation_periods: must be an integer in 1..96"),
    ({"duration_timeout_fraction": 1.5}, "environments.dev.alarms.duration_timeout_fraction: must be a"),
    ({"errors_threshold": -1}, "environments.dev.alarms.errors_threshold: must be an integer >= 0"),
    ({"treshold": 1}, "environments.dev.alarms.treshold: unknown key; allowed keys are ['collapse_evaluation_periods'"),
    ([], "environments.dev.alarms: must be a JSON object, got []"),
])
def test_alarm_config_errors_name_the_key(alarms: Any, message: str) -> None:
    assert _alarms_error(alarms).startswith(message)


def test_alarm_config_defaults_and_overrides() -> None:
    raw = copy.deepcopy(CDK_CONTEXT["environments"]["dev"])
    assert parse_environments({"dev": raw})["dev"].alarms == DEFAULTS
    raw["alarms"] = {"failure_share_percent": 5, "period_minutes": 15, "collapse_evaluation_periods": 4}
    alarms = parse_environments({"dev": raw})["dev"].alarms
    assert (alarms.failure_share_percent, alarms.period_minutes, alarms.collapse_minutes) == (5, 15, 60)


def test_reference_free_kinds_match_the_graders_traits(monkeypatch: pytest.MonkeyPatch) -> None:
    """FunctionMetrics leaves missing_reference out for these kinds: the graders must agree."""
    from reward_kit.graders import build_grader, traits_of
    from reward_kit.spec import validate_spec
    from stacks.monitoring.reward_metrics import REFERENCE_FREE_KINDS

    monkeypatch.setenv(names.ENV_JUDGE_MODEL_ID, "amazon.nova-pro-v1:0")
    specs = {"label": {"grader": "label", "labels": ["a"]}, "numeric": {"grader": "numeric"},
             "math": {"grader": "math"}, "json_schema": {"grader": "json_schema", "schema": {"type": "object"}},
             "regex": {"grader": "regex", "pattern": "x"}, "judge": {"grader": "judge", "rubric": "r"}}
    free = {kind for kind, spec in specs.items() if not traits_of(build_grader(validate_spec(spec))).requires_reference}
    assert free == REFERENCE_FREE_KINDS


def test_every_grader_kind_declares_its_answer_failures() -> None:
    from reward_kit import kinds

    leaves = {name: kind for name, kind in kinds.GRADER_KINDS.items() if not kind.composite}
    assert leaves
    for name, kind in leaves.items():
        if kind.needs == kinds.NEEDS_JUDGE:
            assert kind.answer_failures == (), name  # its failures are the judge group
        else:
            assert kind.answer_failures, name  # a kind must say how it reports a missing answer
