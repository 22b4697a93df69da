"""The code sandbox component: code functions can only log, and have no route anywhere.

``dev`` (cdk.json) has a code function in the VPC the stack creates; the test-only
``sandbox`` environment (conftest) attaches one to an existing VPC's subnets.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from stacks.code_sandbox import ENI_ACTIONS
from stacks.config import ConfigError, parse_environments

from .conftest import SANDBOX_ENVIRONMENT
from .test_stacks import config, function_resource, resources

CODE_ENVS = ("dev", "sandbox")


def code_functions(synth: Any, env: str) -> list[tuple[str, dict[str, Any]]]:
    return [function_resource(synth, env, fn.function_name) for fn in config(synth, env).reward_functions
            if fn.kind == "code"]


def test_code_functions_use_the_code_asset_handler(synth: Any) -> None:
    for env in CODE_ENVS:
        functions = code_functions(synth, env)
        assert functions, env
        for _, props in functions:
            assert props["Handler"] == "code_grader.handler.handler"
    for env in ("prod", "judge"):
        assert code_functions(synth, env) == []
        assert resources(synth, env, "AWS::EC2::VPC") == {} and resources(synth, env, "AWS::EC2::SecurityGroup") == {}


@pytest.mark.parametrize("env", CODE_ENVS)
def test_the_code_role_holds_only_its_log_group_and_the_network_interface_permissions(synth: Any, env: str) -> None:
    template = synth.templates[env]
    for _, props in code_functions(synth, env):
        role_id = props["Role"]["Fn::GetAtt"][0]
        role = template["Resources"][role_id]["Properties"]
        assert "ManagedPolicyArns" not in role  # (a permissions boundary could only restrict it further)
        statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
        log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        ec2_in_this_account = {"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":ec2:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, ":*/*"]]}
        if env == "sandbox":  # explicit account and region: literals
            ec2_in_this_account = "arn:aws:ec2:eu-west-1:123456789012:*/*"
        assert statements == [
            {"Sid": "WriteOwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]}},
            {"Sid": "AttachToSandboxSubnets", "Effect": "Allow", "Action": sorted(ENI_ACTIONS),
             "Resource": ec2_in_this_account},
            {"Sid": "DescribeSandboxNetwork", "Effect": "Allow",
             "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], "Resource": "*"},
        ]
        # No other policy is attached to the role (the X-Ray one only with tracing, sandbox env).
        attached = [r for r in resources(synth, env, "AWS::IAM::Policy").values()
                    if {"Ref": role_id} in r["Properties"]["Roles"]]
        for policy in attached:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                assert statement["Action"] == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], statement


def _sandbox_security_group(synth: Any, env: str, props: dict[str, Any]) -> dict[str, Any]:
    (group,) = props["VpcConfig"]["SecurityGroupIds"]
    return synth.templates[env]["Resources"][group["Fn::GetAtt"][0]]["Properties"]


@pytest.mark.parametrize("env", CODE_ENVS)
def test_code_functions_sit_in_the_sandbox_subnets_behind_a_group_that_lets_nothing_through(
    synth: Any, env: str
) -> None:
    for _, props in code_functions(synth, env):
        group = _sandbox_security_group(synth, env, props)
        assert "SecurityGroupIngress" not in group
        # CDK's placeholder for "no egress": a rule no packet matches.
        assert group["SecurityGroupEgress"] == [{"CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic",
                                                 "FromPort": 252, "IpProtocol": "icmp", "ToPort": 86}]
    # Functions that do not run code are not in a VPC.
    for env_name in ("dev", "prod", "judge", "sandbox"):
        for fn in config(synth, env_name).reward_functions:
            _, props = function_resource(synth, env_name, fn.function_name)
            assert ("VpcConfig" in props) == (fn.kind == "code"), fn.name


def test_the_created_vpc_has_isolated_subnets_and_no_route_out(synth: Any) -> None:
    env = "dev"
    template = synth.templates[env]
    (vpc_id,) = resources(synth, env, "AWS::EC2::VPC")
    for kind in ("AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::NatGateway",
                 "AWS::EC2::EIP", "AWS::EC2::VPCEndpoint", "AWS::EC2::Route", "AWS::EC2::EgressOnlyInternetGateway",
                 "AWS::EC2::TransitGatewayAttachment", "AWS::EC2::VPCPeeringConnection", "AWS::EC2::VPNGateway"):
        assert resources(synth, env, kind) == {}, kind
    subnets = resources(synth, env, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    for subnet in subnets.values():
        assert subnet["Properties"]["VpcId"] == {"Ref": vpc_id}
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        assert tags["aws-cdk:subnet-type"] == "Isolated"
    (_, props), = code_functions(synth, env)
    assert sorted(s["Ref"] for s in props["VpcConfig"]["SubnetIds"]) == sorted(subnets)
    # Rejected traffic (an exfiltration attempt) is logged.
    (flow_log,) = resources(synth, env, "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["ResourceId"] == {"Ref": vpc_id}
    assert flow_log["Properties"]["TrafficType"] == "REJECT"
    assert template["Resources"][vpc_id]["Properties"]["CidrBlock"] == "10.213.0.0/24"


def test_an_existing_vpc_is_used_as_given_and_nothing_network_is_created(synth: Any) -> None:
    env = "sandbox"
    for kind in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::FlowLog"):
        assert resources(synth, env, kind) == {}, kind
    (_, props), = code_functions(synth, env)
    assert props["VpcConfig"]["SubnetIds"] == SANDBOX_ENVIRONMENT["code_sandbox"]["subnet_ids"]
    group = _sandbox_security_group(synth, env, props)
    assert group["VpcId"] == SANDBOX_ENVIRONMENT["code_sandbox"]["vpc_id"]


def _env_with(spec: Any = None, **sandbox: Any) -> dict[str, Any]:
    env = copy.deepcopy(SANDBOX_ENVIRONMENT)
    if spec is not None:
        env["reward_functions"]["humaneval"]["reward_spec"] = spec
    if sandbox:
        env["code_sandbox"] = sandbox
    return {"x": env}


def config_error(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_environments(raw)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_judge_and_code_in_one_function_is_a_one_line_synth_error() -> None:
    spec = {"grader": "multi", "graders": {"run": {"grader": "code"}, "style": {"grader": "judge", "rubric": "r"}}}
    assert config_error(_env_with(spec)) == (
        "environments.x.reward_functions.humaneval.reward_spec.graders: a judge (needs the network to call "
        "Bedrock) and a code grader (runs in a sandbox without network) cannot share one reward function; "
        "use two functions"
    )


def test_code_beside_deterministic_graders_is_a_code_function() -> None:
    spec = {"grader": "multi", "graders": {"run": {"grader": "code"}, "format": {"grader": "regex", "pattern": "```"}}}
    fn = parse_environments(_env_with(spec))["x"].function("humaneval")
    assert (fn.kind, fn.handler, fn.judge) == ("code", "code_grader.handler.handler", None)
    raw = _env_with(spec)
    raw["x"]["reward_functions"]["humaneval"]["kind"] = "rlvr"
    assert config_error(raw) == (
        "environments.x.reward_functions.humaneval.kind: the reward_spec implies kind 'code' (its graders need "
        "a code sandbox); set kind 'code' or omit kind, got 'rlvr'"
    )


@pytest.mark.parametrize(
    ("sandbox", "message"),
    [
        ({"cidr": "8.8.8.0/24"}, "environments.x.code_sandbox.cidr: must be a private IPv4 CIDR with a prefix of /16 "
         "to /24, e.g. '10.213.0.0/24', got '8.8.8.0/24'"),
        ({"vpc_id": "vpc-0abc12345def67890", "subnet_ids": ["subnet-0aaa1111bbbb22223"]},
         "environments.x.code_sandbox.availability_zones: required (the subnets' availability zones, in order)"),
        ({"vpc_id": "vpc-0abc12345def67890", "subnet_ids": ["subnet-0aaa1111bbbb22223"],
          "availability_zones": ["eu-west-1a", "eu-west-1b"]},
         "environments.x.code_sandbox.availability_zones: must list one zone per subnet (1), "
         'got ["eu-west-1a", "eu-west-1b"]'),
        ({"subnet_ids": ["subnet-0aaa1111bbbb22223"]},
         "environments.x.code_sandbox.subnet_ids: only with vpc_id (an existing VPC); omit it to have the stack "
         "create the VPC"),
        ({"vpc": "x"}, "environments.x.code_sandbox.vpc: unknown key"),
    ],
)
def test_sandbox_network_config_errors_name_the_key(sandbox: dict[str, Any], message: str) -> None:
    assert config_error(_env_with(**sandbox)).startswith(message)


def test_the_shipped_code_function_scores_tests_and_format(synth: Any) -> None:
    fn = config(synth, "dev").function("code-tests")
    spec = json.loads(fn.reward_spec_json)
    assert spec["graders"]["tests"]["grader"] == "code" and fn.kind == "code"
