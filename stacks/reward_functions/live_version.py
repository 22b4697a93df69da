"""The spec hash of a retained version the ``live`` alias is pinned to (``live_version``).

A rollback points the alias at an older version whose spec is no longer in cdk.json, so
its hash cannot be computed at synth time. Each published version's description starts
``reward spec <hash> (...)`` (``RewardFunction``); at deploy time one ``AwsCustomResource``
call, ``lambda:GetFunctionConfiguration`` on exactly that version, reads it back. A
``live_version`` that does not exist fails the deploy here with Lambda's own message.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Fn, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.lambda_plumbing import execution_role, log_group, write_own_log_group

# The AwsCustomResource's singleton function (one per stack): its role and log group are ours.
_SHARED_ID = "LiveVersionLookupShared"
# names.version_description: "reward spec <hash> (<function>, <env>)": the hash is the third word.
_HASH_WORD = 2


class _Shared(Construct):
    """The role and log group of CDK's singleton SDK-call function, created once per stack."""

    def __init__(self, scope: Construct, construct_id: str, *, log_retention_days: int, retain_logs: bool) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "LogGroup", retention_days=log_retention_days, retain=retain_logs)
        self.role = execution_role(
            self, "Role", description="Reads the description (spec hash) of the versions live aliases are pinned to",
            policy_name="OwnLogGroup", statements=[write_own_log_group(self.log_group)],
        )


def live_spec_hash(scope: Construct, construct_id: str, *, function_arn: str, version: int,
                   log_retention_days: int, retain_logs: bool) -> str:
    """The spec hash of ``<function_arn>:<version>``, read at deploy time (a token)."""
    stack = Stack.of(scope)
    shared = stack.node.try_find_child(_SHARED_ID)
    if shared is None:
        shared = _Shared(stack, _SHARED_ID, log_retention_days=log_retention_days, retain_logs=retain_logs)
    assert isinstance(shared, _Shared)
    qualified = f"{function_arn}:{version}"
    lookup = cr.AwsCustomResource(
        scope, construct_id,
        on_update=cr.AwsSdkCall(  # on_create defaults to on_update
            service="Lambda", action="getFunctionConfiguration",
            parameters={"FunctionName": function_arn, "Qualifier": str(version)},
            physical_resource_id=cr.PhysicalResourceId.of(qualified),
            output_paths=["Description"],
        ),
        policy=cr.AwsCustomResourcePolicy.from_statements([iam.PolicyStatement(
            actions=["lambda:GetFunctionConfiguration"], resources=[qualified],
        )]),
        role=shared.role,
        log_group=shared.log_group,
        install_latest_aws_sdk=False,  # the runtime's SDK has GetFunctionConfiguration; no npm at deploy time
    )
    provider = stack.node.try_find_child("AWS679f53fac002430cb0da5b7982bd2287")
    if provider is not None:
        Validations.of(provider).acknowledge(Acknowledgment(
            id="AwsSolutions-L1",
            reason="CDK's AwsCustomResource singleton (Node.js): aws-cdk-lib chooses and updates its runtime",
        ))
    return Fn.select(_HASH_WORD, Fn.split(" ", lookup.get_response_field("Description")))

