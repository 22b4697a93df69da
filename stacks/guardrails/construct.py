"""Guardrails an organization sets on a whole environment, applied after the stack is composed.

* Tags on every taggable resource (``Tags.of``: CDK adds them to each L1 with a ``Tags`` property).
* A permissions boundary on every role (``PermissionsBoundary.of``: also the roles CDK itself
  creates, e.g. custom-resource and Provider framework roles).
* Optional customer-managed KMS keys (``EnvironmentKeys``), each with a key policy naming only
  what needs it: CloudWatch Logs for exactly this stack's log groups (encryption context), and
  the functions' execution roles for their environment variables.
"""

from __future__ import annotations

from aws_cdk import Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from stacks.config import GuardrailsConfig

# Key administration without any cryptographic operation (no kms:* and no wildcard actions):
# the account's IAM policies decide who administers the key; none can use it through this statement.
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
)  # fmt: skip
# What CloudWatch Logs does with a log group's key (AWS's "Encrypt log data in CloudWatch Logs").
LOGS_KEY_ACTIONS = (
    "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom", "kms:ReEncryptTo",
)  # fmt: skip
# Lambda encrypts environment variables with the deployer's permissions (through Lambda only).
LAMBDA_DEPLOY_ACTIONS = ("kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt")


def apply_tags(scope: IConstruct, tags: tuple[tuple[str, str], ...]) -> None:
    for key, value in tags:
        Tags.of(scope).add(key, value)


def apply_permissions_boundary(stack: Stack, boundary: str) -> None:
    policy = (
        iam.ManagedPolicy.from_managed_policy_arn(stack, "PermissionsBoundary", boundary)
        if boundary.startswith("arn:")
        else iam.ManagedPolicy.from_managed_policy_name(stack, "PermissionsBoundary", boundary)
    )
    iam.PermissionsBoundary.of(stack).apply(policy)


def _key_admin_statement() -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="KeyAdministrationByTheAccount",
        principals=[iam.AccountRootPrincipal()],
        actions=list(KEY_ADMIN_ACTIONS),
        resources=["*"],  # in a key policy, "*" is this key
    )


def _key(scope: Construct, construct_id: str, description: str, statements: list[iam.PolicyStatement]) -> kms.CfnKey:
    # L1 on purpose: the L2 Key always adds kms:* for the account root (defaultKeyPolicies).
    return kms.CfnKey(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        key_policy=iam.PolicyDocument(statements=[_key_admin_statement(), *statements]),
    )


def _has_environment_variables(stack: Stack, function: lambda_.Function) -> bool:
    resource = function.node.default_child
    assert isinstance(resource, lambda_.CfnFunction)
    # The L1's public getter loses the L2's lazy value; its rendered properties keep it.
    environment = stack.resolve(resource._cfn_properties).get("environment") or {}
    return bool(environment.get("variables"))


class EnvironmentKeys(Construct):
    """The stack's own KMS keys; ``encrypt`` attaches them once every resource exists."""

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailsConfig, environment_name: str) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.environment_name = environment_name
        self.log_groups_key: kms.CfnKey | None = None
        self.environment_key: kms.CfnKey | None = None

    def encrypt(self, stack: Stack) -> None:
        if self.config.log_groups_key:
            self._encrypt_log_groups(stack)
        if self.config.environment_variables_key:
            self._encrypt_environments(stack)

    def _encrypt_log_groups(self, stack: Stack) -> None:
        groups = [c for c in stack.node.find_all() if isinstance(c, logs.CfnLogGroup)]
        log_group_arn = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{{}}"
        names = [stack.resolve(group.log_group_name) for group in groups]
        # The key policy cannot reference the groups (they depend on the key): named groups by
        # their ARN, groups CloudFormation names (always "<stack name>-<logical id>-<random>")
        # by the stack's prefix, which only this stack's generated names start with.
        arns = sorted(log_group_arn.format(name) for name in names if name is not None)
        if None in names:
            arns.append(log_group_arn.format(f"{stack.stack_name}-*"))
        self.log_groups_key = _key(
            self, "LogGroupsKey", f"Log groups of the Nova RFT reward stack ({self.environment_name})",
            [iam.PolicyStatement(
                sid="CloudWatchLogsForThisStacksLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=list(LOGS_KEY_ACTIONS),
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": arns}},
            )],
        )
        for group in groups:
            group.kms_key_id = self.log_groups_key.attr_arn

    def _encrypt_environments(self, stack: Stack) -> None:
        functions = [c for c in stack.node.find_all()
                     if isinstance(c, lambda_.Function) and _has_environment_variables(stack, c)]
        roles = sorted({fn.role.role_arn for fn in functions if fn.role is not None}, key=str)
        via_lambda = {"StringEquals": {"kms:ViaService": f"lambda.{stack.region}.amazonaws.com"}}
        self.environment_key = _key(
            self, "EnvironmentVariablesKey",
            f"Environment variables of the Nova RFT reward functions ({self.environment_name})",
            [
                iam.PolicyStatement(
                    sid="DeployersEncryptThroughLambda",
                    principals=[iam.AccountRootPrincipal()],
                    actions=list(LAMBDA_DEPLOY_ACTIONS),
                    resources=["*"],
                    conditions=via_lambda,
                ),
                iam.PolicyStatement(
                    sid="ExecutionRolesDecryptTheirEnvironment",
                    principals=[iam.ArnPrincipal(arn) for arn in roles],
                    actions=["kms:Decrypt"],
                    resources=["*"],
                ),
            ],
        )
        for fn in functions:
            resource = fn.node.default_child
            assert isinstance(resource, lambda_.CfnFunction)
            resource.kms_key_arn = self.environment_key.attr_arn
            # The execution role must exist before the key policy names it.
            self.environment_key.node.add_dependency(fn.role.node.default_child)  # type: ignore[union-attr]


def apply_guardrails(stack: Stack, config: GuardrailsConfig, environment_name: str) -> EnvironmentKeys | None:
    """Tags, permissions boundary and keys of one environment's stack (call it last)."""
    keys = None
    if config.log_groups_key or config.environment_variables_key:
        keys = EnvironmentKeys(stack, "Keys", config=config, environment_name=environment_name)
        keys.encrypt(stack)
    if config.permissions_boundary is not None:
        apply_permissions_boundary(stack, config.permissions_boundary)
    apply_tags(stack, config.tags)
    return keys
