"""cdk-nag acknowledgements that name the exact finding.

cdk-nag 3.x reports IAM wildcard findings per resource string, e.g.
``AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::bucket/prefix/*]``, rendering
intrinsics as ``<AWS::Partition>`` / ``<LogicalId.Attr>``. ``iam5_resource_id`` renders an ARN
the same way (after resolving it in its stack, so environment-specific stacks get literals),
which keeps every acknowledgement scoped to one resource string instead of the whole rule.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return f"<{arg}>"
        if key == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(_render(part) for part in parts)
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding id")


def render_finding_resource(resolved: Any) -> str:
    """A resolved resource (string or intrinsic) as cdk-nag writes it in finding ids."""
    return _render(resolved)


def iam5_resource_id(scope: IConstruct, arn: str) -> str:
    return f"AwsSolutions-IAM5[Resource::{_render(Stack.of(scope).resolve(arn))}]"


def acknowledge_iam5_resource(scope: IConstruct, arn: str, reason: str) -> None:
    """Acknowledge the wildcard finding for exactly this resource ARN on ``scope``."""
    Validations.of(scope).acknowledge(Acknowledgment(id=iam5_resource_id(scope, arn), reason=reason))
