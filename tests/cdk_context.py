"""The context the stack tests build from, and what one synth returns.

The app is built the way ``app.py`` builds it (``parse_environments`` + ``build_app``),
from the test fixture's context (``tests/fixtures/cdk.json``, not the team's cdk.json) plus one test-only environment (``judge``) that exercises the RLAIF
paths the shipped configs do not use, and one (``sandbox``) with code functions in an existing VPC. Bundling is skipped (``aws:cdk:bundling-stacks = []``)
so no test runs pip; cdk-nag is attached exactly as in ``app.py``, so the synth itself fails
on any unacknowledged finding.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from tests import ROOT  # noqa: E402 - one definition of the repository root

# The team's own cdk.json (environments it edits, as the README tells it to) and the test fixture
# (tests/fixtures/cdk.json: the environments the project shipped with, which the tests are written
# against). Tests build their stacks from the fixture, so a team's edits fail only the snapshots of
# its own environments (test_snapshots.py, `make snapshots`). The CDK feature flags ("@..." keys)
# are the app's, not an environment's: they come from the team's cdk.json.
TEAM_CDK_JSON = ROOT / "cdk.json"
FIXTURE_CDK_JSON = ROOT / "tests" / "fixtures" / "cdk.json"
TEAM_CONTEXT: dict[str, Any] = json.loads(TEAM_CDK_JSON.read_text(encoding="utf-8"))["context"]
TEAM_ENVIRONMENTS = tuple(TEAM_CONTEXT["environments"])
FIXTURE_CONTEXT: dict[str, Any] = json.loads(FIXTURE_CDK_JSON.read_text(encoding="utf-8"))["context"]
# What the stack tests synthesize: the fixture's tags, pipeline and environments, cdk.json's flags.
CDK_CONTEXT: dict[str, Any] = {
    **{key: value for key, value in TEAM_CONTEXT.items() if key.startswith("@")},
    **copy.deepcopy(FIXTURE_CONTEXT),
}
# The fixture's environments ("dev", "prod"; the name predates the fixture: these are the copies of
# the environments cdk.json shipped with, not whatever the team's cdk.json holds now).
SHIPPED_ENVIRONMENTS = tuple(CDK_CONTEXT["environments"])

# Test-only environment: RLAIF with a foundation-model judge and with a cross-region
# inference-profile judge, a [-1, 1] range, explicit account/region, tracing, a raised quota
# and non-default alarm settings.
JUDGE_ENVIRONMENT: dict[str, Any] = {
    "account": "123456789012",
    "region": "us-east-1",
    "log_retention_days": 7,
    "tracing": True,
    "account_concurrency_limit": 3000,
    "alarm_email": "ml-platform@example.com",
    "evaluator_registration": {"enabled": False},  # the switch: dev and prod register (the default)
    # An organization's guardrails: own tags over the app-wide ones, a boundary on every role, keys.
    "tags": {"environment": "judge", "team": "ml-platform", "cost-center": "CC 1234/ml"},
    "permissions_boundary": "arn:aws:iam::123456789012:policy/platform/NovaRftBoundary",
    "customer_managed_keys": {"log_groups": True, "environment_variables": True},
    # The account's quotas for the two judges: on-demand for the model id, cross-region for the profile.
    "bedrock_quotas": {
        "amazon.nova-pro-v1:0": {"tokens_per_minute": 5_000_000, "requests_per_minute": 4_000},
        "us.amazon.nova-pro-v1:0": {"tokens_per_minute": 60_000_000, "requests_per_minute": 4_000},
    },
    "training": {"bucket": "amzn-s3-demo-bucket-judge", "data_prefix": "data", "output_prefix": "out",
                 "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                 "hyperpod": True},
    "reward_functions": {
        "judge-fm": {
            "kind": "rlaif",
            "reward_spec": {"grader": "judge", "rubric": "Reward answers that are correct and polite."},
            "judge_max_concurrency": 8,
            # measured: 50/s x 60 x (1,400 + 100) = 4.5M tokens per minute
            "judge_input_tokens_per_call": 1400,
            "judge_output_tokens_per_call": 100,
            "target_evaluations_per_second": 50,
            "expected_seconds_per_sample": 2.0,
            "timeout_seconds": 120,
            "judge_model_id": "amazon.nova-pro-v1:0",
        },
        "judge-xr": {
            "kind": "rlaif",
            "reward_spec": {
                "grader": "multi",
                "graders": {
                    "accuracy": {"grader": "numeric"},
                    "helpfulness": {"grader": "judge", "rubric": "Is the explanation clear and correct?"},
                },
                "weights": {"accuracy": 0.7, "helpfulness": 0.3},
            },
            "target_evaluations_per_second": 50,
            "expected_seconds_per_sample": 2.0,
            "judge_model_id": "us.amazon.nova-pro-v1:0",
            "judge_inference_profile_regions": ["us-east-1", "us-east-2", "us-west-2"],
        },
        # A [-1, 1] range: percentiles need its 0..1 copies (CloudWatch user guide: CloudWatch statistics definitions).
        "signed": {
            "reward_spec": {"grader": "numeric", "name": "accuracy", "range": [-1, 1]},
            "target_evaluations_per_second": 20,
            "expected_seconds_per_sample": 0.05,
        },
    },
    "alarms": {"period_minutes": 1, "collapse_evaluation_periods": 30, "failure_share_percent": 10},
}


# Test-only environment: code functions attached to an existing VPC's subnets (cdk.json's dev
# has one in the VPC the stack creates), with tracing.
SANDBOX_ENVIRONMENT: dict[str, Any] = {
    "account": "123456789012",
    "region": "eu-west-1",
    "tracing": True,
    # A boundary given by name (resolved in the account) and keys around the code sandbox too.
    "permissions_boundary": "NovaRftBoundary",
    "tags": {"environment": "sandbox"},
    "customer_managed_keys": {"log_groups": True, "environment_variables": True},
    "training": {"bucket": "amzn-s3-demo-bucket-code", "data_prefix": "data", "output_prefix": "out"},
    "code_sandbox": {
        "vpc_id": "vpc-0abc12345def67890",
        "subnet_ids": ["subnet-0aaa1111bbbb22223", "subnet-0ccc3333dddd44445"],
        "availability_zones": ["eu-west-1a", "eu-west-1b"],
    },
    "reward_functions": {
        "humaneval": {
            "reward_spec": {"grader": "code", "all_or_nothing": True, "timeout_seconds": 5},
            "target_evaluations_per_second": 20,
            "expected_seconds_per_sample": 1.5,
            "memory_mb": 2048,
        },
        "gsm8k": {
            "reward_spec": {"grader": "numeric"},
            "target_evaluations_per_second": 20,
            "expected_seconds_per_sample": 0.05,
        },
    },
}


def synth_context() -> dict[str, Any]:
    """The session synth's context: tests/fixtures/cdk.json plus the judge and sandbox environments."""
    context = copy.deepcopy(CDK_CONTEXT)
    context["environments"]["judge"] = copy.deepcopy(JUDGE_ENVIRONMENT)
    context["environments"]["sandbox"] = copy.deepcopy(SANDBOX_ENVIRONMENT)
    context["aws:cdk:bundling-stacks"] = []  # never pip-install in tests
    return context



@dataclass
class Synth:
    app: Any
    stacks: dict[str, Any]  # env name -> RewardStack
    templates: dict[str, dict[str, Any]]  # env name -> CloudFormation template
    template_files: dict[str, Path]  # env name -> template written by the synth


def team_context() -> dict[str, Any]:
    """What ``make synth`` synthesizes: the team's cdk.json over its cdk.context.json (the lookups
    it committed), bundling skipped."""
    lookups = ROOT / "cdk.context.json"
    context = json.loads(lookups.read_text(encoding="utf-8")) if lookups.exists() else {}
    return {**context, **copy.deepcopy(TEAM_CONTEXT), "aws:cdk:bundling-stacks": []}
