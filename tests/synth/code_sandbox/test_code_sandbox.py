"""The code sandbox component: the executor runs the programs where nothing is reachable, with a
role its code cannot use; the graders may invoke exactly their environment's executor.

``dev`` (cdk.json) has a code function and the VPC the stack creates; the test-only
``sandbox`` environment (conftest) attaches the executor to an existing VPC's subnets and
has tracing on.

The IAM assertions evaluate the synthesized statements the way IAM does for the cases that
matter (an explicit Deny wins; ``ArnLike`` globbing; a request from the function's code
carries ``lambda:SourceFunctionArn``, Lambda's own network-interface calls do not), after
resolving the template's ARNs with the environment's partition, region and account.

This is the half that synthesizes; the rest is tests/stacks/code_sandbox/test_code_sandbox.py.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from reward_kit import names
from stacks.code_sandbox import CREATE_ENI_ACTION, ENI_ACTIONS, ENI_DESCRIBE_ACTIONS, HANDLER
from stacks.config import KIND_HANDLERS
from stacks.config.code_sandbox import EXECUTOR_DEFAULT_MEMORY_MB
from tests.cdk_context import SANDBOX_ENVIRONMENT
from tests.synth.test_stacks import as_list, config, function_resource, resources

CODE_ENVS = ("dev", "sandbox")
REGIONS = {"dev": "us-east-1", "sandbox": "eu-west-1"}  # dev's pseudo parameters are resolved to these
ACCOUNT = "123456789012"
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
NETWORK_ACTIONS = (*ENI_ACTIONS, *ENI_DESCRIBE_ACTIONS)


def resolve(value: Any, env: str) -> Any:
    """A template value with pseudo parameters, Refs and GetAtts made concrete strings."""
    if isinstance(value, list):
        return [resolve(v, env) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return {"AWS::Partition": "aws", "AWS::Region": REGIONS[env], "AWS::AccountId": ACCOUNT}.get(
                arg, f"<{arg}>")
        if key == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if key == "Fn::Join":
            return arg[0].join(resolve(part, env) for part in arg[1])
    if isinstance(value, dict):
        return {k: resolve(v, env) for k, v in value.items()}
    return value


def role_statements(synth: Any, env: str, role_id: str) -> list[dict[str, Any]]:
    """Every statement of the role's inline policies and of every policy attached to it."""
    template = synth.templates[env]
    role = template["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role  # (a permissions boundary could only restrict it further)
    statements = [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    for policy in resources(synth, env, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return [resolve(s, env) for s in statements]


def _matches(statement: dict[str, Any], action: str, resource: str) -> bool:
    return (action in as_list(statement["Action"])
            and any(fnmatch.fnmatchcase(resource, pattern) for pattern in as_list(statement["Resource"])))


def _condition_holds(statement: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, keys in statement.get("Condition", {}).items():
        assert operator == "ArnLike", statement  # the only operator these roles use
        for key, patterns in keys.items():
            if key not in context or not any(fnmatch.fnmatchcase(context[key], p) for p in as_list(patterns)):
                return False
    return True


def allowed(statements: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]) -> bool:
    """IAM's decision for one request: an applicable Deny wins, else some Allow must apply."""
    applicable = [s for s in statements if _matches(s, action, resource) and _condition_holds(s, context)]
    return not any(s["Effect"] == "Deny" for s in applicable) and any(s["Effect"] == "Allow" for s in applicable)


def from_code(function_arn: str) -> dict[str, str]:
    """The request context of a call made with the credentials inside the function's environment."""
    return {"lambda:SourceFunctionArn": function_arn}


LAMBDA_ON_BEHALF: dict[str, str] = {}  # Lambda creating the function's network interfaces: no source key


def code_functions(synth: Any, env: str) -> list[tuple[str, dict[str, Any]]]:
    return [function_resource(synth, env, fn.function_name) for fn in config(synth, env).reward_functions
            if fn.kind == "code"]


def executor(synth: Any, env: str) -> tuple[str, dict[str, Any]]:
    return function_resource(synth, env, config(synth, env).executor_function_name)


def arn_of(env: str, function_name: str) -> str:
    return f"arn:aws:lambda:{REGIONS[env]}:{ACCOUNT}:function:{function_name}"


def every_action(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def every_resource(statements: list[dict[str, Any]], action: str) -> list[str]:
    """Concrete resources an Allow names for ``action`` (wildcards stay as written)."""
    return [r for s in statements if s["Effect"] == "Allow" and action in as_list(s["Action"])
            for r in as_list(s["Resource"])]


@pytest.mark.parametrize("env", CODE_ENVS)
def test_the_executor_runs_its_own_asset_in_the_sandbox_network_with_nothing_to_read(synth: Any, env: str) -> None:
    cfg = config(synth, env)
    _, props = executor(synth, env)
    assert props["Handler"] == HANDLER == "code_sandbox.handler.handler"
    assert props["Runtime"] == "python3.13" and props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == cfg.code_sandbox.executor.memory_mb == EXECUTOR_DEFAULT_MEMORY_MB
    # Default timeout: the slowest code function's, so the executor never dies before its grader.
    assert props["Timeout"] == max(fn.timeout_seconds for fn in cfg.reward_functions if fn.kind == "code")
    assert "Environment" not in props  # no variables: nothing to read, no key to decrypt them
    assert props.get("TracingConfig", {"Mode": "PassThrough"}) == {"Mode": "PassThrough"}  # even with tracing on
    # Its asset is neither a reward function's nor the evaluator registration's.
    codes = {json.dumps(f["Properties"]["Code"], sort_keys=True) for f in
             resources(synth, env, "AWS::Lambda::Function").values() if f["Properties"].get("Handler") != HANDLER}
    assert json.dumps(props["Code"], sort_keys=True) not in codes


@pytest.mark.parametrize("env", CODE_ENVS)
def test_executor_reserved_concurrency_is_the_graders_concurrency_times_their_samples_at_once(
    synth: Any, env: str
) -> None:
    cfg = config(synth, env)
    _, props = executor(synth, env)
    graders = [fn for fn in cfg.reward_functions if fn.kind == "code"]
    expected = sum(fn.reserved_concurrency * fn.samples_per_invocation for fn in graders)
    assert props["ReservedConcurrentExecutions"] == expected == cfg.executor_reserved_concurrency
    # It counts against the account like the reward functions.
    assert cfg.total_reserved_concurrency == sum(fn.reserved_concurrency for fn in cfg.reward_functions) + expected
    if env == "dev":  # code-tests: 16 x 8 samples per invocation (cdk.json)
        assert (graders[0].reserved_concurrency, graders[0].samples_per_invocation, expected) == (16, 8, 128)


@pytest.mark.parametrize("env", CODE_ENVS)
def test_the_executor_role_allows_nothing_its_code_can_use(synth: Any, env: str) -> None:
    _, props = executor(synth, env)
    own_arn = arn_of(env, props["FunctionName"])
    statements = role_statements(synth, env, props["Role"]["Fn::GetAtt"][0])
    own_log_group = f"<{props['LoggingConfig']['LogGroup']['Ref']}.Arn>"
    granted = every_action(statements)
    # What Lambda needs for the VPC attachment, and its log write: nothing else (no tracing either).
    assert granted == {*NETWORK_ACTIONS, *LOG_ACTIONS}
    for action in sorted(granted - set(LOG_ACTIONS)):
        for resource in every_resource(statements, action):
            assert allowed(statements, action, resource, LAMBDA_ON_BEHALF), (action, resource)
            assert not allowed(statements, action, resource, from_code(own_arn)), (action, resource)
            assert not allowed(statements, action, resource, from_code(f"{own_arn}:7")), (action, resource)
    # The log write is the one permission left: Lambda's own log delivery carries the source key
    # too (so it cannot be denied by it); it names only this function's group, which the code's
    # stdout reaches anyway, and the code has no network path to CloudWatch Logs (below).
    for action in LOG_ACTIONS:
        assert every_resource(statements, action) == [own_log_group]
    # The deny is not scoped to some resources: any resource, from the code, is denied.
    for action in NETWORK_ACTIONS:
        assert not allowed(statements, action, "arn:aws:ec2:us-east-1:999999999999:network-interface/eni-1",
                           from_code(own_arn))


@pytest.mark.parametrize("env", CODE_ENVS)
def test_the_executor_creates_interfaces_only_in_the_sandbox_subnets_with_the_no_traffic_group(
    synth: Any, env: str
) -> None:
    _, props = executor(synth, env)
    statements = role_statements(synth, env, props["Role"]["Fn::GetAtt"][0])
    region = REGIONS[env]
    subnets = [resolve(s, env) for s in props["VpcConfig"]["SubnetIds"]]
    (group,) = [resolve(g, env) for g in props["VpcConfig"]["SecurityGroupIds"]]
    assert sorted(every_resource(statements, CREATE_ENI_ACTION)) == sorted([
        f"arn:aws:ec2:{region}:{ACCOUNT}:network-interface/*",
        *(f"arn:aws:ec2:{region}:{ACCOUNT}:subnet/{s}" for s in subnets),
        f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{group}",
    ])
    assert not allowed(statements, CREATE_ENI_ACTION, f"arn:aws:ec2:{region}:{ACCOUNT}:subnet/subnet-0123456789abcdef0",
                       LAMBDA_ON_BEHALF)
    for action in sorted(set(ENI_ACTIONS) - {CREATE_ENI_ACTION}):
        assert every_resource(statements, action) == [f"arn:aws:ec2:{region}:{ACCOUNT}:network-interface/*"]
    for action in ENI_DESCRIBE_ACTIONS:  # no resource-level permissions exist for these two
        assert every_resource(statements, action) == ["*"]
    if env == "sandbox":
        assert subnets == SANDBOX_ENVIRONMENT["code_sandbox"]["subnet_ids"]


def test_code_functions_use_the_code_kind_handler(synth: Any) -> None:
    for env in CODE_ENVS:
        functions = code_functions(synth, env)
        assert functions, env
        for _, props in functions:
            assert props["Handler"] == KIND_HANDLERS["code"]
    for env in ("prod", "judge"):
        assert code_functions(synth, env) == []
        for kind in ("AWS::EC2::VPC", "AWS::EC2::SecurityGroup"):
            assert resources(synth, env, kind) == {}, (env, kind)
        assert not [f for f in resources(synth, env, "AWS::Lambda::Function").values()
                    if f["Properties"].get("Handler") == HANDLER]


@pytest.mark.parametrize("env", CODE_ENVS)
def test_a_grader_may_invoke_exactly_its_environments_executor_and_nothing_else(synth: Any, env: str) -> None:
    executor_id, executor_props = executor(synth, env)
    executor_arn = arn_of(env, executor_props["FunctionName"])
    (version_id,) = [k for k, v in resources(synth, env, "AWS::Lambda::Version").items()
                     if v["Properties"]["FunctionName"] == {"Ref": executor_id}]
    for _, props in code_functions(synth, env):
        own_arn = arn_of(env, props["FunctionName"])
        statements = role_statements(synth, env, props["Role"]["Fn::GetAtt"][0])
        own_log_group = f"<{props['LoggingConfig']['LogGroup']['Ref']}.Arn>"
        granted = every_action(statements)
        xray = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"} if env == "sandbox" else set()  # tracing on
        assert granted == {"lambda:InvokeFunction", *LOG_ACTIONS, *xray}
        assert every_resource(statements, "lambda:InvokeFunction") == [f"{executor_arn}:*"]
        for action in LOG_ACTIONS:
            assert every_resource(statements, action) == [own_log_group]
        context = from_code(own_arn)  # the grader calls the executor from its code
        for version in (f"{executor_arn}:1", f"{executor_arn}:42"):  # this deploy's, and a pinned older one
            assert allowed(statements, "lambda:InvokeFunction", version, context)
        for other in (f"arn:aws:lambda:{REGIONS[env]}:{ACCOUNT}:function:SageMaker-reward-gsm8k-{env}",
                      f"arn:aws:lambda:{REGIONS[env]}:{ACCOUNT}:function:{executor_props['FunctionName']}-x:1",
                      f"arn:aws:lambda:{REGIONS[env]}:999999999999:function:{executor_props['FunctionName']}:1",
                      own_arn):
            assert not allowed(statements, "lambda:InvokeFunction", other, context), other
        # It receives the version this deploy published.
        assert props["Environment"]["Variables"][names.CODE_EXECUTOR_FUNCTION_ENV] == {"Ref": version_id}
        # It no longer runs programs: out of the VPC, like the rlvr functions.
        assert "VpcConfig" not in props


@pytest.mark.parametrize("env", CODE_ENVS)
def test_the_same_deny_protects_the_code_functions_roles(synth: Any, env: str) -> None:
    for _, props in code_functions(synth, env):
        own_arn = arn_of(env, props["FunctionName"])
        statements = role_statements(synth, env, props["Role"]["Fn::GetAtt"][0])
        denials = [s for s in statements if s["Effect"] == "Deny"]
        assert denials == [{
            "Sid": "NoNetworkInterfacesFromFunctionCode", "Effect": "Deny", "Action": sorted(NETWORK_ACTIONS),
            "Resource": "*", "Condition": {"ArnLike": {"lambda:SourceFunctionArn": [own_arn, f"{own_arn}:*"]}},
        }]
        # Whatever is attached to the role later (an organization's policy granting them), the
        # grader's code gets none of the network-interface actions.
        widened = [*statements, {"Effect": "Allow", "Action": list(NETWORK_ACTIONS), "Resource": "*"}]
        for action in NETWORK_ACTIONS:
            assert not allowed(widened, action, "*", from_code(own_arn))
            assert allowed(widened, action, "*", LAMBDA_ON_BEHALF)


def _sandbox_security_group(synth: Any, env: str, props: dict[str, Any]) -> dict[str, Any]:
    (group,) = props["VpcConfig"]["SecurityGroupIds"]
    return synth.templates[env]["Resources"][group["Fn::GetAtt"][0]]["Properties"]


@pytest.mark.parametrize("env", CODE_ENVS)
def test_only_the_executor_sits_in_the_sandbox_behind_a_group_that_lets_nothing_through(synth: Any, env: str) -> None:
    _, props = executor(synth, env)
    group = _sandbox_security_group(synth, env, props)
    assert "SecurityGroupIngress" not in group
    # CDK's placeholder for "no egress": a rule no packet matches.
    assert group["SecurityGroupEgress"] == [{"CidrIp": "255.255.255.255/32", "Description": "Disallow all traffic",
                                             "FromPort": 252, "IpProtocol": "icmp", "ToPort": 86}]
    for env_name in ("dev", "prod", "judge", "sandbox"):
        in_vpc = [f["Properties"].get("FunctionName") for f in resources(synth, env_name, "AWS::Lambda::Function").values()
                  if "VpcConfig" in f["Properties"]]
        expected = [config(synth, env_name).executor_function_name] if config(synth, env_name).runs_code else []
        assert in_vpc == expected, env_name


NO_WAY_OUT = ("AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::NatGateway", "AWS::EC2::EIP",
              "AWS::EC2::VPCEndpoint", "AWS::EC2::Route", "AWS::EC2::EgressOnlyInternetGateway",
              "AWS::EC2::TransitGatewayAttachment", "AWS::EC2::VPCPeeringConnection", "AWS::EC2::VPNGateway",
              "AWS::EC2::VPNGatewayRoutePropagation", "AWS::EC2::LocalGatewayRouteTableVPCAssociation",
              # DNS: no custom resolver handed out, no resolver endpoint or rule to forward names out.
              "AWS::EC2::DHCPOptions", "AWS::EC2::VPCDHCPOptionsAssociation", "AWS::Route53Resolver::ResolverEndpoint",
              "AWS::Route53Resolver::ResolverRule", "AWS::Route53Resolver::ResolverRuleAssociation",
              "AWS::Route53::HostedZone")


def test_the_created_vpc_has_isolated_subnets_no_route_out_and_no_dns(synth: Any) -> None:
    env = "dev"
    template = synth.templates[env]
    (vpc_id,) = resources(synth, env, "AWS::EC2::VPC")
    for kind in NO_WAY_OUT:
        assert resources(synth, env, kind) == {}, kind
    vpc = template["Resources"][vpc_id]["Properties"]
    # Security groups cannot block DNS requests to the Route 53 Resolver (VPC base + 2): with
    # DNS support off it answers nothing, so no name resolves and no query leaves.
    assert vpc["EnableDnsSupport"] is False and vpc["EnableDnsHostnames"] is False
    assert vpc["CidrBlock"] == "10.213.0.0/24"
    subnets = resources(synth, env, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    for subnet in subnets.values():
        assert subnet["Properties"]["VpcId"] == {"Ref": vpc_id}
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        assert tags["aws-cdk:subnet-type"] == "Isolated"
    _, props = executor(synth, env)
    assert sorted(s["Ref"] for s in props["VpcConfig"]["SubnetIds"]) == sorted(subnets)
    # Rejected traffic (an exfiltration attempt) is logged.
    (flow_log,) = resources(synth, env, "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["ResourceId"] == {"Ref": vpc_id}
    assert flow_log["Properties"]["TrafficType"] == "REJECT"


def test_an_existing_vpc_is_used_as_given_and_nothing_network_is_created(synth: Any) -> None:
    env = "sandbox"
    for kind in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::FlowLog", *NO_WAY_OUT):
        assert resources(synth, env, kind) == {}, kind
    _, props = executor(synth, env)
    assert props["VpcConfig"]["SubnetIds"] == SANDBOX_ENVIRONMENT["code_sandbox"]["subnet_ids"]
    group = _sandbox_security_group(synth, env, props)
    assert group["VpcId"] == SANDBOX_ENVIRONMENT["code_sandbox"]["vpc_id"]


def test_the_executor_version_is_an_output(synth: Any) -> None:
    outputs = synth.templates["dev"]["Outputs"]
    executor_id, _ = executor(synth, "dev")
    (version_id,) = [k for k, v in resources(synth, "dev", "AWS::Lambda::Version").items()
                     if v["Properties"]["FunctionName"] == {"Ref": executor_id}]
    assert outputs["CodeExecutorVersionArn"]["Value"] == {"Ref": version_id}
    assert "CodeExecutorVersionArn" not in synth.templates["prod"].get("Outputs", {})


def test_the_shipped_code_function_scores_tests_and_format(synth: Any) -> None:
    fn = config(synth, "dev").function("code-tests")
    spec = json.loads(fn.reward_spec_json)
    assert spec["graders"]["tests"]["grader"] == "code" and fn.kind == "code"
