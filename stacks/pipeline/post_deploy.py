"""The check after each pipeline stage's deploy: invoke every reward function's new live
version with its example data (``ops/post_deploy.py``, ``make post-deploy-check``).

The check runs in a CodeBuild step of the pipeline account; the functions live in the
environment's account. The stage's stack gets one more role, ``PostDeployCheckAccess``: it
may only read the stack's outputs and invoke (and read the configuration of) the stack's
reward functions' versions, and only roles of the pipeline stack in the pipeline account may
assume it. Its name is fixed (derived from the stack name) because the step's policy in the
pipeline account must name it before the stage first deploys it.
"""

from __future__ import annotations

import hashlib

from aws_cdk import ArnFormat, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from aws_cdk.region_info import RegionInfo
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.nag import acknowledge_iam5_resource

ROLE_NAME_MAX = 64
ROLE_SUFFIX = "post-deploy-check"


def check_role_name(stack_name: str) -> str:
    """``<stack name>-post-deploy-check``; shortened with a hash of the stack name past 64 characters."""
    name = f"{stack_name}-{ROLE_SUFFIX}"
    if len(name) <= ROLE_NAME_MAX:
        return name
    digest = hashlib.sha256(stack_name.encode()).hexdigest()[:8]
    return f"{stack_name[:ROLE_NAME_MAX - len(ROLE_SUFFIX) - 10]}-{digest}-{ROLE_SUFFIX}"


def check_role_arn(env: EnvironmentConfig, stack_name: str) -> str:
    assert env.account is not None and env.region is not None  # pipeline stages set both
    partition = RegionInfo.get(env.region).partition or "aws"
    return f"arn:{partition}:iam::{env.account}:role/{check_role_name(stack_name)}"


class PostDeployCheckAccess(Construct):
    """In the environment's stack: the role the pipeline's post-deploy check assumes."""

    def __init__(self, scope: Construct, construct_id: str, *, pipeline_account: str, pipeline_stack_name: str,
                 function_arns: list[str]) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        stack_arn = stack.format_arn(service="cloudformation", resource="stack",
                                     resource_name=f"{stack.stack_name}/*", arn_format=ArnFormat.SLASH_RESOURCE_NAME)
        qualified = [f"{arn}:*" for arn in function_arns]
        self.role = iam.Role(
            self, "Role",
            role_name=check_role_name(stack.stack_name),
            assumed_by=iam.AccountPrincipal(pipeline_account).with_conditions({
                "ArnLike": {"aws:PrincipalArn": f"arn:{stack.partition}:iam::{pipeline_account}:role/"
                            f"{pipeline_stack_name}-*"},
            }),
            description="The delivery pipeline's post-deploy check: invoke this stack's reward functions' versions",
            inline_policies={"PostDeployCheck": iam.PolicyDocument(statements=[
                iam.PolicyStatement(sid="ReadOutputs", actions=["cloudformation:DescribeStacks"],
                                    resources=[stack_arn]),
                # A stage without reward functions (a stack built by hand) has nothing to invoke.
                *([iam.PolicyStatement(sid="InvokeRewardVersions",
                                       actions=["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"],
                                       resources=qualified)] if qualified else []),
            ])},
        )
        acknowledge_iam5_resource(self.role, stack_arn,
                                  "This stack only (its id suffix is generated when it is created): DescribeStacks "
                                  "reads the outputs naming the live versions")
        for arn in qualified:
            acknowledge_iam5_resource(self.role, arn,
                                      "Versions of one reward function of this stack: the check invokes the version "
                                      "the deploy just published, whose number is not known before it")


def post_deploy_step(env: EnvironmentConfig, stack_name: str, source: pipelines.IFileSetProducer,
                     build_environment: codebuild.BuildEnvironment,
                     partial_build_spec: codebuild.BuildSpec) -> pipelines.CodeBuildStep:
    """The CodeBuild step after the stage's deploy (from the repository: ops/, examples/, cdk.json)."""
    role_arn = check_role_arn(env, stack_name)
    return pipelines.CodeBuildStep(
        f"PostDeployCheck-{env.name}",
        input=source,
        commands=[f'make post-deploy-check ENV={env.name} ARGS="--role-arn {role_arn}"'],
        build_environment=build_environment,
        partial_build_spec=partial_build_spec,
        role_policy_statements=[iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[role_arn])],
    )
