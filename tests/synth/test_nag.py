"""cdk-nag AwsSolutions: zero unacknowledged findings, each acknowledgement specific."""

from __future__ import annotations

from typing import Any, Iterator

from aws_cdk import Acknowledgment, App, Stack, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def described(report: Any) -> list[str]:
    return [
        f"{v.rule_name} at {', '.join(r.construct_path for r in v.violating_resources)}"
        for v in report.violations
    ]


def violations(scope: IConstruct) -> list[str]:
    return described(AwsSolutionsChecks().validate_scope(scope))


def acknowledgements(scope: IConstruct) -> Iterator[tuple[IConstruct, str, str]]:
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule_id, reason in dict(entry.data).items():
                    yield construct, rule_id.split("::", 1)[-1] if rule_id.lower().startswith("annotation::") else rule_id, reason


# Acknowledged by CDK itself on the code sandbox's VPC (literal AZs) and flow log (its property casing).
CDK_OWN_ACKS = {"CloudFormation-Validate::W3010", "CloudFormation-Validate::F3002", "CloudFormation-Validate::F3003"}


def test_the_app_has_no_unacknowledged_findings(synth: Any) -> None:
    report = AwsSolutionsChecks().validate_scope(synth.app)
    assert described(report) == []
    assert report.success


def test_the_pack_reports_what_is_not_acknowledged() -> None:
    app = App(context={"aws:cdk:bundling-stacks": []})
    stack = Stack(app, "Probe")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::bucket/*"]))
    assert violations(app) == ["AwsSolutions-IAM5[Resource::arn:aws:s3:::bucket/*] at Probe/Role/DefaultPolicy/Resource"]
    Validations.of(role).acknowledge(Acknowledgment(id="AwsSolutions-IAM5[Resource::arn:aws:s3:::other/*]", reason="x"))
    assert len(violations(app)) == 1  # an acknowledgement for another resource does not help
    Validations.of(role).acknowledge(Acknowledgment(id="AwsSolutions-IAM5[Resource::arn:aws:s3:::bucket/*]", reason="x"))
    assert violations(app) == []


def test_acknowledgements_are_scoped_and_explained(synth: Any) -> None:
    acks = list(acknowledgements(synth.app))
    assert acks
    for construct, rule_id, reason in acks:
        if rule_id in CDK_OWN_ACKS:
            continue
        assert not isinstance(construct, (Stack, App)), f"{rule_id} acknowledged for a whole stack"
        if rule_id.startswith("AwsSolutions-IAM5"):
            assert rule_id.startswith("AwsSolutions-IAM5[Resource::"), f"{rule_id}: acknowledge one finding"
        assert len(reason) >= 40, f"{rule_id}: give a specific reason"
    kinds = {rule_id.split("[")[0] for _, rule_id, _ in acks}
    assert kinds == {"AwsSolutions-L1", "AwsSolutions-IAM5", "@aws-cdk/aws-ec2:noSubnetRouteTableId", *CDK_OWN_ACKS}


def test_the_xray_wildcard_is_acknowledged_only_on_the_policy_tracing_adds(synth: Any) -> None:
    # On the execution role itself it would also hide a "*" in the role's own inline policy.
    wildcard = [construct for construct, rule_id, _ in acknowledgements(synth.app)
                if rule_id == "AwsSolutions-IAM5[Resource::*]"]
    # The code executors' roles: their inline policy's only allowed "*" is the ENI Describe statement.
    code_roles = [construct for construct in wildcard if isinstance(construct, iam.Role)]
    assert len(code_roles) == sum(stack.config.runs_code for stack in synth.stacks.values()) > 0
    for role in code_roles:
        assert role.node.path.endswith("/CodeExecutor/ExecutionRole"), role.node.path
        template = Stack.of(role).resolve((role.node.default_child).policies)  # type: ignore[union-attr]
        starred = [s for p in template for s in p["policyDocument"]["Statement"]
                   if s["Resource"] == "*" and s["Effect"] == "Allow"]
        assert [s["Sid"] for s in starred] == ["DescribeSandboxNetwork"], role.node.path
    xray = [construct for construct in wildcard if not isinstance(construct, iam.Role)]
    # One per traced function: the judge and sandbox environments have tracing on, dev and prod do not.
    assert len(xray) == sum(len(synth.stacks[env].config.reward_functions) for env in ("judge", "sandbox"))
    for construct in xray:
        assert isinstance(construct, iam.Policy), construct.node.path
        assert construct.node.path.endswith("/ExecutionRole/DefaultPolicy"), construct.node.path
        document = Stack.of(construct).resolve(construct.document)
        assert [s["Resource"] for s in document["Statement"]] == ["*"]
        assert sorted(document["Statement"][0]["Action"]) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
