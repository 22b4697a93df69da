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
from tests.synth.pipeline.test_pipeline import DEV_ACCOUNT, PIPELINE_ACCOUNT, PROD_ACCOUNT, pipeline_context
from tests.synth.test_cfn_lint import makefile_cfn_lint_args
from tests.synth.test_nag import described

STAGE_REGION = "us-west-2"
SUPPORT_STACK = f"{PIPELINE_STACK}-support-{STAGE_REGION}"


def cross_region_context() -> dict[str, Any]:
    context = pipeline_context()
    envs = context["environments"]
    envs["dev"].update(region=STAGE_REGION)
    envs["prod"].update(region=STAGE_REGION)
    # What `cdk synth` with credentials caches (the code sandbox VPC's zones in dev's region).
    context[f"availability-zones:account={DEV_ACCOUNT}:region={STAGE_REGION}"] = ["us-west-2a", "us-west-2b"]
    # Registration runs a custom resource, which the emulator cannot (see test_deploy_emulator.py);
    # its templates and findings are covered by the single-region pipeline and the session synth.
    for env in envs.values():
        env["evaluator_registration"] = {"enabled": False}
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
    from tests.stacks.guardrails.test_guardrails import tag_property
    from tests.synth.guardrails.test_guardrails import tags_of

    support = cross_region.assembly.get_stack_by_name(SUPPORT_STACK)
    taggable = [(k, r) for k, r in support.template["Resources"].items() if tag_property(r["Type"]) is not None]
    assert taggable
    for logical_id, resource in taggable:
        prop = tag_property(resource["Type"])
        assert prop is not None
        assert tags_of(resource["Properties"].get(prop, [])).get("project") == "nova-rft-rewards", logical_id


@pytest.mark.slow
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


# -- deploy into the emulator, each stack into its own account and region -------------------------
# What moto's CloudFormation can create: the support stack (bucket, key, alias) and the stages'
# stacks. The pipeline stack itself is not deployed: moto has no CloudFormation support for
# AWS::CodePipeline::Pipeline or AWS::CodeBuild::Project (its template is checked above).


@pytest.fixture(scope="module")
def emulator_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.synth.test_deploy_emulator import emulator

    yield from emulator.__wrapped__(tmp_path_factory)  # type: ignore[attr-defined]


def account_clients(endpoint: str, account: str, region: str) -> Any:
    """Clients acting in ``account`` (credentials from sts:AssumeRole of its CDK deploy role, as
    the pipeline's deploy actions get them) in ``region``, reaching only the emulator."""
    import boto3
    from botocore.config import Config

    bounded = Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 2})
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    sts = session.client("sts", region_name=region, endpoint_url=endpoint, config=bounded)
    role = f"arn:aws:iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-{region}"
    creds = sts.assume_role(RoleArn=role, RoleSessionName="pipeline")["Credentials"]
    assumed = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                    aws_secret_access_key=creds["SecretAccessKey"],
                                    aws_session_token=creds["SessionToken"])
    return lambda service: assumed.client(service, region_name=region, endpoint_url=endpoint, config=bounded)


def stage_template(synth: CrossRegionSynth, env: str) -> dict[str, Any]:
    (artifact,) = [s for s in synth.assembly.stacks_recursively if s.stack_name == stack_name(env)
                   and s.hierarchical_id.startswith(f"{PIPELINE_STACK}/")]
    template: dict[str, Any] = artifact.template
    return template


def bootstrap_region(aws: Any, account: str, region: str, template: dict[str, Any]) -> None:
    """What `cdk bootstrap` + the pipeline's asset step leave in an environment: the assets, the version."""
    from tests.synth.test_deploy_emulator import bootstrap

    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            bucket = resource["Properties"]["Code"]["S3Bucket"]  # the stage's environment is known: by name
            assert bucket == f"cdk-hnb659fds-assets-{account}-{region}", bucket
    bootstrap(aws, template, region)


@pytest.mark.slow
def test_the_stages_and_the_replication_store_deploy_into_their_accounts_and_region(
        cross_region: CrossRegionSynth, emulator_endpoint: str) -> None:
    from tests.synth.test_deploy_emulator import deploy, destroy

    pipeline_account = account_clients(emulator_endpoint, PIPELINE_ACCOUNT, STAGE_REGION)
    assert pipeline_account("sts").get_caller_identity()["Account"] == PIPELINE_ACCOUNT
    support = cross_region.assembly.get_stack_by_name(SUPPORT_STACK)
    deploy(pipeline_account, SUPPORT_STACK, support.template)
    (bucket,) = [r["Properties"]["BucketName"] for r in support.template["Resources"].values()
                 if r["Type"] == "AWS::S3::Bucket"]
    # The pipeline's artifact store for the region is there, under the name the pipeline uses.
    assert bucket in {b["Name"] for b in pipeline_account("s3").list_buckets()["Buckets"]}
    aliases = {a["AliasName"] for a in pipeline_account("kms").list_aliases()["Aliases"]}
    (store,) = [s["ArtifactStore"] for r in pipeline_template(cross_region)["Resources"].values()
                if r["Type"] == "AWS::CodePipeline::Pipeline" for s in r["Properties"]["ArtifactStores"]
                if s["Region"] == STAGE_REGION]
    assert store["Location"] == bucket and store["EncryptionKey"]["Id"].split(":", 5)[5] in aliases

    for env, account in (("dev", DEV_ACCOUNT), ("prod", PROD_ACCOUNT)):
        aws = account_clients(emulator_endpoint, account, STAGE_REGION)
        template = json.loads(json.dumps(stage_template(cross_region, env)))
        bootstrap_region(aws, account, STAGE_REGION, template)
        stack = deploy(aws, stack_name(env), template)
        assert stack["StackId"].startswith(f"arn:aws:cloudformation:{STAGE_REGION}:{account}:stack/")
        functions = {f["FunctionName"]: f["FunctionArn"] for f in aws("lambda").list_functions()["Functions"]}
        expected = {fn for fn in functions if fn.endswith(f"-{env}")}
        assert expected and set(functions) == expected  # the account holds this stage's functions only
        assert all(f":{STAGE_REGION}:{account}:function:" in functions[fn] for fn in expected)
        destroy(aws, stack_name(env))
