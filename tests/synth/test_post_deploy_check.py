"""Issue 22: the pipeline's post-deploy check. In the synthesized two-account pipeline, each
stage runs it after its deploy, through a role of the environment's account that only the
pipeline may assume; the check itself (ops/post_deploy.py) passes on a healthy deploy and
fails on a function that breaks the contract on its example data, or scores differently
from the local dry run (against the Lambda/CloudFormation fake, real handlers in-process).

The role name alone: tests/stacks/pipeline/test_post_deploy_check.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from ops import post_deploy
from stacks.app_builder import PIPELINE_STACK, stack_name
from stacks.pipeline.post_deploy import check_role_arn, check_role_name
from tests.synth.pipeline.test_pipeline import (  # noqa: F401 - fixtures
    DEV_ACCOUNT,
    PROD_ACCOUNT,
    PipelineSynth,
    pipeline_resource,
    pipeline_synth,
)
from tests.synth.test_operator_tools import ACCOUNT, OPS_ENVIRONMENT, REGION, STACK, context, write_cdk_json
from tools.fake_aws import FakeAws, synthesize


def test_each_stage_runs_the_check_after_its_deploy(pipeline_synth: PipelineSynth) -> None:  # noqa: F811
    stages = {s["Name"]: s for s in pipeline_resource(pipeline_synth)["Stages"]}
    projects = {k: r["Properties"] for k, r in pipeline_synth.template["Resources"].items()
                if r["Type"] == "AWS::CodeBuild::Project"}
    for env, account in (("dev", DEV_ACCOUNT), ("prod", PROD_ACCOUNT)):
        actions = stages[f"Deploy-{env}"]["Actions"]
        deploys = [a for a in actions if a["ActionTypeId"]["Category"] == "Deploy"]
        (check,) = [a for a in actions if a["Name"].startswith(f"PostDeployCheck-{env}")]
        assert check["ActionTypeId"]["Provider"] == "CodeBuild"
        assert check["RunOrder"] > max(a["RunOrder"] for a in deploys)  # after the change set is executed
        project = projects[check["Configuration"]["ProjectName"]["Ref"]]
        spec = json.loads(project["Source"]["BuildSpec"])
        role_arn = f"arn:aws:iam::{account}:role/{check_role_name(stack_name(env))}"
        assert spec["phases"]["build"]["commands"] == [f'make post-deploy-check ENV={env} ARGS="--role-arn {role_arn}"']
        # Its role may assume exactly that role.
        role_id = project["ServiceRole"]["Fn::GetAtt"][0]
        statements = [s for r in pipeline_synth.template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"
                      and {"Ref": role_id} in r["Properties"]["Roles"]
                      for s in r["Properties"]["PolicyDocument"]["Statement"]]
        assert [s["Resource"] for s in statements if s["Action"] == "sts:AssumeRole"] == [role_arn]
    # Dev's check runs before prod's approval: the stages are in order.
    names = [s["Name"] for s in pipeline_resource(pipeline_synth)["Stages"]]
    assert names.index("Deploy-dev") < names.index("Deploy-prod")


def test_the_check_role_in_each_environment_trusts_only_the_pipeline_and_may_only_invoke(
        pipeline_synth: PipelineSynth) -> None:  # noqa: F811
    for env, account in (("dev", DEV_ACCOUNT), ("prod", PROD_ACCOUNT)):
        (path,) = [p for p in pipeline_synth.template_files if f"PipelineDeploy{env}NovaRftRewards{env}" in p.name]
        template = json.loads(path.read_text())
        (role,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"
                   and r["Properties"].get("RoleName") == check_role_name(stack_name(env))]
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert json.dumps(trust["Principal"]).count(f":iam::{PIPELINE_ACCOUNT_ID}:root") == 1
        assert trust["Condition"] == {"ArnLike": {
            "aws:PrincipalArn": f"arn:aws:iam::{PIPELINE_ACCOUNT_ID}:role/{PIPELINE_STACK}-*"}}
        (policy,) = role["Policies"]
        actions = sorted(a for s in policy["PolicyDocument"]["Statement"]
                         for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
        assert actions == ["cloudformation:DescribeStacks", "lambda:GetFunctionConfiguration", "lambda:InvokeFunction"]
        assert check_role_arn_matches(account, env)


PIPELINE_ACCOUNT_ID = DEV_ACCOUNT  # the pipeline account also hosts dev in this config


def check_role_arn_matches(account: str, env: str) -> bool:
    from stacks.config import parse_environments
    from tests.synth.pipeline.test_pipeline import pipeline_context

    envs = parse_environments(pipeline_context()["environments"])
    return check_role_arn(envs[env], stack_name(env)) == f"arn:aws:iam::{account}:role/{stack_name(env)}-post-deploy-check"


@pytest.fixture(scope="module")
def ops_template() -> dict[str, Any]:
    return synthesize("ops", context(OPS_ENVIRONMENT))[1]


@pytest.fixture()
def deployed(ops_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAws]:
    aws = FakeAws(ACCOUNT, REGION)
    aws.deploy(STACK, ops_template)
    aws.start()
    for key, value in aws.endpoint_environment().items():
        monkeypatch.setenv(key, value)
    yield aws
    aws.stop()


def run_check(cdk_json: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = post_deploy.main(["--env", "ops", "--cdk-json", str(cdk_json)], out, err)
    return code, out.getvalue() + err.getvalue()


def test_the_check_passes_on_a_healthy_deploy(deployed: FakeAws, tmp_path: Path) -> None:
    code, out = run_check(write_cdk_json(tmp_path / "cdk.json", OPS_ENVIRONMENT))
    assert code == 0, out
    assert "ok    SageMaker-reward-gsm8k-ops:1 on examples/numeric/samples.jsonl" in out
    assert "ok    SageMaker-reward-sentiment-ops:1 on examples/label/samples.jsonl" in out
    assert out.rstrip().endswith("post-deploy check passed")
    assert {c["function"] for c in deployed.invocations} == {"SageMaker-reward-gsm8k-ops", "SageMaker-reward-sentiment-ops"}


def test_the_check_fails_a_stage_whose_function_breaks_the_contract_on_its_example_data(
        deployed: FakeAws, tmp_path: Path) -> None:
    from rlvr.handler import handler

    def loses_unanswerable_samples(event: Any, context: Any) -> Any:
        # The AWS blog's Lambda: samples it cannot grade come back without their id.
        return [dict(o, id="0") if o["aggregate_reward_score"] == 0 else o for o in handler(event, context)]

    deployed.functions["SageMaker-reward-sentiment-ops"].override = loses_unanswerable_samples
    code, out = run_check(write_cdk_json(tmp_path / "cdk.json", OPS_ENVIRONMENT))
    assert code == 1
    assert "FAIL  SageMaker-reward-sentiment-ops:1" in out and "no output for id(s)" in out
    assert "ok    SageMaker-reward-gsm8k-ops:1" in out  # the other function still passes
    assert out.rstrip().endswith("post-deploy check FAILED")


def test_the_check_fails_when_the_deployed_spec_is_not_this_commits(deployed: FakeAws, tmp_path: Path) -> None:
    changed = json.loads(json.dumps(OPS_ENVIRONMENT))
    changed["reward_functions"]["gsm8k"]["reward_spec"]["format_score"] = 0.1  # committed, not deployed
    code, out = run_check(write_cdk_json(tmp_path / "cdk.json", changed))
    assert code == 1 and "FAIL  SageMaker-reward-gsm8k-ops:1" in out and "deployed vs 0.1 local" in out
