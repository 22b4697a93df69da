"""The cost model counts the code executor: one request per evaluation, the sample's run time at
the executor's memory, Lambda's platform records when they are kept."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks import cost
from stacks.config import parse_environments
from tests.cdk_context import CDK_CONTEXT


def _dev(**executor: Any) -> Any:
    raw = copy.deepcopy(CDK_CONTEXT["environments"]["dev"])
    if executor:
        raw["code_sandbox"] = {"executor": executor}
    return parse_environments({"dev": raw})["dev"]


def test_the_executor_row_follows_its_code_function_and_memory() -> None:
    env = _dev(memory_mb=3008)
    profiles = {p.name: p for p in cost.environment_profiles({"dev": env})}
    fn = env.function("code-tests")
    executor = profiles["dev.code-tests executor"]
    assert (executor.evaluations_per_second, executor.samples_per_invocation, executor.memory_mb,
            executor.seconds_per_sample) == (fn.target_evaluations_per_second, 1, 3008, fn.expected_seconds_per_sample)
    assert executor.log_bytes_per_invocation == cost.SYSTEM_LOG_BYTES_PER_INVOCATION  # dev keeps INFO platform records
    per_m = cost.cost_per_million(executor)
    # 1M requests; 1M x 1 s x 3008/1024 GB x the arm64 price.
    assert per_m.requests == pytest.approx(cost.PRICES.lambda_requests_per_million)
    assert per_m.compute == pytest.approx(1e6 * 1.0 * 3008 / 1024 * cost.PRICES.lambda_arm64_gb_second)
    assert per_m.judge == 0
    # Other functions get no executor row.
    assert [name for name in profiles if name.endswith(" executor")] == ["dev.code-tests executor"]


def test_the_executor_logs_nothing_per_run_when_the_platform_records_are_dropped() -> None:
    raw = copy.deepcopy(CDK_CONTEXT["environments"]["dev"])
    raw["system_log_level"] = "WARN"
    env = parse_environments({"dev": raw})["dev"]
    (executor,) = [p for p in cost.environment_profiles({"dev": env}) if p.name.endswith(" executor")]
    assert executor.log_bytes_per_invocation == 0


def test_the_shipped_dev_executor_adds_its_share_to_the_code_function() -> None:
    env = _dev()
    profiles = {p.name: p for p in cost.environment_profiles({"dev": env})}
    grader = cost.cost_per_million(profiles["dev.code-tests"]).total
    executor = cost.cost_per_million(profiles["dev.code-tests executor"]).total
    # 1M x 1 s at 1,769 MB ~ $23.0 of compute + $0.20 of requests + its platform records.
    assert executor == pytest.approx(23.03 + 0.20 + 0.288, abs=0.01)
    assert grader > 0
