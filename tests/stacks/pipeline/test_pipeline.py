"""The delivery pipeline for a two-account config (dev, then prod after a manual approval).

Test-only config: the shipped cdk.json keeps the pipeline off. Its own synth (bundling skipped),
with cdk-nag attached as in app.py, so the synth fails on any unacknowledged finding.

Its synthesized half is tests/synth/pipeline/test_pipeline.py.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from stacks.app_builder import PIPELINE_STACK, stack_name
from tests import ROOT
from tests.cdk_context import CDK_CONTEXT

PIPELINE_ACCOUNT = DEV_ACCOUNT = "111111111111"


PROD_ACCOUNT = "222222222222"


PIPELINE_BOUNDARY = "arn:aws:iam::111111111111:policy/PipelineBoundary"


CONNECTION = "arn:aws:codeconnections:us-east-1:111111111111:connection/12345678-aaaa-bbbb-cccc-1234567890ab"


def pipeline_context() -> dict[str, Any]:
    context = copy.deepcopy(CDK_CONTEXT)
    envs = context["environments"]
    envs["dev"].update(account=DEV_ACCOUNT, region="us-east-1")
    envs["prod"].update(account=PROD_ACCOUNT, region="us-east-1", production=True)
    context["pipeline"] = {
        "enabled": True, "account": PIPELINE_ACCOUNT, "region": "us-east-1", "connection_arn": CONNECTION,
        "repository": "my-org/nova-rft-rewards", "branch": "main", "stages": ["dev", "prod"],
        "permissions_boundary": PIPELINE_BOUNDARY,
    }
    context["aws:cdk:bundling-stacks"] = []
    # What `cdk synth` with credentials caches in cdk.context.json (dev's code sandbox VPC).
    context[f"availability-zones:account={DEV_ACCOUNT}:region=us-east-1"] = ["us-east-1a", "us-east-1b", "us-east-1c"]
    return context


def run_app(tmp_path: Path, context: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """app.py as `cdk synth` runs it (the CLI hands context over in CDK_CONTEXT_JSON)."""
    import os

    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    root = ROOT
    return subprocess.run([sys.executable, str(root / "app.py")], env=env, capture_output=True, text=True, cwd=root)


def test_app_py_synthesizes_the_pipeline_when_configured_and_keeps_the_environment_stacks(tmp_path: Path) -> None:
    result = run_app(tmp_path, pipeline_context())
    assert result.returncode == 0, result.stderr[-3000:]
    top = sorted(p.name for p in tmp_path.glob("*.template.json"))
    assert top == [f"{PIPELINE_STACK}.template.json", f"{stack_name('dev')}.template.json",
                   f"{stack_name('prod')}.template.json"]  # deployable with make deploy, pipeline or not
    assert sorted(p.name for p in tmp_path.glob("assembly-*")) == [
        f"assembly-{PIPELINE_STACK}-Deploy-dev", f"assembly-{PIPELINE_STACK}-Deploy-prod"]


def test_a_pipeline_config_mistake_stops_the_synth_with_one_line(tmp_path: Path) -> None:
    context = pipeline_context()
    context["pipeline"]["stages"] = ["dev", "staging"]
    result = run_app(tmp_path, context)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "cdk.json: pipeline.stages[1]: must be one of ['dev', 'prod'], got 'staging'")
