"""Deploy, destroy and deploy again into a local AWS emulator (moto's server on 127.0.0.1).

The synthesized templates (the session's synth) go through a real botocore CloudFormation
client pointed at the emulator with ``AWS_ENDPOINT_URL_<SERVICE>``, the way ``cdk deploy``
would send them, after the two things ``cdk bootstrap`` provides: the asset bucket (holding
a zip under each function's S3 key) and the bootstrap-version SSM parameter. Each round
checks the functions, their reserved concurrency, published versions, the roles and the log
groups; after a destroy, that nothing is left in the way of the next deploy.

What moto does not emulate is not deployed or asserted on. Custom resources need moto to
run their Lambda handler in Docker, so the templates deployed here are the shipped
environments synthesized with ``evaluator_registration.enabled: false``, and a test checks
they are the session's templates minus exactly the evaluator-registration resources and
outputs (the registration handler has its own tests against a fake SageMaker). moto's
CloudFormation does not delete ``AWS::EC2::FlowLog`` and ``AWS::EC2::RouteTable`` resources
(the code sandbox's VPC), which real CloudFormation does: the test deletes those two kinds
through the EC2 API just before each ``DeleteStack`` and checks the VPC is gone. moto also
returns the logical id for an ``AWS::Lambda::Version``'s Ref (and, in a function's environment
variables, an object it cannot serialize: those Refs are given to moto as the logical id), so
the version-qualified ARNs are checked in the template tests, and accepts alias resources
without creating them. KMS
keys go without their tags (moto reads them in the KMS API's shape); the tags are asserted on
the templates (test_guardrails.py).
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from typing import Any, Iterator

import pytest
import yaml

from tests.cdk_context import CDK_CONTEXT
from tests.synth.test_stacks import config

pytestmark = pytest.mark.slow  # seconds per test: make test-fast leaves this file out

SERVICES = ("CLOUDFORMATION", "LAMBDA", "IAM", "S3", "SSM", "CLOUDWATCH_LOGS", "STS", "EC2")
REGION = "us-east-1"
START_TIMEOUT_SECONDS = 30
CALL_TIMEOUT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server on 127.0.0.1, started and stopped here; its endpoint URL (``localhost``)."""
    try:
        import moto.server  # noqa: F401  (moto[server] is pinned in requirements-dev.txt)
    except ImportError as exc:
        pytest.skip(f"the AWS emulator (moto[server]) is not installed: {exc}; run `make setup`")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.skip(f"the AWS emulator did not start on 127.0.0.1:{port}: {log.read_text()[-500:]}")
                time.sleep(0.2)
        yield f"http://localhost:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture
def aws(emulator: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A factory of real botocore clients that reach only the emulator."""
    import boto3
    from botocore.config import Config

    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for service in SERVICES:
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", emulator)
    session = boto3.session.Session()
    bounded = Config(connect_timeout=10, read_timeout=CALL_TIMEOUT_SECONDS, retries={"max_attempts": 2})
    return lambda service: session.client(service, region_name=REGION, config=bounded)


def bootstrap(aws: Any, template: dict[str, Any], region: str = REGION) -> None:
    """What `cdk bootstrap` + asset publishing provide in ``region``: the asset objects and the
    version parameter."""
    account = aws("sts").get_caller_identity()["Account"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("rlvr/handler.py", "def handler(event, context):\n    return []\n")
    s3 = aws("s3")
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        code = resource["Properties"]["Code"]
        bucket = code["S3Bucket"]
        if isinstance(bucket, dict):
            bucket = bucket["Fn::Sub"].replace("${AWS::AccountId}", account).replace("${AWS::Region}", region)
        if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            outside_us_east_1 = {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=bucket, **({} if region == "us-east-1" else outside_us_east_1))
        s3.put_object(Bucket=bucket, Key=code["S3Key"], Body=archive.getvalue())
    parameter = template["Parameters"]["BootstrapVersion"]["Default"]
    aws("ssm").put_parameter(Name=parameter, Value="30", Type="String", Overwrite=True)


# moto's CloudFormation reads an AWS::KMS::Key's Tags in the KMS API's shape (TagKey/TagValue)
# and fails on CloudFormation's own (Key/Value); the tags are asserted on the templates instead.
MOTO_UNTAGGABLE_TYPES = ("AWS::KMS::Key",)


# moto's AWS::Lambda::Version has no GetAtt (its Ref is already the logical id, see above): the
# `Version` attribute (the <Fn>LiveVersion output, the dashboard's live-version panel) becomes
# the number moto's first publish gives; the templates' own tests check the attribute.
MOTO_FIRST_VERSION = "1"


def _without_version_attributes(value: Any, versions: set[str]) -> Any:
    if isinstance(value, dict):
        if list(value) == ["Fn::GetAtt"] and value["Fn::GetAtt"][0] in versions and value["Fn::GetAtt"][1] == "Version":
            return MOTO_FIRST_VERSION
        return {k: _without_version_attributes(v, versions) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_version_attributes(v, versions) for v in value]
    return value


def _for_moto(template: dict[str, Any]) -> dict[str, Any]:
    template = json.loads(json.dumps(template))
    versions = {k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Version"}
    for resource in template["Resources"].values():
        if resource["Type"] in MOTO_UNTAGGABLE_TYPES:
            resource.get("Properties", {}).pop("Tags", None)
        # moto puts its version object itself into a function's environment for a version's Ref
        # (GetFunction then fails to serialize it): give moto the logical id it returns elsewhere.
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        for key, value in variables.items():
            if isinstance(value, dict) and value.get("Ref") in versions:
                variables[key] = value["Ref"]
    return _without_version_attributes(template, versions)  # type: ignore[no-any-return]


def deploy(aws: Any, name: str, template: dict[str, Any]) -> dict[str, Any]:
    cfn = aws("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(_for_moto(template)), Capabilities=["CAPABILITY_IAM"])
    stack: dict[str, Any] = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return stack


# Resource types moto's CloudFormation creates but does not delete with the stack (real
# CloudFormation does); left in place they keep the VPC from being deleted.
MOTO_UNDELETED_TYPES = ("AWS::EC2::FlowLog", "AWS::EC2::RouteTable")


def _delete_what_moto_cannot(aws: Any, name: str) -> None:
    """Delete the stack's flow logs and route tables through the EC2 API, as CloudFormation would."""
    ec2 = aws("ec2")
    resources = aws("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
    by_type: dict[str, list[str]] = {}
    for resource in resources:
        if resource.get("ResourceType") in MOTO_UNDELETED_TYPES:
            by_type.setdefault(resource["ResourceType"], []).append(resource["PhysicalResourceId"])
    if by_type.get("AWS::EC2::FlowLog"):
        ec2.delete_flow_logs(FlowLogIds=by_type["AWS::EC2::FlowLog"])
    if by_type.get("AWS::EC2::RouteTable"):
        for table in ec2.describe_route_tables(RouteTableIds=by_type["AWS::EC2::RouteTable"])["RouteTables"]:
            for association in table.get("Associations", []):
                ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
            ec2.delete_route_table(RouteTableId=table["RouteTableId"])


def destroy(aws: Any, name: str) -> None:
    cfn = aws("cloudformation")
    vpcs = [r["PhysicalResourceId"] for r in cfn.describe_stack_resources(StackName=name)["StackResources"]
            if r.get("ResourceType") == "AWS::EC2::VPC"]
    _delete_what_moto_cannot(aws, name)
    cfn.delete_stack(StackName=name)
    if vpcs:  # the code sandbox's VPC went with the stack
        assert not {v["VpcId"] for v in aws("ec2").describe_vpcs()["Vpcs"]} & set(vpcs)
    remaining = [s for s in cfn.list_stacks()["StackSummaries"]
                 if s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE"]
    assert not remaining, remaining


def log_group_names(aws: Any) -> set[str]:
    return {group["logGroupName"] for group in aws("logs").describe_log_groups()["logGroups"]}


def check_deployed(aws: Any, synth: Any, env: str, stack: dict[str, Any]) -> None:
    """The functions with their reserved concurrency and a published version, the roles, the outputs."""
    lam, iam = aws("lambda"), aws("iam")
    cfg = config(synth, env)
    for fn in cfg.reward_functions:
        function = lam.get_function(FunctionName=fn.function_name)["Configuration"]
        assert function["Runtime"] == "python3.13" and function["Handler"] == fn.handler
        concurrency = lam.get_function_concurrency(FunctionName=fn.function_name)
        assert concurrency["ReservedConcurrentExecutions"] == fn.reserved_concurrency
        versions = lam.list_versions_by_function(FunctionName=fn.function_name)["Versions"]
        assert [v["Version"] for v in versions if v["Version"] != "$LATEST"], "no published version"
    if cfg.runs_code:  # the code executor, sized from its graders
        concurrency = lam.get_function_concurrency(FunctionName=cfg.executor_function_name)
        assert concurrency["ReservedConcurrentExecutions"] == cfg.executor_reserved_concurrency
    resources = aws("cloudformation").describe_stack_resources(StackName=stack["StackName"])["StackResources"]
    roles = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources
             if r.get("ResourceType") == "AWS::IAM::Role"}
    for role in roles.values():  # every role of the stack (functions, training, flow logs) exists
        assert iam.get_role(RoleName=role)["Role"]["RoleName"] == role
    assert any(k.startswith("TrainingAccessBedrockCustomizationRole") for k in roles)
    assert any(k.startswith("TrainingAccessSageMakerTrainingRole") for k in roles)
    for fn in cfg.reward_functions:  # each function runs as its own execution role
        role_arn = lam.get_function(FunctionName=fn.function_name)["Configuration"]["Role"]
        assert role_arn.rsplit("/", 1)[-1] in roles.values()
        assert any(k.startswith(f"Reward{fn.construct_name}ExecutionRole") for k in roles)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    for fn in cfg.reward_functions:
        assert outputs[f"{fn.construct_name}SpecHash"] == fn.spec_hash
        fields = yaml.safe_load(outputs[f"{fn.construct_name}SageMakerRecipeFields"])
        endpoint = fields["training_config"]["rollout"]["rewards"]["api_endpoint"]
        assert endpoint["lambda_concurrency_limit"] == fn.reserved_concurrency
        assert endpoint["lambda_arn"] == fields["run"]["reward_lambda_arn"] == outputs[f"{fn.construct_name}VersionArn"]


EVALUATOR_PREFIX = "EvaluatorRegistration"


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    """The shipped environments' templates without the evaluator registration (custom resources)."""
    from tests.synth.test_safe_changes import synth_one

    out = {}
    for env in ("dev", "prod"):
        raw = json.loads(json.dumps(CDK_CONTEXT["environments"][env]))
        out[env] = synth_one(raw | {"evaluator_registration": {"enabled": False}}, env)
    return out


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_deployed_templates_are_the_shipped_ones_minus_the_evaluator_registration(
        synth: Any, templates: dict[str, dict[str, Any]], env: str) -> None:
    from tests.synth.test_snapshots import masked

    # Asset hashes masked: with bundling skipped, CDK names the staged asset per app.
    shipped, deployed = masked(synth.templates[env]), masked(templates[env])
    registration = {k for k in shipped["Resources"] if k.startswith(EVALUATOR_PREFIX)}
    assert registration, "the shipped template registers evaluators"
    assert deployed["Resources"] == {k: v for k, v in shipped["Resources"].items() if k not in registration}
    assert deployed["Outputs"] == {k: v for k, v in shipped["Outputs"].items() if not k.endswith("EvaluatorArn")}


def test_dev_deploys_destroys_and_deploys_again(aws: Any, synth: Any, templates: dict[str, dict[str, Any]]) -> None:
    template = templates["dev"]
    name = synth.stacks["dev"].stack_name
    functions = [fn.function_name for fn in config(synth, "dev").reward_functions]
    bootstrap(aws, template)
    for _round in range(2):
        stack = deploy(aws, name, template)
        check_deployed(aws, synth, "dev", stack)
        assert {f"/aws/lambda/{fn}" for fn in functions} <= log_group_names(aws)
        destroy(aws, name)
        # Nothing left that would collide with the next deploy: dev destroys its log groups.
        assert not {f"/aws/lambda/{fn}" for fn in functions} & log_group_names(aws)
        assert not set(functions) & {f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]}


def test_production_retains_its_log_groups_and_still_redeploys(aws: Any, synth: Any,
                                                               templates: dict[str, dict[str, Any]]) -> None:
    template = templates["prod"]
    name = synth.stacks["prod"].stack_name
    bootstrap(aws, template)
    before = log_group_names(aws)
    stack = deploy(aws, name, template)
    check_deployed(aws, synth, "prod", stack)
    first = log_group_names(aws) - before
    assert len(first) == len(config(synth, "prod").reward_functions)
    destroy(aws, name)
    assert first <= log_group_names(aws)  # retained: the logs outlive the stack
    stack = deploy(aws, name, template)  # generated names: no "already exists"
    check_deployed(aws, synth, "prod", stack)
    assert len(log_group_names(aws) - before - first) == len(first)
    destroy(aws, name)


def test_a_second_copy_with_a_name_suffix_lives_beside_the_first(aws: Any, synth: Any,
                                                                 templates: dict[str, dict[str, Any]]) -> None:
    from tests.synth.test_safe_changes import synth_one

    raw = json.loads(json.dumps(CDK_CONTEXT["environments"]["dev"]))
    copy_template = synth_one(raw | {"name_suffix": "copy2", "evaluator_registration": {"enabled": False}})
    template = templates["dev"]
    bootstrap(aws, template)
    bootstrap(aws, copy_template)
    deploy(aws, synth.stacks["dev"].stack_name, template)
    deploy(aws, "NovaRftRewards-dev-copy2", copy_template)
    names = {f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]}
    for fn in config(synth, "dev").reward_functions:
        assert {fn.function_name, f"{fn.function_name}-copy2"} <= names
    destroy(aws, "NovaRftRewards-dev-copy2")
    destroy(aws, synth.stacks["dev"].stack_name)
