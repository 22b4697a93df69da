"""The delivery pipeline for a two-account config (dev, then prod after a manual approval).

Test-only config: the shipped cdk.json keeps the pipeline off. Its own synth (bundling skipped),
with cdk-nag attached as in app.py, so the synth fails on any unacknowledged finding.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from stacks.app_builder import PIPELINE_STACK, stack_name
from stacks.config import parse_environments, parse_pipeline
from stacks.pipeline import SYNTH_COMMANDS, cli_version
from tests import ROOT
from tests.cdk_context import CDK_CONTEXT
from tests.synth.test_cfn_lint import makefile_cfn_lint_args
from tests.synth.test_nag import described
from tests.synth.test_snapshots import masked

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
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    return subprocess.run([sys.executable, str(ROOT / "app.py")], env=env, capture_output=True, text=True, cwd=ROOT)


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


@dataclass
class PipelineSynth:
    app: Any
    template: dict[str, Any]
    template_files: list[Path]


@pytest.fixture(scope="module")
def pipeline_synth(tmp_path_factory: pytest.TempPathFactory) -> PipelineSynth:
    from aws_cdk import App

    from stacks.app_builder import build_app

    context = pipeline_context()
    outdir = tmp_path_factory.mktemp("pipeline.out")
    app = App(context=context, outdir=str(outdir))
    envs = parse_environments(context["environments"], context["tags"])
    pipeline = parse_pipeline(context["pipeline"], envs, context["tags"])
    assert pipeline is not None
    build_app(app, list(envs.values()), pipeline, envs)
    assembly = app.synth()
    template = assembly.get_stack_by_name(PIPELINE_STACK).template
    return PipelineSynth(app=app, template=template, template_files=sorted(outdir.rglob("*.template.json")))


def pipeline_resource(synth: PipelineSynth) -> dict[str, Any]:
    (pipeline,) = [r for r in synth.template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"]
    return pipeline["Properties"]


def test_stages_run_in_order_with_an_approval_before_production_only(pipeline_synth: PipelineSynth) -> None:
    stages = pipeline_resource(pipeline_synth)["Stages"]
    assert [s["Name"] for s in stages] == ["Source", "Build", "UpdatePipeline", "Assets", "Deploy-dev", "Deploy-prod"]
    by_name = {s["Name"]: s for s in stages}
    dev_actions = [a["ActionTypeId"]["Category"] for a in by_name["Deploy-dev"]["Actions"]]
    assert "Approval" not in dev_actions
    prod = sorted(by_name["Deploy-prod"]["Actions"], key=lambda a: a["RunOrder"])
    assert prod[0]["ActionTypeId"] == {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}
    assert all(a["RunOrder"] > prod[0]["RunOrder"] for a in prod[1:])  # nothing deploys before the approval


def test_each_stage_deploys_the_environments_stack_into_its_own_account(pipeline_synth: PipelineSynth) -> None:
    stages = {s["Name"]: s for s in pipeline_resource(pipeline_synth)["Stages"]}
    for env, account in (("dev", DEV_ACCOUNT), ("prod", PROD_ACCOUNT)):
        deploys = [a for a in stages[f"Deploy-{env}"]["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"]
        assert deploys
        for action in deploys:  # prepare the change set, then execute it
            assert action["Configuration"]["StackName"] == stack_name(env)  # the same stack as make deploy
            assert f":iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-us-east-1" in json.dumps(action)
        # CloudFormation runs with the bootstrap execution role (--cloudformation-execution-policies).
        assert f":iam::{account}:role/cdk-hnb659fds-cfn-exec-role-{account}-us-east-1" in json.dumps(deploys)


def test_the_source_is_the_configured_connection_and_synth_runs_the_readme_commands(
    pipeline_synth: PipelineSynth,
) -> None:
    stages = {s["Name"]: s for s in pipeline_resource(pipeline_synth)["Stages"]}
    (source,) = stages["Source"]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == CONNECTION
    assert source["Configuration"]["FullRepositoryId"] == "my-org/nova-rft-rewards"
    assert source["Configuration"]["BranchName"] == "main"
    projects = [r["Properties"] for r in pipeline_synth.template["Resources"].values()
                if r["Type"] == "AWS::CodeBuild::Project"]
    specs = [json.loads(p["Source"]["BuildSpec"]) for p in projects if "BuildSpec" in p["Source"]]
    (synth_spec,) = [s for s in specs if s["phases"].get("build", {}).get("commands") == list(SYNTH_COMMANDS)]
    assert synth_spec["phases"]["install"]["runtime-versions"] == {"python": "3.11", "nodejs": "22"}
    assert any(f"aws-cdk@{cli_version()}" in json.dumps(s) for s in specs)  # the pinned CLI self-updates


def test_the_pipeline_carries_the_app_wide_tags(pipeline_synth: PipelineSynth) -> None:
    from tests.stacks.guardrails.test_guardrails import tag_property
    from tests.synth.guardrails.test_guardrails import tags_of

    for logical_id, resource in pipeline_synth.template["Resources"].items():
        prop = tag_property(resource["Type"])
        if prop is not None:
            assert tags_of(resource["Properties"].get(prop, [])).get("project") == "nova-rft-rewards", logical_id


def test_every_pipeline_role_has_the_pipeline_boundary(pipeline_synth: PipelineSynth) -> None:
    roles = [r for r in pipeline_synth.template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert len(roles) >= 5  # pipeline, source, synth, self-mutation, assets: all generated by the module
    assert all(r["Properties"]["PermissionsBoundary"] == PIPELINE_BOUNDARY for r in roles)


def test_the_pipeline_app_has_no_unacknowledged_findings(pipeline_synth: PipelineSynth) -> None:
    from cdk_nag import AwsSolutionsChecks

    report = AwsSolutionsChecks().validate_scope(pipeline_synth.app)
    assert described(report) == []


def test_cfn_lint_is_clean_for_the_pipeline_and_its_stages(pipeline_synth: PipelineSynth) -> None:
    files = [str(p) for p in pipeline_synth.template_files]
    assert any(PIPELINE_STACK in f for f in files) and any("assembly-" in f for f in files)
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    command = [str(cfn_lint)] if cfn_lint.exists() else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run([*command, *files, *makefile_cfn_lint_args()], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pipeline_snapshot(pipeline_synth: PipelineSynth, snapshot: Any) -> None:
    assert masked(pipeline_synth.template) == snapshot.use_extension(JSONSnapshotExtension)
