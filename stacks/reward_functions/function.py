"""RewardFunction: one versioned reward Lambda sized by the capacity model.

Python 3.13 on arm64, an explicit log group with retention (no LogRetention custom
resource) and the environment's removal policy, a least-privilege execution role (logs
scoped to that log group; Bedrock InvokeModel on exactly the judge model ARNs for RLAIF; for
code functions InvokeFunction on exactly the environment's code executor, whose version ARN
they get in ``CODE_EXECUTOR_FUNCTION``), reserved concurrency from the capacity model.

Versions: every deploy that changes the function's code or configuration (the reward spec
is its ``REWARD_SPEC`` variable) publishes a new Lambda version whose description carries the
spec hash (``reward_kit.spec.spec_hash``, the one the dry run prints). Old versions are
retained (``RemovalPolicy.RETAIN``), so a training job started with a version-qualified ARN
keeps its reward for its whole life. The ``live`` alias follows the latest version, or the
version named by ``live_version`` (a rollback is that one config change), and carries the
provisioned concurrency when configured. The construct owns its stack outputs, named
``<Name>VersionArn`` etc. at the stack's top level.
"""

from __future__ import annotations

from typing import Protocol

from aws_cdk import Acknowledgment, ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from reward_kit import names
from stacks.config import EnvironmentConfig, RewardFunctionConfig
from stacks.config.judge import is_global_profile_id
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

from .live_version import live_spec_hash

LIVE_ALIAS = names.LIVE_ALIAS


def recipe_fields_yaml(lambda_arn: str, concurrency_limit: int) -> str:
    """The SageMaker Nova RFT recipe fields (SageMaker AI developer guide: Custom reward functions in
    your AWS environment) as YAML with the recipe's nesting.

    ``lambda_arn`` may be a CDK token: the stack output resolves it to the deployed ARN.
    The ARN is double-quoted (ARNs hold no quotes or backslashes).
    """
    return (
        "run:\n"
        f'  reward_lambda_arn: "{lambda_arn}"\n'
        "training_config:\n"
        "  rollout:\n"
        "    rewards:\n"
        "      api_endpoint:\n"
        f'        lambda_arn: "{lambda_arn}"\n'
        f"        lambda_concurrency_limit: {concurrency_limit}\n"
    )


def judge_model_arns(scope: Construct, fn: RewardFunctionConfig) -> list[str]:
    """Bedrock resources the judge needs (Amazon Bedrock user guide: Increase throughput with
    cross-Region inference; Prerequisites for inference profiles).

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
    arns = [_profile_arn(stack, fn.judge_model_id)]
    regions: list[str | None] = list(fn.judge_inference_profile_regions)
    if is_global_profile_id(fn.judge_model_id) and stack.region not in regions:
        regions.insert(0, None)  # a global profile: the model in the stack's own (source) region too
    arns += [
        stack.format_arn(service="bedrock", region=region, account="", resource="foundation-model",
                         resource_name=model, arn_format=ArnFormat.SLASH_RESOURCE_NAME)
        for region in regions
    ]
    return arns


def global_profile_statements(scope: Construct, fn: RewardFunctionConfig) -> list[iam.PolicyStatement]:
    """A global inference profile (``global.<model>``) also needs the region-less foundation-model
    ARN, only through this profile and with no region requested, as the Bedrock user guide's
    example policy has it ("Global cross-Region inference", IAM policy requirements)."""
    assert fn.judge_model_id is not None
    if not is_global_profile_id(fn.judge_model_id):
        return []
    stack = Stack.of(scope)
    model = fn.judge_model_id.split(".", 1)[1]
    return [iam.PolicyStatement(
        sid="InvokeJudgeModelGlobalProfile",
        actions=["bedrock:InvokeModel"],
        resources=[stack.format_arn(service="bedrock", region="", account="", resource="foundation-model",
                                    resource_name=model, arn_format=ArnFormat.SLASH_RESOURCE_NAME)],
        conditions={"StringEquals": {
            "aws:RequestedRegion": "unspecified",
            "bedrock:InferenceProfileArn": _profile_arn(stack, fn.judge_model_id),
        }},
    )]


def _profile_arn(stack: Stack, profile_id: str) -> str:
    return stack.format_arn(service="bedrock", resource="inference-profile", resource_name=profile_id,
                            arn_format=ArnFormat.SLASH_RESOURCE_NAME)
class CodeExecutorAccess(Protocol):
    """What a code function needs of the environment's code executor (``stacks.code_sandbox.CodeExecutor``
    provides it; the stack passes it in, so neither component imports the other)."""

    def grader_statements(self, grader_function_arn: str) -> list[iam.PolicyStatement]: ...

    def grader_environment(self) -> dict[str, str]: ...

    def acknowledge_grader_statements(self, role: iam.IRole) -> None: ...


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
        executor: CodeExecutorAccess | None = None,
    ) -> None:
        """``executor``: the environment's code executor, for code functions (required for them)."""
        super().__init__(scope, construct_id)
        if (function.kind == "code") != (executor is not None):
            raise ValueError(f"{function.name}: a code function needs the code executor, and only it may call one")
        self.config = function
        self.environment = environment
        # Built from the name: the role's policy names its own function without depending on it.
        self.function_arn = function_arn(self, function.function_name)
        self.log_group = log_group(self, "LogGroup", retention_days=environment.log_retention_days,
                                   retain=environment.deployment.retain_log_groups,
                                   function_name=function.function_name)
        self.role = self._build_role(executor)
        self.function = self._build_function(code, executor)
        self.version = self.function.current_version
        self.alias = self._build_live_alias()
        self.live_spec_hash = self._build_live_spec_hash()
        if environment.tracing:
            self._acknowledge_tracing()
        self._add_outputs()

    def _build_role(self, executor: CodeExecutorAccess | None) -> iam.Role:
        """Its own log group; the judge models when the spec needs a Bedrock judge; the executor
        when its programs run there (invoke it, nothing more)."""
        statements = [write_own_log_group(self.log_group)]
        if self.config.judge is not None:
            statements.append(iam.PolicyStatement(sid="InvokeJudgeModel", actions=["bedrock:InvokeModel"],
                                                  resources=judge_model_arns(self, self.config)))
            statements += global_profile_statements(self, self.config)
        if executor is not None:
            statements += executor.grader_statements(self.function_arn)
        role = execution_role(self, "ExecutionRole", description=f"Execution role of {self.config.function_name}",
                              policy_name="RewardFunction", statements=statements)
        if executor is not None:
            executor.acknowledge_grader_statements(role)
        return role

    def _build_function(self, code: lambda_.Code, executor: CodeExecutorAccess | None) -> lambda_.Function:
        fn, environment = self.config, self.environment
        function = lambda_.Function(
            self,
            "Function",
            function_name=fn.function_name,
            description=f"Nova RFT reward function '{fn.name}' ({fn.kind}, {environment.name}), "
            f"reward spec {fn.spec_hash}",
            runtime=LAMBDA_RUNTIME,
            architecture=LAMBDA_ARCHITECTURE,
            handler=fn.handler,
            code=code,
            memory_size=fn.memory_mb,
            timeout=Duration.seconds(fn.timeout_seconds),
            reserved_concurrent_executions=fn.reserved_concurrency,
            environment={**fn.environment_variables(),
                         **(executor.grader_environment() if executor is not None else {})},
            log_group=self.log_group,
            role=self.role,
            tracing=lambda_.Tracing.ACTIVE if environment.tracing else lambda_.Tracing.DISABLED,
            **log_settings(environment),
            # A new version per code or configuration change; old ones stay for pinned jobs.
            current_version_options=lambda_.VersionOptions(
                description=names.version_description(fn.spec_hash, fn.name, environment.name),
                removal_policy=RemovalPolicy.RETAIN,
            ),
        )
        acknowledge_pinned_runtime(function)
        return function

    def _build_live_alias(self) -> lambda_.Alias:
        """``live``: this deploy's version, or the retained one ``live_version`` pins (a rollback)."""
        pinned = self.config.live_version
        live_version: lambda_.IVersion = self.version
        if pinned is not None:
            live_version = lambda_.Version.from_version_attributes(
                self, "PinnedLiveVersion", lambda_=self.function, version=str(pinned))
        return lambda_.Alias(
            self,
            "LiveAlias",
            alias_name=LIVE_ALIAS,
            version=live_version,
            description="follows the latest version" if pinned is None
            else f"pinned to version {pinned} (live_version in cdk.json)",
            provisioned_concurrent_executions=self.config.provisioned_concurrency,
        )

    def _build_live_spec_hash(self) -> str:
        """What training jobs and the evaluator call is the live version. After a rollback
        (``live_version``) that is the retained version, not the one this deploy published, and
        its spec hash is read back from that version's description at deploy time."""
        if self.config.live_version is None:
            return self.config.spec_hash
        return live_spec_hash(
            self, "PinnedLiveSpecHash", function_arn=self.function.function_arn,
            version=self.config.live_version, log_retention_days=self.environment.log_retention_days,
            retain_logs=self.environment.deployment.retain_log_groups,
        )

    def _acknowledge_tracing(self) -> None:
        """Active tracing adds the X-Ray statement to the role's DefaultPolicy; acknowledge it
        there, so a "*" resource in the role's own inline policy is still reported."""
        Validations.of(self.role.node.find_child("DefaultPolicy")).acknowledge(Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level "
            "permissions (added by the Lambda's active tracing)",
        ))

    def _add_outputs(self) -> None:
        """Paste-ready outputs, created at the stack's top level so their names do not change.

        Training jobs get the live version's qualified ARN: immutable for the job's life,
        whatever is deployed later. Every output that names a version names the live one (the
        one this deploy published, or ``live_version`` after a rollback), so a job started from
        the outputs after a rollback never trains on the reward rolled back from. The alias ARN
        is for teams that want every job to follow the latest.
        """
        stack = Stack.of(self)
        fn = self.config
        p = fn.construct_name
        version_arn = self.invoke_arn
        which = ("this deploy's version" if fn.live_version is None
                 else f"version {fn.live_version}, pinned by live_version")
        CfnOutput(stack, f"{p}FunctionArn", value=self.function.function_arn,
                  description=f"{fn.function_name} (unqualified function ARN, for the console and logs)")
        CfnOutput(stack, f"{p}VersionArn", value=version_arn,
                  description=f"Version-qualified ARN of the live version ({which}): start training jobs with it")
        CfnOutput(stack, f"{p}LiveVersion", value=self.live_version_number,
                  description=f"The version the '{LIVE_ALIAS}' alias and every version-qualified output name ({which})")
        CfnOutput(stack, f"{p}SpecHash", value=self.live_spec_hash,
                  description=f"reward_kit.spec.spec_hash of the live version's spec ({which}; the dry run prints "
                  "the same)")
        CfnOutput(stack, f"{p}AliasArn", value=self.alias.function_arn,
                  description=f"'{LIVE_ALIAS}' alias: follows the latest version (or live_version); carries "
                  "provisioned concurrency when configured")
        CfnOutput(stack, f"{p}BedrockLambdaArn", value=version_arn,
                  description=f"rftConfig.graderConfig.lambdaGrader.lambdaArn (version-qualified: {which})")
        CfnOutput(stack, f"{p}BedrockGraderConfig",
                  value=stack.to_json_string({"graderConfig": {"lambdaGrader": {"lambdaArn": version_arn}}}),
                  description=f"rftConfig fragment for CreateModelCustomizationJob (version-qualified: {which})")
        CfnOutput(stack, f"{p}RecipeRewardLambdaArn", value=version_arn,
                  description=f"SageMaker Nova RFT recipe: run.reward_lambda_arn (version-qualified: {which})")
        CfnOutput(stack, f"{p}LambdaConcurrencyLimit", value=str(fn.reserved_concurrency),
                  description="SageMaker Nova RFT recipe: training_config.rollout.rewards.api_endpoint."
                  "lambda_concurrency_limit (= reserved concurrency)")
        CfnOutput(stack, f"{p}SageMakerRecipeFields", value=recipe_fields_yaml(version_arn, fn.reserved_concurrency),
                  description="SageMaker Nova RFT recipe fields (YAML with the recipe's nesting; merge into the recipe; "
                  f"{which})")

    @property
    def live_version_number(self) -> str:
        """The live version's number: ``live_version`` when pinned, else this deploy's (a token)."""
        if self.config.live_version is not None:
            return str(self.config.live_version)
        return self.version.version

    @property
    def invoke_arn(self) -> str:
        """The live version's qualified ARN: what training jobs and the SageMaker AI Evaluator
        registration call, immutable for as long as they use it. Without ``live_version`` it is
        the version this deploy published; with it, that retained version (a rollback)."""
        if self.config.live_version is not None:
            return f"{self.function.function_arn}:{self.config.live_version}"
        return self.version.function_arn

    @property
    def qualified_arns(self) -> str:
        """Every version and alias of this one function (``<function ARN>:*``)."""
        return f"{self.function.function_arn}:*"

    @property
    def invoke_arns(self) -> list[str]:
        """What a training role may invoke: the function, and its versions and alias.

        Qualified ARNs cannot be listed ahead of time: a job pinned to version 7 must keep
        invoking it after version 8 is deployed, so the role gets ``<function ARN>:*``,
        scoped to this environment's function only.
        """
        return [self.function.function_arn, self.qualified_arns]
