"""DeliveryPipeline: promote one commit through the environments in order (CDK Pipelines).

Source: a CodeConnections connection to the repository and branch in ``context.pipeline``.
Synth: the README's two commands (``make synth``: bundles, cdk-nag, cfn-lint, bundle checks;
``make test``) in CodeBuild; ``cdk.out`` is what every stage deploys. One stage per environment
in ``pipeline.stages`` order, each deploying the same ``RewardStack`` as ``make deploy`` does
(same stack name, so an environment deployed by hand can be handed over to the pipeline), into
the environment's own account through the CDK bootstrap roles it trusts the pipeline account
with; a manual approval before every environment marked ``production``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from aws_cdk import (
    Acknowledgment,
    DefaultStackSynthesizer,
    Environment,
    IStackSynthesizer,
    Stack,
    Stage,
    Validations,
    pipelines,
)
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.region_info import RegionInfo
from constructs import Construct

from stacks.config import EnvironmentConfig, PipelineConfig
from stacks.nag import render_finding_resource
from stacks.node_runtime import required_major

from .post_deploy import PostDeployCheckAccess, post_deploy_step

ROOT = Path(__file__).resolve().parents[2]
# The README's two commands: everything a fresh machine needs, then the same checks as a developer's.
SYNTH_COMMANDS = ("make synth", "make test")
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
# The Node LTS package.json pins (engines), as the README asks of every machine.
RUNTIME_VERSIONS = {"python": "3.11", "nodejs": str(required_major())}


def cli_version() -> str:
    """The CDK CLI the pipeline's self-update and asset steps install: the one package.json pins."""
    return str(json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"]["aws-cdk"])


BuildStack = Callable[[Construct, EnvironmentConfig, IStackSynthesizer | None], Stack]


def stage_synthesizer(region: str) -> DefaultStackSynthesizer:
    """The default bootstrap roles, with the partition written out: CodePipeline's CloudFormation
    action takes the execution role ARN as a plain string (cfn-lint E3703 rejects Fn::Join there)."""
    partition = RegionInfo.get(region).partition or "aws"
    return DefaultStackSynthesizer(
        cloud_formation_execution_role=(
            f"arn:{partition}:iam::${{AWS::AccountId}}:role/cdk-${{Qualifier}}-cfn-exec-role-"
            "${AWS::AccountId}-${AWS::Region}"
        ),
    )


class EnvironmentStage(Stage):
    """One environment's stack inside the pipeline, in the environment's account and region."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig,
                 build_stack: BuildStack) -> None:
        assert config.region is not None
        super().__init__(scope, construct_id, env=Environment(account=config.account, region=config.region))
        self.stack = build_stack(self, config, stage_synthesizer(config.region))


class DeliveryPipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        environments: dict[str, EnvironmentConfig],
        build_stack: BuildStack,
    ) -> None:
        """``build_stack(scope, env)`` adds one environment's stack (the app builder's own)."""
        super().__init__(
            scope, construct_id,
            env=Environment(account=config.account, region=config.region),
            description=f"Nova RFT reward functions: delivery pipeline ({' -> '.join(config.stages)})",
        )
        self.config = config
        self.source = pipelines.CodePipelineSource.connection(
            config.repository, config.branch, connection_arn=config.connection_arn,
            trigger_on_push=True,
        )
        self.pipeline = self._build_pipeline(construct_id)
        self.stages: dict[str, EnvironmentStage] = {}
        for name in config.stages:
            self.stages[name] = self._add_stage(name, environments[name], build_stack)
        # Build now so the generated roles and policies exist for their acknowledgements.
        self.pipeline.build_pipeline()
        acknowledge_pipeline_findings(self)
        # Its own tags and permissions boundary: applied by the app builder (stacks.guardrails).

    def _build_pipeline(self, pipeline_name: str) -> pipelines.CodePipeline:
        """The synth step runs the README's two commands; ``cdk.out`` is what every stage deploys."""
        synth = pipelines.CodeBuildStep(
            "Synth",
            input=self.source,
            commands=list(SYNTH_COMMANDS),
            primary_output_directory="cdk.out",
            build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
            partial_build_spec=_install_phase(),
        )
        return pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            synth=synth,
            pipeline_type=codepipeline.PipelineType.V2,
            cross_account_keys=True,  # stages in other accounts read the artifacts with this key
            enable_key_rotation=True,
            cli_version=cli_version(),
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
            ),
        )

    def _add_stage(self, name: str, env: EnvironmentConfig, build_stack: BuildStack) -> EnvironmentStage:
        """One environment: an approval first when it is production, the post-deploy check after."""
        stage = EnvironmentStage(self, f"Deploy-{name}", config=env, build_stack=build_stack)
        pre: list[pipelines.Step] = []
        if env.production:
            pre.append(pipelines.ManualApprovalStep(
                f"Approve-{name}",
                comment=f"Promote to production environment '{name}' (account {env.account}, {env.region})?",
            ))
        # After the deploy: the new live versions on their example data (stacks/pipeline/post_deploy.py).
        PostDeployCheckAccess(stage.stack, "PostDeployCheckAccess", pipeline_account=self.config.account,
                              pipeline_stack_name=self.stack_name,
                              function_arns=[rf.function.function_arn
                                             for rf in getattr(stage.stack, "reward_functions", {}).values()])
        check = post_deploy_step(env, stage.stack.stack_name, self.source,
                                 codebuild.BuildEnvironment(build_image=BUILD_IMAGE), _install_phase())
        self.pipeline.add_stage(stage, pre=pre, post=[check])
        return stage


def _install_phase() -> codebuild.BuildSpec:
    return codebuild.BuildSpec.from_object({"phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}}})


# Wildcards CDK Pipelines' generated roles carry, each with why it is there. A wildcard that
# matches none of these fails the synth (it is new: look at it before acknowledging it).
_ARTIFACT_ACTIONS = {
    "s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*",
    "kms:GenerateDataKey*", "kms:ReEncrypt*",
}
_ARTIFACT_ACTION_REASON = (
    "CDK Pipelines' read/write grant (Bucket.grantReadWrite, Key.grantEncryptDecrypt action groups) on the "
    "pipeline's own artifact bucket and its cross-account artifact key; the statement's resources are only those"
)
_REPLICATION_REASON = (
    ", and CodePipeline's replication bucket and key in each other region a stage deploys to (cross-region "
    "support stacks)"
)
_READ_ONLY_STAR = {"cloudformation:DescribeStacks", "s3:ListBucket"}
_ASSET_BUILDS_STAR = {"codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"}
_BOOTSTRAP_ROLES = ["image-publishing", "file-publishing", "deploy"]


def _resource_reason(rendered: str, statement: dict[str, Any], stores: ArtifactStores) -> str:
    actions = set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    if any(rendered == f"<{a}.Arn>/*" for a in stores.logical_ids):
        return "Objects of the pipeline's own artifact bucket (CDK Pipelines' artifact grant); keys are per execution"
    if any(rendered == f"{arn}/*" for arn in stores.replication_bucket_arns):
        return ("Objects of the pipeline's replication bucket in a stage's region (CodePipeline's cross-region "
                "support stack): artifacts copied there for that region's actions; keys are per execution")
    if rendered == "*" and stores.replication_key_arns and all(a.startswith("kms:") for a in actions):
        return ("The replication buckets' keys in the stages' other regions (CodePipeline's cross-region support "
                "stacks): their key ids are generated there and unknown to this stack, so CDK grants these "
                "encrypt/decrypt actions on '*' (effective on the pipeline account's keys whose policy delegates "
                "to IAM: the README says so)")
    if ":log-group:/aws/codebuild/" in rendered:
        return ("Log streams of the CDK Pipelines CodeBuild projects (one stream per build, named by CodeBuild); "
                "the asset-publishing role is shared by the generated asset projects, whose names it cannot list")
    if ":report-group/" in rendered:
        return ("Test report groups of the CDK Pipelines CodeBuild projects (named <project>-<report> by CodeBuild); "
                "granted by CodeBuild's default project role policy")
    if rendered.endswith(":role/*") and actions == {"sts:AssumeRole"} and _BOOTSTRAP_ROLES == (
        statement.get("Condition", {}).get("ForAnyValue:StringEquals", {}).get("iam:ResourceTag/aws-cdk:bootstrap-role")
    ):
        return ("sts:AssumeRole only on roles tagged as CDK bootstrap roles (deploy, file- and image-publishing): "
                "the self-mutation step deploys the pipeline stack through them")
    if rendered == "*" and actions <= _READ_ONLY_STAR:
        return ("The CDK CLI in the self-mutation step reads stack status and lists the bootstrap bucket "
                "(cloudformation:DescribeStacks, s3:ListBucket: read only)")
    if rendered == "*" and actions <= _ASSET_BUILDS_STAR:
        return ("The asset-publishing step starts and watches the CodeBuild projects CDK Pipelines generates "
                "(one per asset, named at synth by the module)")
    raise ValueError(f"unexpected wildcard resource {rendered!r} for {sorted(actions)} in the pipeline: review it")


@dataclass(frozen=True)
class ArtifactStores:
    """Where the pipeline keeps artifacts: its own bucket and key (by logical id) and, for stages in
    other regions than the pipeline, CodePipeline's replication bucket and key in each of those regions
    (cross-region support stacks; referenced from the pipeline stack by literal name and alias ARN)."""

    logical_ids: tuple[str, ...]
    replication_bucket_arns: tuple[str, ...]
    replication_key_arns: tuple[str, ...]

    def holds(self, resource: Any, actions: list[str]) -> bool:
        text = json.dumps(resource)
        if any(f'"{a}"' in text for a in self.logical_ids):
            return True
        if any(text.strip('"') in (arn, f"{arn}/*") for arn in self.replication_bucket_arns):
            return True
        # CDK's grant on a key in another region is on '*' (see _resource_reason).
        return resource == "*" and bool(self.replication_key_arns) and all(a.startswith("kms:") for a in actions)


def artifact_stores(stack: DeliveryPipelineStack) -> ArtifactStores:
    pipeline = stack.pipeline.pipeline
    bucket = pipeline.artifact_bucket
    bucket_resource = bucket.node.default_child
    assert isinstance(bucket_resource, s3.CfnBucket)
    logical_ids = [stack.get_logical_id(bucket_resource)]
    if bucket.encryption_key is not None and bucket.encryption_key.node.default_child is not None:
        logical_ids.append(stack.get_logical_id(bucket.encryption_key.node.default_child))  # type: ignore[arg-type]
    buckets, keys = [], []
    for support in pipeline.cross_region_support.values():
        buckets.append(str(stack.resolve(support.replication_bucket.bucket_arn)))
        if support.replication_bucket.encryption_key is not None:
            keys.append(str(stack.resolve(support.replication_bucket.encryption_key.key_arn)))
    return ArtifactStores(tuple(logical_ids), tuple(buckets), tuple(keys))


def acknowledge_pipeline_findings(stack: DeliveryPipelineStack) -> None:
    """Acknowledge, finding by finding and policy by policy, the wildcards of the roles CDK
    Pipelines generates (their statements are the module's, not ours), and the artifact buckets'
    access logs; anything else cdk-nag reports still fails the synth."""
    stores = artifact_stores(stack)
    pipeline = stack.pipeline.pipeline
    Validations.of(pipeline.artifact_bucket).acknowledge(Acknowledgment(
        id="AwsSolutions-S1",
        reason="CDK Pipelines' artifact bucket holds only build outputs, written and read by the pipeline's own "
        "roles; access is audited through CloudTrail (enable S3 data events in the organization trail)",
    ))
    for support in pipeline.cross_region_support.values():
        Validations.of(support.replication_bucket).acknowledge(Acknowledgment(
            id="AwsSolutions-S1",
            reason="CodePipeline's replication bucket for stages in this region holds only copies of the pipeline's "
            "build outputs, written and read by the pipeline's own roles; access is audited through CloudTrail",
        ))
    action_reason = _ARTIFACT_ACTION_REASON + (_REPLICATION_REASON if stores.replication_bucket_arns else "")
    # Only the pipeline stack's own policies (its stages' stacks are children of it, with their own).
    for policy in [c for c in stack.node.find_all() if isinstance(c, iam.CfnPolicy) and Stack.of(c) is stack]:
        document = stack.resolve(policy.policy_document)
        found: dict[str, str] = {}
        for statement in document["Statement"]:
            found.update(_statement_findings(statement, stores, policy.node.path, action_reason))
        for rule_id, reason in found.items():
            Validations.of(policy).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement_findings(statement: dict[str, Any], stores: ArtifactStores, where: str,
                        action_reason: str) -> dict[str, str]:
    """cdk-nag rule id -> reason, for every wildcard action and resource of one statement; a
    wildcard none of the known reasons covers raises (review it before acknowledging it)."""
    actions = _as_list(statement["Action"])
    resources = _as_list(statement["Resource"])
    # Only resources with a wildcard are findings (others may use intrinsics cdk-nag never renders).
    rendered = [render_finding_resource(r) for r in resources if "*" in json.dumps(r)]
    found: dict[str, str] = {}
    for action in (a for a in actions if "*" in a):
        if action not in _ARTIFACT_ACTIONS or not all(stores.holds(r, actions) for r in resources):
            raise ValueError(f"unexpected wildcard action {action!r} on {rendered} in {where}")
        found[f"AwsSolutions-IAM5[Action::{action}]"] = action_reason
    for resource in (r for r in rendered if "*" in r):
        found[f"AwsSolutions-IAM5[Resource::{resource}]"] = _resource_reason(resource, statement, stores)
    return found
