"""CodeExecutor: the one Lambda per environment that runs the code functions' programs.

The grader (a code reward function) sends it one sample's program and test inputs, never the
expected outputs, and judges the raw results itself; the program runs in another execution
environment than the grader's, so it cannot see the grader, the references or other samples.
What the program can reach from there:
- the network: nothing (``CodeSandboxNetwork``: isolated subnets, no route, no endpoint, no
  DNS, a security group that lets nothing through);
- AWS: nothing. The role holds its log-group write and the network-interface permissions
  Lambda uses to attach the function to the subnets, and a Deny of every one of those
  network-interface actions when ``lambda:SourceFunctionArn`` is this function (Lambda adds
  that key to every call made from inside the execution environment, not to the ENI calls
  it makes itself: Lambda guide, "Using source function ARN to control function access
  behavior"). The log write cannot be denied that way (Lambda's own log delivery carries the
  key), and it is harmless: the code has no route to CloudWatch Logs and could only write to
  this function's own group, as its stdout already does;
- no environment variables (so no KMS key either), no tracing (no X-Ray permissions).

Every version is retained: a grader version pinned by a training job keeps the executor
version it was deployed with (it receives that version's ARN in ``CODE_EXECUTOR_FUNCTION``).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from reward_kit import names
from stacks.config import EnvironmentConfig
from stacks.lambda_plumbing import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    acknowledge_pinned_runtime,
    execution_role,
    function_arn,
    log_group,
    log_settings,
    write_own_log_group,
)
from stacks.nag import acknowledge_iam5_resource

from .construct import ENI_ACTIONS, ENI_DESCRIBE_ACTIONS, CodeSandboxNetwork

HANDLER = "code_sandbox.handler.handler"  # lambdas/code_sandbox, asset "code_sandbox"
SOURCE_FUNCTION_ARN = "lambda:SourceFunctionArn"


def deny_to_function_code(sid: str, actions: list[str], function_arn: str) -> iam.PolicyStatement:
    """Deny ``actions`` to calls made from inside ``function_arn``'s execution environments.

    Lambda's own calls on the function's behalf (the VPC network interfaces) do not carry
    ``lambda:SourceFunctionArn``, so they still work; the function's code can use none of
    them, whatever it finds in its environment. The key holds the function's ARN; a qualified
    form is matched too, in case a version or alias ever appears there.
    """
    return iam.PolicyStatement(
        sid=sid,
        effect=iam.Effect.DENY,
        actions=actions,
        resources=["*"],
        conditions={"ArnLike": {SOURCE_FUNCTION_ARN: [function_arn, f"{function_arn}:*"]}},
    )


def network_interface_denial(function_arn: str) -> iam.PolicyStatement:
    """The Deny every role of a code function carries: no network-interface action from its code."""
    return deny_to_function_code("NoNetworkInterfacesFromFunctionCode",
                                 sorted([*ENI_ACTIONS, *ENI_DESCRIBE_ACTIONS]), function_arn)


class CodeExecutor(Construct):
    """The executor Lambda in the sandbox network; ``invoke_arn`` is what the graders call."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: EnvironmentConfig,
        network: CodeSandboxNetwork,
        code: lambda_.Code,
    ) -> None:
        super().__init__(scope, construct_id)
        self.environment = environment
        self.function_name = environment.executor_function_name
        self.function_arn = function_arn(self, self.function_name)
        self.log_group = log_group(self, "LogGroup", retention_days=environment.log_retention_days,
                                   retain=environment.deployment.retain_log_groups, function_name=self.function_name)
        self.role = execution_role(
            self, "ExecutionRole", description=f"Execution role of {self.function_name}: nothing its code can use",
            policy_name="CodeExecutor", statements=[
                write_own_log_group(self.log_group),
                *network.network_interface_statements(),
                network_interface_denial(self.function_arn),
            ],
        )
        network.acknowledge_network_interface_statements(self.role)
        self.function = self._build_function(code, network)
        self.version = self.function.current_version
        CfnOutput(Stack.of(self), "CodeExecutorVersionArn", value=self.invoke_arn,
                  description=f"{self.function_name}: the version the code functions of this deploy invoke "
                  f"({names.CODE_EXECUTOR_FUNCTION_ENV})")

    def _build_function(self, code: lambda_.Code, network: CodeSandboxNetwork) -> lambda_.Function:
        environment = self.environment
        executor = environment.code_sandbox.executor
        assert executor.timeout_seconds is not None, "resolved by stacks.config (resolve_executor)"
        function = lambda_.Function(
            self,
            "Function",
            function_name=self.function_name,
            description=f"Runs the programs of the code reward functions ({environment.name}): isolated subnets, "
            "no route, no DNS, a role its code cannot use",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=HANDLER,
            code=code,
            memory_size=executor.memory_mb,
            timeout=Duration.seconds(executor.timeout_seconds),
            reserved_concurrent_executions=environment.executor_reserved_concurrency,
            log_group=self.log_group,
            role=self.role,
            tracing=lambda_.Tracing.DISABLED,  # X-Ray would add permissions its code could use
            **log_settings(environment),
            current_version_options=lambda_.VersionOptions(
                description=f"code executor ({environment.name})", removal_policy=RemovalPolicy.RETAIN,
            ),
            **network.function_options(),
        )
        acknowledge_pinned_runtime(function)
        return function

    @property
    def invoke_arn(self) -> str:
        """The version this deploy published: what this deploy's graders receive and invoke."""
        return self.version.function_arn

    @property
    def qualified_arns(self) -> str:
        """Every version of the executor (``<function ARN>:*``), no other function."""
        return f"{self.function_arn}:*"

    def grader_statements(self, grader_function_arn: str) -> list[iam.PolicyStatement]:
        """A code reward function's role: invoke this executor (any of its versions: a grader
        version pinned by a training job calls the executor version it was deployed with) and
        nothing else of Lambda; no network-interface action from its code."""
        return [
            iam.PolicyStatement(sid="InvokeCodeExecutor", actions=["lambda:InvokeFunction"],
                                resources=[self.qualified_arns]),
            network_interface_denial(grader_function_arn),
        ]

    def grader_environment(self) -> dict[str, str]:
        return {names.CODE_EXECUTOR_FUNCTION_ENV: self.invoke_arn}

    def acknowledge_grader_statements(self, role: iam.IRole) -> None:
        acknowledge_iam5_resource(
            role,
            self.qualified_arns,
            "lambda:InvokeFunction on the versions of this environment's code executor only: a grader version "
            "pinned by a training job invokes the executor version deployed with it, which later deploys retain",
        )
