"""RewardFunction: one reward Lambda sized by the capacity model.

Python 3.13 on arm64, an explicit log group with retention (no LogRetention custom
resource), a least-privilege execution role (logs scoped to that log group; Bedrock
InvokeModel on exactly the judge model ARNs for RLAIF; for code functions only the
network-interface permissions of the sandbox's isolated subnets), reserved concurrency from the
capacity model, and an optional ``live`` alias carrying provisioned concurrency. It owns
its stack outputs (ARNs and paste-ready training-job fields), named ``<Name>FunctionArn``
etc. at the stack's top level.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, ArnFormat, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.code_sandbox import CodeSandboxNetwork
from stacks.config import EnvironmentConfig, RewardFunctionConfig
from stacks.config.observability import LOG_FORMAT

from .bundling import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME

LIVE_ALIAS = "live"

def judge_model_arns(scope: Construct, fn: RewardFunctionConfig) -> list[str]:
    """Bedrock resources the judge needs (AWS-FACTS section 4).

    Foundation model id -> the foundation-model ARN in the stack's region. Cross-region
    inference profile id ``<geo>.<model>`` -> the profile ARN in the stack's region plus the
    foundation model in every region the profile routes to.
    """
    assert fn.judge_model_id is not None
    stack = Stack.of(scope)
    if not fn.judge_is_inference_profile:
        return [
            stack.format_arn(service="bedrock", account="", resource="foundation-model",
                             resource_name=fn.judge_model_id, arn_format=ArnFormat.SLASH_RESOURCE_NAME)
        ]
    model = fn.judge_model_id.split(".", 1)[1]
    arns = [
        stack.format_arn(service="bedrock", resource="inference-profile", resource_name=fn.judge_model_id,
                         arn_format=ArnFormat.SLASH_RESOURCE_NAME)
    ]
    arns += [
        stack.format_arn(service="bedrock", region=region, account="", resource="foundation-model",
                         resource_name=model, arn_format=ArnFormat.SLASH_RESOURCE_NAME)
        for region in fn.judge_inference_profile_regions
    ]
    return arns


class RewardFunction(Construct):
    """One reward Lambda; ``invoke_arns`` are what training jobs may call."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentConfig,
        function: RewardFunctionConfig,
        code: lambda_.Code,
        network: CodeSandboxNetwork | None = None,
    ) -> None:
        """``network``: the code sandbox's, for functions that run generated code (required for them)."""
        super().__init__(scope, construct_id)
        if (function.kind == "code") != (network is not None):
            raise ValueError(f"{function.name}: a code function needs the sandbox network, and only it may have one")
        self.config = function

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/lambda/{function.function_name}",
            retention=logs.RetentionDays.INFINITE,  # replaced below by the validated number of days
        )
        # The allowed values are listed once, in stacks.config (validated there): set the number itself.
        log_group_resource = self.log_group.node.default_child
        assert isinstance(log_group_resource, logs.CfnLogGroup)
        log_group_resource.retention_in_days = environment.log_retention_days

        # Instead of AWSLambdaBasicExecutionRole: write to this function's log group only.
        statements = [
            iam.PolicyStatement(
                sid="WriteOwnLogGroup",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        ]
        if function.judge is not None:  # the spec needs a Bedrock judge
            statements.append(
                iam.PolicyStatement(
                    sid="InvokeJudgeModel",
                    actions=["bedrock:InvokeModel"],
                    resources=judge_model_arns(self, function),
                )
            )
        if network is not None:  # runs generated code: attach to the isolated subnets, nothing more
            statements += network.network_interface_statements()
        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {function.function_name}",
            inline_policies={"RewardFunction": iam.PolicyDocument(statements=statements)},
        )
        if network is not None:
            network.acknowledge_network_interface_statements(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function.function_name,
            description=f"Nova RFT reward function '{function.name}' ({function.kind}, {environment.name})",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=function.handler,
            code=code,
            memory_size=function.memory_mb,
            timeout=Duration.seconds(function.timeout_seconds),
            reserved_concurrent_executions=function.reserved_concurrency,
            environment=function.environment_variables(),
            log_group=self.log_group,
            role=self.role,
            tracing=lambda_.Tracing.ACTIVE if environment.tracing else lambda_.Tracing.DISABLED,
            **(network.function_options() if network is not None else {}),
            # Lambda's advanced logging controls (stacks.config.observability): JSON, so that
            # both levels filter; the defaults favour cost (see the README's "Log settings").
            logging_format=lambda_.LoggingFormat(LOG_FORMAT),
            application_log_level_v2=lambda_.ApplicationLogLevel(environment.application_log_level),
            system_log_level_v2=lambda_.SystemLogLevel(environment.system_log_level),
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="Pinned to python3.13 on purpose: the bundled wheels (pip --python-version 3.13) are "
                "built for CPython 3.13; moving to a newer runtime is a deliberate bump of both together",
            )
        )

        self.alias: lambda_.Alias | None = None
        if function.provisioned_concurrency is not None:
            self.alias = lambda_.Alias(
                self,
                "LiveAlias",
                alias_name=LIVE_ALIAS,
                version=self.function.current_version,
                provisioned_concurrent_executions=function.provisioned_concurrency,
            )

        if environment.tracing:
            # Active tracing adds the X-Ray statement to the role's DefaultPolicy; acknowledge it
            # there, so a "*" resource in the role's own inline policy is still reported.
            Validations.of(self.role.node.find_child("DefaultPolicy")).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level "
                    "permissions (added by the Lambda's active tracing)",
                )
            )

        self._add_outputs()

    def _add_outputs(self) -> None:
        """Paste-ready outputs, created at the stack's top level so their names do not change."""
        stack = Stack.of(self)
        fn = self.config
        p = fn.construct_name
        CfnOutput(stack, f"{p}FunctionArn", value=self.function.function_arn,
                  description=f"{fn.function_name} (unqualified function ARN)")
        CfnOutput(stack, f"{p}BedrockLambdaArn", value=self.invoke_arn,
                  description="rftConfig.graderConfig.lambdaGrader.lambdaArn")
        CfnOutput(stack, f"{p}BedrockGraderConfig",
                  value=stack.to_json_string({"graderConfig": {"lambdaGrader": {"lambdaArn": self.invoke_arn}}}),
                  description="rftConfig fragment for CreateModelCustomizationJob")
        CfnOutput(stack, f"{p}RecipeRewardLambdaArn", value=self.invoke_arn,
                  description="SageMaker Nova RFT recipe: run.reward_lambda_arn")
        CfnOutput(stack, f"{p}LambdaConcurrencyLimit", value=str(fn.reserved_concurrency),
                  description="SageMaker Nova RFT recipe: lambda_concurrency_limit (= reserved concurrency)")
        CfnOutput(
            stack,
            f"{p}SageMakerRecipeFields",
            value=stack.to_json_string({
                "run.reward_lambda_arn": self.invoke_arn,
                "lambda_concurrency_limit": fn.reserved_concurrency,
            }),
            description="SageMaker Nova RFT recipe fields (paste into the recipe YAML)",
        )

    @property
    def invoke_arn(self) -> str:
        """ARN training jobs should call: the ``live`` alias when it exists (provisioned
        concurrency applies only there), else the function."""
        return self.alias.function_arn if self.alias else self.function.function_arn

    @property
    def invoke_arns(self) -> list[str]:
        """Every ARN a training role may invoke: the function and, if any, the alias."""
        arns = [self.function.function_arn]
        if self.alias:
            arns.append(self.alias.function_arn)
        return arns
