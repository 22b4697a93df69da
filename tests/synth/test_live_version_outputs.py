"""Issue 22 (1): with ``live_version: N`` every output that names a version names N.

A rollback that moved only the alias left the version ARN, the Bedrock grader config, the
recipe fields, the spec hash and the evaluator on the version rolled back from, so a job
started from the outputs trained on the bad reward. Extra synth (bundling skipped).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from evaluator_registration import properties as props
from tests.stacks.config.test_config import base
from tests.synth.test_safe_changes import lookup, synth_one
from tools.fake_aws import resolve_intrinsics

FUNCTION_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:SageMaker-reward-sentiment-dev"
GSM8K_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:SageMaker-reward-gsm8k-dev"
LOOKED_UP_DESCRIPTION = "reward spec 0123456789ab (sentiment, dev)"


def raw_env() -> dict[str, Any]:
    raw = base()["dev"] | {"account": "111122223333", "region": "eu-west-1"}
    raw["reward_functions"]["gsm8k"] = {"reward_spec": {"grader": "numeric"}, "target_evaluations_per_second": 10,
                                        "expected_seconds_per_sample": 0.05}
    raw["reward_functions"]["sentiment"]["live_version"] = 3
    return raw


def references(value: Any) -> set[str]:
    """Logical ids a template fragment refers to (Ref / Fn::GetAtt), at any depth."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def test_every_output_naming_a_version_names_the_live_version_after_a_rollback() -> None:
    template = synth_one(raw_env())
    resources, outputs = template["Resources"], template["Outputs"]
    functions = {r["Properties"]["FunctionName"]: k for k, r in resources.items()
                 if r["Type"] == "AWS::Lambda::Function" and "FunctionName" in r["Properties"]}
    sentiment, gsm8k = functions["SageMaker-reward-sentiment-dev"], functions["SageMaker-reward-gsm8k-dev"]
    versions = {r["Properties"]["FunctionName"]["Ref"]: k for k, r in resources.items()
                if r["Type"] == "AWS::Lambda::Version"}
    (lookup_id,) = [k for k, r in resources.items() if r["Type"] == "Custom::AWS"]
    evaluators = {k: r for k, r in resources.items() if r["Type"] == props.RESOURCE_TYPE}

    # The version this deploy published is still created (it is retained for later), but
    # nothing that a user or a job reads points at it: no output, not the alias, not the evaluator.
    published = versions[sentiment]
    assert [k for k, r in resources.items() if published in references(r)] == []
    assert [name for name, output in outputs.items() if published in references(output["Value"])] == []
    # The unpinned function keeps its own newest version everywhere.
    assert any(versions[gsm8k] in references(o["Value"]) for n, o in outputs.items() if n.startswith("Gsm8k"))

    (alias_id,) = [k for k, r in resources.items()
                   if r["Type"] == "AWS::Lambda::Alias" and r["Properties"]["FunctionName"] == {"Ref": sentiment}]
    physical = {f"{sentiment}.Arn": FUNCTION_ARN, f"{gsm8k}.Arn": GSM8K_ARN, versions[gsm8k]: f"{GSM8K_ARN}:9",
                alias_id: f"{FUNCTION_ARN}:live", f"{lookup_id}.Description": LOOKED_UP_DESCRIPTION}
    for key, evaluator in evaluators.items():  # an evaluator's ARN stands for the Lambda ARN it registered
        registered = resolve_intrinsics(evaluator["Properties"][props.PROP_LAMBDA_ARN], physical)
        physical[f"{key}.{props.ATTR_EVALUATOR_ARN}"] = f"evaluator-of:{registered}"
    value = {name[len("Sentiment"):]: resolve_intrinsics(output["Value"], physical)
             for name, output in outputs.items() if name.startswith("Sentiment")}
    live = f"{FUNCTION_ARN}:3"
    assert value["VersionArn"] == value["BedrockLambdaArn"] == value["RecipeRewardLambdaArn"] == live
    assert json.loads(value["BedrockGraderConfig"]) == {"graderConfig": {"lambdaGrader": {"lambdaArn": live}}}
    fields = yaml.safe_load(value["SageMakerRecipeFields"])
    assert lookup(fields, "run.reward_lambda_arn") == live
    assert lookup(fields, "training_config.rollout.rewards.api_endpoint.lambda_arn") == live
    assert value["LiveVersion"] == "3"
    assert value["EvaluatorArn"] == f"evaluator-of:{live}"  # registered with version 3's ARN
    assert value["FunctionArn"] == FUNCTION_ARN and value["AliasArn"] == f"{FUNCTION_ARN}:live"
    # The spec hash is version 3's, read from its description at deploy time, not cdk.json's.
    assert value["SpecHash"] == "0123456789ab"
    call = json.loads(resolve_intrinsics(resources[lookup_id]["Properties"]["Create"], physical))
    assert call["action"] == "getFunctionConfiguration" and call["parameters"]["Qualifier"] == "3"
    # The lookup may read exactly that version's configuration.
    statements = [s for r in resources.values() if r["Type"] == "AWS::IAM::Policy"
                  for s in r["Properties"]["PolicyDocument"]["Statement"]
                  if "lambda:GetFunctionConfiguration" in json.dumps(s["Action"])]
    assert [(s["Action"], resolve_intrinsics(s["Resource"], physical)) for s in statements] == [
        ("lambda:GetFunctionConfiguration", live)]
    assert resources[alias_id]["Properties"]["FunctionVersion"] == "3"


def test_without_live_version_every_output_names_this_deploys_version() -> None:
    raw = raw_env()
    del raw["reward_functions"]["sentiment"]["live_version"]
    template = synth_one(raw)
    assert not [r for r in template["Resources"].values() if r["Type"] == "Custom::AWS"]
    outputs = template["Outputs"]
    (version_id,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Version"
                     and r["Properties"]["FunctionName"]["Ref"].startswith("RewardSentiment")]
    assert outputs["SentimentLiveVersion"]["Value"] == {"Fn::GetAtt": [version_id, "Version"]}
    for name in ("VersionArn", "BedrockLambdaArn", "RecipeRewardLambdaArn"):
        assert outputs[f"Sentiment{name}"]["Value"] == {"Ref": version_id}


def test_a_rolled_back_template_is_cfn_lint_clean(tmp_path: Any) -> None:
    import subprocess
    import sys
    from pathlib import Path

    from tests.synth.test_cfn_lint import makefile_cfn_lint_args

    path = tmp_path / "rolled-back.template.json"
    path.write_text(json.dumps(synth_one(raw_env())), encoding="utf-8")
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(path), *makefile_cfn_lint_args()], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
