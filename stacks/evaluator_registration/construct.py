"""EvaluatorRegistration: one custom-resource provider per stack, one Evaluator per reward function.

CloudFormation has no resource for SageMaker AI Evaluators, so a ``custom_resources.Provider``
runs ``lambdas/evaluator_registration/handler.py`` (``on_event``) for each registration: it
creates the account's AI-registry hub when missing, imports the evaluator (a new version when
its Lambda ARN, name or description changes) and deletes every version with the stack.

The handler has its own asset (only ``evaluator_registration`` and its pinned boto3), never
shipped inside the reward functions. Its role may call exactly the operations the wire module
builds, on hubs and hub content of this stack's account and region only; the Provider
framework's own function gets a role of ours (its log group, and invoking the handler).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, ArnFormat, CfnOutput, CustomResource, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from evaluator_registration import ai_registry, properties
from stacks.lambda_assets import ASSETS
from stacks.lambda_plumbing import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    acknowledge_pinned_runtime,
    asset_code_options,
    execution_role,
    log_group,
    write_own_log_group,
)
from stacks.nag import acknowledge_iam5_resource

PACKAGE = "evaluator_registration"
HANDLER = "evaluator_registration.handler.on_event"
# Bounds the handler, not CloudFormation: every SageMaker call gives up after 4 attempts
# (~25 s each at worst) and an import is awaited at most 60 s, so a stuck call fails the
# resource within minutes with the error, instead of CloudFormation's hour-long wait.
HANDLER_TIMEOUT = Duration.minutes(5)
SAGEMAKER_ACTIONS = sorted(f"sagemaker:{operation}" for operation in ai_registry.OPERATIONS)


def handler_code_options(lambdas_dir: Path) -> dict[str, Any]:
    """``Code.from_asset(str(lambdas_dir), **options)`` for the handler's own asset: only the
    ``evaluator_registration`` package and its locked boto3 (``lambdas/locks/evaluator_registration.txt``,
    bundled by ``make synth``). Built once per app and shared by every stack, so CDK stages the asset once."""
    return asset_code_options(lambdas_dir, ASSETS[PACKAGE])


class EvaluatorRegistration(Construct):
    """The provider; ``register`` adds one Evaluator (and its stack output) per reward function."""

    def __init__(self, scope: Construct, construct_id: str, *, code: lambda_.Code, log_retention_days: int,
                 retain_logs: bool = True) -> None:
        """``retain_logs``: the environment's log-group removal policy (``log_group_removal_policy``)."""
        super().__init__(scope, construct_id)
        self.log_retention_days = log_retention_days
        self.retain_logs = retain_logs
        self.handler_role, handler_logs = self._build_handler_role()
        self.handler = self._build_handler(code, handler_logs)
        self.provider = self._build_provider()
        self.evaluators: dict[str, CustomResource] = {}

    def _build_handler_role(self) -> tuple[iam.Role, logs.LogGroup]:
        """The handler's own log group, and exactly the AI-registry operations the handler calls."""
        stack = Stack.of(self)
        # Unnamed (CloudFormation names it): a retained group never collides with a redeploy.
        handler_logs = log_group(self, "HandlerLogGroup", retention_days=self.log_retention_days,
                                 retain=self.retain_logs)
        registry_arns = [
            stack.format_arn(service="sagemaker", resource="hub", resource_name="*",
                             arn_format=ArnFormat.SLASH_RESOURCE_NAME),
            stack.format_arn(service="sagemaker", resource="hub-content", resource_name="*",
                             arn_format=ArnFormat.SLASH_RESOURCE_NAME),
        ]
        role = execution_role(
            self, "HandlerRole", description="Registers this stack's reward functions as SageMaker AI Evaluators",
            policy_name="EvaluatorRegistration", statements=[
                write_own_log_group(handler_logs),
                iam.PolicyStatement(sid="ManageEvaluators", actions=SAGEMAKER_ACTIONS, resources=registry_arns),
            ],
        )
        for arn in registry_arns:
            acknowledge_iam5_resource(
                role, arn,
                "The AI-registry hub's name is a sha256 of the account and region computed by the handler "
                "(not known at synth for environment-agnostic stacks) and evaluator names carry versions: "
                "scoped to SageMaker hubs and hub content of this account and region, for exactly the "
                "hub operations the handler calls",
            )
        return role, handler_logs

    def _build_handler(self, code: lambda_.Code, handler_logs: logs.LogGroup) -> lambda_.Function:
        handler = lambda_.Function(
            self,
            "Handler",
            description="Registers reward functions as SageMaker AI Evaluators (custom resource)",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=HANDLER,
            code=code,
            memory_size=256,
            timeout=HANDLER_TIMEOUT,
            role=self.handler_role,
            log_group=handler_logs,
        )
        acknowledge_pinned_runtime(handler)
        return handler

    def _build_provider(self) -> cr.Provider:
        """CDK's Provider framework, with a role and log group of ours."""
        framework_logs = log_group(self, "ProviderLogGroup", retention_days=self.log_retention_days,
                                   retain=self.retain_logs)
        framework_role = execution_role(
            self, "ProviderRole", description="CDK custom-resource Provider framework for the Evaluator registrations",
            policy_name="ProviderLogs", statements=[write_own_log_group(framework_logs)],
        )
        provider = cr.Provider(self, "Provider", on_event_handler=self.handler,
                               framework_on_event_role=framework_role, log_group=framework_logs)
        # grant_invoke adds the handler and "<handler>:*" (its versions) to the framework's role.
        acknowledge_iam5_resource(
            framework_role.node.find_child("DefaultPolicy"), f"{self.handler.function_arn}:*",
            "Added by the CDK Provider framework (Function.grantInvoke): invoking the evaluator-registration "
            "handler's own versions and aliases only",
        )
        Validations.of(provider.node.find_child("framework-onEvent")).acknowledge(Acknowledgment(
            id="AwsSolutions-L1",
            reason="The CDK Provider framework's own Node.js function: aws-cdk-lib chooses and updates its "
            "runtime (bumped with aws-cdk-lib), this project does not set it",
        ))
        return provider

    def register(self, key: str, *, lambda_arn: str, name: str, description: str,
                 studio_domain_id: str | None = None) -> CustomResource:
        """One Evaluator for the function whose invoke ARN is ``lambda_arn``; ``key`` (PascalCase)
        names the resource and the ``<key>EvaluatorArn`` stack output; ``studio_domain_id``: the
        Studio domain whose users see it (its ``@domain:<id>`` search keyword)."""
        resource = CustomResource(
            self,
            f"{key}Evaluator",
            service_token=self.provider.service_token,
            resource_type=properties.RESOURCE_TYPE,
            properties={
                properties.PROP_EVALUATOR_NAME: name,
                properties.PROP_DESCRIPTION: description,
                properties.PROP_LAMBDA_ARN: lambda_arn,
                **({properties.PROP_DOMAIN_ID: studio_domain_id} if studio_domain_id else {}),
            },
        )
        # At the stack's top level, next to <key>FunctionArn.
        CfnOutput(
            Stack.of(self),
            f"{key}EvaluatorArn",
            value=resource.get_att_string(properties.ATTR_EVALUATOR_ARN),
            description=f"SageMaker AI Evaluator {name} (current version): ServerlessJobConfig.EvaluatorArn, "
            "SageMaker SDK custom_reward_function",
        )
        self.evaluators[key] = resource
        return resource
