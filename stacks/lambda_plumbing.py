"""What every Lambda function of the app shares, in one place.

The runtime and architecture every asset is built for, each asset's ``Code.from_asset``
options (``stacks.bundling`` builds them without Docker), the function's log group (retained
or not, with the validated retention), the one log statement an execution role gets instead
of AWSLambdaBasicExecutionRole, the execution role itself and the log settings (Lambda's
advanced logging controls). Components (``stacks/<component>/``) import this module and
``stacks.config``, never each other; ``tests/project/test_layout.py`` checks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, ArnFormat, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from reward_kit.kinds import FUNCTION_KINDS
from stacks.bundling import bundled_code_options
from stacks.config import EnvironmentConfig
from stacks.config.observability import LOG_FORMAT
from stacks.lambda_assets import ASSETS, LambdaAsset

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_13
LAMBDA_ARCHITECTURE = lambda_.Architecture.ARM_64


def acknowledge_pinned_runtime(function: lambda_.Function) -> None:
    """cdk-nag's AwsSolutions-L1 (not the latest runtime) on one of our Python functions: every
    asset's wheels are built for ``LAMBDA_RUNTIME``, so moving on is one deliberate bump of all."""
    Validations.of(function).acknowledge(Acknowledgment(
        id="AwsSolutions-L1",
        reason=f"Pinned to {LAMBDA_RUNTIME.name} on purpose: every asset's wheels are built for it "
        "(pip --python-version); moving to a newer runtime is a deliberate bump of all of them together",
    ))
LAMBDA_SERVICE = "lambda.amazonaws.com"


def asset_code_options(source_dir: Path, asset: LambdaAsset) -> dict[str, Any]:
    """``Code.from_asset(str(source_dir), **options)`` of one asset: its packages and its lock."""
    return bundled_code_options(source_dir, asset.packages, None if asset.requirements is None else asset.lock_path)


def function_kind_code_options(source_dir: Path) -> dict[str, dict[str, Any]]:
    """Function kind -> its ``Code.from_asset`` options: one asset per kind, holding only its packages."""
    return {name: asset_code_options(source_dir, ASSETS[name]) for name in ASSETS if name in FUNCTION_KINDS}


def function_arn(scope: Construct, function_name: str) -> str:
    """The unqualified ARN of a function of this stack, from its name: a role's policy can name
    its own function without depending on it (the function depends on the role)."""
    return Stack.of(scope).format_arn(service="lambda", resource="function", resource_name=function_name,
                                      arn_format=ArnFormat.COLON_RESOURCE_NAME)


def log_group(scope: Construct, construct_id: str, *, retention_days: int, retain: bool,
              function_name: str | None = None) -> logs.LogGroup:
    """A log group kept (``retain``) or deleted by ``cdk destroy``, with ``retention_days``.

    A retained group outlives ``cdk destroy``: CloudFormation names it, so the next deploy
    creates a new group instead of failing on the retained name. A destroyed one of a function
    (``function_name``) keeps the conventional ``/aws/lambda/<function>`` name.
    """
    named = function_name is not None and not retain
    group = logs.LogGroup(
        scope,
        construct_id,
        log_group_name=f"/aws/lambda/{function_name}" if named else None,
        retention=logs.RetentionDays.INFINITE,  # replaced below by the validated number of days
        removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
    )
    # The allowed values are listed once, in stacks.config (validated there): set the number itself.
    resource = group.node.default_child
    assert isinstance(resource, logs.CfnLogGroup)
    resource.retention_in_days = retention_days
    return group


def write_own_log_group(group: logs.ILogGroup) -> iam.PolicyStatement:
    """Instead of AWSLambdaBasicExecutionRole: a function writes to its own log group only."""
    return iam.PolicyStatement(
        sid="WriteOwnLogGroup",
        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[group.log_group_arn],
    )


def execution_role(scope: Construct, construct_id: str, *, description: str, policy_name: str,
                   statements: list[iam.PolicyStatement]) -> iam.Role:
    """A role Lambda assumes, with exactly ``statements`` as one inline policy (no managed policy)."""
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(LAMBDA_SERVICE),
        description=description,
        inline_policies={policy_name: iam.PolicyDocument(statements=statements)},
    )


def log_settings(environment: EnvironmentConfig) -> dict[str, Any]:
    """``lambda_.Function`` keyword arguments of Lambda's advanced logging controls
    (stacks.config.observability): JSON, so that both levels filter; the defaults favour cost
    (see the README's "Log settings")."""
    return {
        "logging_format": lambda_.LoggingFormat(LOG_FORMAT),
        "application_log_level_v2": lambda_.ApplicationLogLevel(environment.application_log_level),
        "system_log_level_v2": lambda_.SystemLogLevel(environment.system_log_level),
    }
