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

from .post_deploy import PostDeployCheckAccess, post_deploy_step

ROOT = Path(__file__).resolve().parents[2]
# The README's two commands: everything a fresh machine needs, then the same checks as a developer's.
SYNTH_COMMANDS = ("make synth", "make test")
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
RUNTIME_VERSIONS = {"python": "3.11", "nodejs": "20"}


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
_READ_ONLY_STAR = {"cloudformation:DescribeStacks", "s3:ListBucket"}
_ASSET_BUILDS_STAR = {"codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"}
_BOOTSTRAP_ROLES = ["image-publishing", "file-publishing", "deploy"]


def _resource_reason(rendered: str, statement: dict[str, Any], artifacts: list[str]) -> str:
    actions = set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    if any(rendered == f"<{a}.Arn>/*" for a in artifacts):
        return "Objects of the pipeline's own artifact bucket (CDK Pipelines' artifact grant); keys are per execution"
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


def acknowledge_pipeline_findings(stack: DeliveryPipelineStack) -> None:
    """Acknowledge, finding by finding and policy by policy, the wildcards of the roles CDK
    Pipelines generates (their statements are the module's, not ours), and the artifact bucket's
    access logs; anything else cdk-nag reports still fails the synth."""
    bucket = stack.pipeline.pipeline.artifact_bucket
    bucket_resource = bucket.node.default_child
    assert isinstance(bucket_resource, s3.CfnBucket)
    artifacts = [stack.get_logical_id(bucket_resource)]
    if bucket.encryption_key is not None and bucket.encryption_key.node.default_child is not None:
        artifacts.append(stack.get_logical_id(bucket.encryption_key.node.default_child))  # type: ignore[arg-type]
    Validations.of(bucket_resource).acknowledge(Acknowledgment(
        id="AwsSolutions-S1",
        reason="CDK Pipelines' artifact bucket holds only build outputs, written and read by the pipeline's own "
        "roles; access is audited through CloudTrail (enable S3 data events in the organization trail)",
    ))
    # Only the pipeline stack's own policies (its stages' stacks are children of it, with their own).
    for policy in [c for c in stack.node.find_all() if isinstance(c, iam.CfnPolicy) and Stack.of(c) is stack]:
        document = stack.resolve(policy.policy_document)
        found: dict[str, str] = {}
        for statement in document["Statement"]:
            found.update(_statement_findings(statement, artifacts, policy.node.path))
        for rule_id, reason in found.items():
            Validations.of(policy).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statement_findings(statement: dict[str, Any], artifacts: list[str], where: str) -> dict[str, str]:
    """cdk-nag rule id -> reason, for every wildcard action and resource of one statement; a
    wildcard none of the known reasons covers raises (review it before acknowledging it)."""
    resources = _as_list(statement["Resource"])
    # Only resources with a wildcard are findings (others may use intrinsics cdk-nag never renders).
    rendered = [render_finding_resource(r) for r in resources if "*" in json.dumps(r)]
    found: dict[str, str] = {}
    for action in (a for a in _as_list(statement["Action"]) if "*" in a):
        if action not in _ARTIFACT_ACTIONS or not all(
                any(f'"{a}"' in json.dumps(r) for a in artifacts) for r in resources):
            raise ValueError(f"unexpected wildcard action {action!r} on {rendered} in {where}")
        found[f"AwsSolutions-IAM5[Action::{action}]"] = _ARTIFACT_ACTION_REASON
    for resource in (r for r in rendered if "*" in r):
        found[f"AwsSolutions-IAM5[Resource::{resource}]"] = _resource_reason(resource, statement, artifacts)
    return found
