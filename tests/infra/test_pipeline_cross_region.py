"""A pipeline whose stages deploy into other regions (and another account) than the pipeline's own.

Pipeline in account 111111111111, us-east-1; dev in the same account but us-west-2; prod in
222222222222, us-west-2. CodePipeline then keeps a replication bucket (and its key) in us-west-2
in a support stack of the pipeline account; the roles it generates reach that bucket by name and
the key on '*'. The synth must stay cdk-nag clean (each of those acknowledged with its reason,
anything else still fails), cfn-lint clean, and the stages must deploy into their own region.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stacks.app_builder import PIPELINE_STACK, stack_name
from stacks.config import parse_environments, parse_pipeline

from .test_cfn_lint import makefile_cfn_lint_args
from .test_nag import described
from .test_pipeline import DEV_ACCOUNT, PIPELINE_ACCOUNT, PROD_ACCOUNT, pipeline_context

STAGE_REGION = "us-west-2"
SUPPORT_STACK = f"{PIPELINE_STACK}-support-{STAGE_REGION}"


def cross_region_context() -> dict[str, Any]:
    context = pipeline_context()
    envs = context["environments"]
    envs["dev"].update(region=STAGE_REGION)
    envs["prod"].update(region=STAGE_REGION)
    # What `cdk synth` with credentials caches (the code sandbox VPC's zones in dev's region).
    context[f"availability-zones:account={DEV_ACCOUNT}:region={STAGE_REGION}"] = ["us-west-2a", "us-west-2b"]
    return context


@dataclass
class CrossRegionSynth:
    app: Any
    assembly: Any
    outdir: Path


@pytest.fixture(scope="module")
def cross_region(tmp_path_factory: pytest.TempPathFactory) -> CrossRegionSynth:
    from aws_cdk import App

    from stacks.app_builder import build_app

    context = cross_region_context()
    outdir = tmp_path_factory.mktemp("pipeline-xr.out")
    app = App(context=context, outdir=str(outdir))
    envs = parse_environments(context["environments"], context["tags"])
    pipeline = parse_pipeline(context["pipeline"], envs, context["tags"])
    assert pipeline is not None
    build_app(app, list(envs.values()), pipeline, envs)
    return CrossRegionSynth(app=app, assembly=app.synth(), outdir=outdir)


def pipeline_template(synth: CrossRegionSynth) -> dict[str, Any]:
    template: dict[str, Any] = synth.assembly.get_stack_by_name(PIPELINE_STACK).template
    return template


def test_the_pipeline_keeps_an_artifact_store_in_each_region_it_deploys_to(cross_region: CrossRegionSynth) -> None:
    (pipeline,) = [r["Properties"] for r in pipeline_template(cross_region)["Resources"].values()
                   if r["Type"] == "AWS::CodePipeline::Pipeline"]
    stores = {s["Region"]: s["ArtifactStore"] for s in pipeline["ArtifactStores"]}
    assert set(stores) == {"us-east-1", STAGE_REGION}
    support = cross_region.assembly.get_stack_by_name(SUPPORT_STACK)
    assert (support.environment.account, support.environment.region) == (PIPELINE_ACCOUNT, STAGE_REGION)
    (bucket,) = [r["Properties"] for r in support.template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
    assert stores[STAGE_REGION]["Location"] == bucket["BucketName"]
    assert stores[STAGE_REGION]["EncryptionKey"]["Type"] == "KMS"


def test_each_stage_deploys_in_its_own_region_and_account(cross_region: CrossRegionSynth) -> None:
    (pipeline,) = [r["Properties"] for r in pipeline_template(cross_region)["Resources"].values()
                   if r["Type"] == "AWS::CodePipeline::Pipeline"]
    stages = {s["Name"]: s for s in pipeline["Stages"]}
    for env, account in (("dev", DEV_ACCOUNT), ("prod", PROD_ACCOUNT)):
        deploys = [a for a in stages[f"Deploy-{env}"]["Actions"] if a["ActionTypeId"]["Category"] == "Deploy"]
        assert deploys
        for action in deploys:
            assert action["Region"] == STAGE_REGION
            assert action["Configuration"]["StackName"] == stack_name(env)
            assert f":iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-{STAGE_REGION}" in json.dumps(action)


def test_the_replication_store_is_acknowledged_by_name_and_nothing_else_is_found(
        cross_region: CrossRegionSynth) -> None:
    from cdk_nag import AwsSolutionsChecks

    assert described(AwsSolutionsChecks().validate_scope(cross_region.app)) == []
    # The pipeline role reaches the replication bucket by its literal name: the statement is the
    # artifact grant on exactly the two buckets (and their objects), nothing wider.
    support = cross_region.assembly.get_stack_by_name(SUPPORT_STACK)
    (bucket,) = [r["Properties"]["BucketName"] for r in support.template["Resources"].values()
                 if r["Type"] == "AWS::S3::Bucket"]
    policies = [r["Properties"]["PolicyDocument"]["Statement"] for r in pipeline_template(cross_region)[
        "Resources"].values() if r["Type"] == "AWS::IAM::Policy"]
    granted = [s for statements in policies for s in statements if bucket in json.dumps(s)]
    assert granted and all(s["Resource"] for s in granted)
    for statement in granted:
        for resource in statement["Resource"]:
            assert resource in (f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*") or "PipelineArtifactsBucket" in (
                json.dumps(resource))


def test_the_support_stack_carries_the_app_wide_tags(cross_region: CrossRegionSynth) -> None:
    from .test_guardrails import tag_property, tags_of

    support = cross_region.assembly.get_stack_by_name(SUPPORT_STACK)
    taggable = [(k, r) for k, r in support.template["Resources"].items() if tag_property(r["Type"]) is not None]
    assert taggable
    for logical_id, resource in taggable:
        prop = tag_property(resource["Type"])
        assert prop is not None
        assert tags_of(resource["Properties"].get(prop, [])).get("project") == "nova-rft-rewards", logical_id


def test_cfn_lint_is_clean_for_every_template_in_both_regions(cross_region: CrossRegionSynth) -> None:
    files = sorted(str(p) for p in cross_region.outdir.rglob("*.template.json"))
    assert any(f"cross-region-stack-{PIPELINE_ACCOUNT}" in f for f in files) and any("assembly-" in f for f in files)
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    command = [str(cfn_lint)] if cfn_lint.exists() else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run([*command, *files, *makefile_cfn_lint_args()], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unknown_wildcard_in_a_pipeline_policy_still_fails_the_synth() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_iam as iam

    from stacks.pipeline import DeliveryPipelineStack
    from stacks.pipeline.construct import acknowledge_pipeline_findings

    context = cross_region_context()
    app = App(context=context)
    envs = parse_environments(context["environments"], context["tags"])
    pipeline = parse_pipeline(context["pipeline"], envs, context["tags"])
    assert pipeline is not None
    stack = DeliveryPipelineStack(app, PIPELINE_STACK, config=pipeline, environments=envs,
                                  build_stack=lambda scope, env, synthesizer: Stack(scope, f"S-{env.name}"))
    role = stack.pipeline.pipeline.role
    role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:Get*"], resources=["arn:aws:s3:::other-bucket/*"]))
    with pytest.raises(ValueError, match=r"unexpected wildcard action 's3:Get\*'"):
        acknowledge_pipeline_findings(stack)
