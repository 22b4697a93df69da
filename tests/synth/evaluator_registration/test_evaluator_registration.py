"""Evaluator registration in the synthesized templates, and its config (no extra synth).

dev and prod register (the default; prod overrides one description); the test-only ``judge``
environment turns the switch off.

This is the half that synthesizes; the rest is tests/stacks/evaluator_registration/test_evaluator_registration.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator_registration import ai_registry
from evaluator_registration import properties as props
from stacks.config.evaluators import default_description
from tests.cdk_context import CDK_CONTEXT
from tests.synth.test_stacks import as_list, config, function_resource, resources

REGISTERING = ("dev", "prod")
HANDLER = "evaluator_registration.handler.on_event"
SAGEMAKER_ACTIONS = sorted(f"sagemaker:{op}" for op in ai_registry.OPERATIONS)


def registrations(synth: Any, env: str) -> dict[str, dict[str, Any]]:
    return resources(synth, env, props.RESOURCE_TYPE)


def handler(synth: Any, env: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v["Properties"]) for k, v in resources(synth, env, "AWS::Lambda::Function").items()
                if v["Properties"].get("Handler") == HANDLER]
    return found


def scoped_arn(resource: str, cfg: Any = None) -> Any:
    """An ARN in the stack's own account and region (literal for an environment-specific stack)."""
    if cfg is not None and cfg.account:
        return f"arn:aws:sagemaker:{cfg.region}:{cfg.account}:{resource}"
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sagemaker:", {"Ref": "AWS::Region"}, ":",
                              {"Ref": "AWS::AccountId"}, f":{resource}"]]}


def statements_of_role(synth: Any, env: str, role_id: str) -> list[dict[str, Any]]:
    template = synth.templates[env]["Resources"]
    role = template[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    found = [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    for policy in resources(synth, env, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"].get("Roles", []):
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


@pytest.mark.parametrize("env", REGISTERING)
def test_one_registration_per_reward_function_with_its_invoke_arn(synth: Any, env: str) -> None:
    cfg = config(synth, env)
    by_name = {r["Properties"][props.PROP_EVALUATOR_NAME]: r["Properties"] for r in registrations(synth, env).values()}
    assert len(by_name) == len(registrations(synth, env)) == len(cfg.reward_functions)
    versions = resources(synth, env, "AWS::Lambda::Version")
    for fn in cfg.reward_functions:
        evaluator = cfg.evaluator_registration.evaluator(fn.name)
        registration = by_name[evaluator.name]
        fn_id, _ = function_resource(synth, env, fn.function_name)
        # The version this deploy publishes (Ref of a version is its qualified ARN): a new
        # evaluator version per function version, like a pinned training job.
        (version_id,) = [k for k, v in versions.items() if v["Properties"]["FunctionName"] == {"Ref": fn_id}]
        assert registration[props.PROP_LAMBDA_ARN] == {"Ref": version_id}
        assert registration[props.PROP_DESCRIPTION] == evaluator.description


def test_names_and_descriptions_default_from_the_function_unless_configured(synth: Any) -> None:
    for env in REGISTERING:
        for fn in config(synth, env).reward_functions:
            evaluator = config(synth, env).evaluator_registration.evaluator(fn.name)
            assert evaluator.name == fn.function_name
            configured = CDK_CONTEXT["environments"][env].get("evaluator_registration", {}).get("evaluators", {})
            expected = configured.get(fn.name, {}).get("description", default_description(env, fn))
            assert evaluator.description == expected
    assert config(synth, "prod").evaluator_registration.evaluator("gsm8k").description.startswith("GSM8K")


@pytest.mark.parametrize("env", REGISTERING)
def test_evaluator_arn_output_next_to_the_function_arn(synth: Any, env: str) -> None:
    outputs = synth.templates[env]["Outputs"]
    by_name = {r["Properties"][props.PROP_EVALUATOR_NAME]: k for k, r in registrations(synth, env).items()}
    for fn in config(synth, env).reward_functions:
        key = fn.construct_name
        assert f"{key}FunctionArn" in outputs
        registration_id = by_name[config(synth, env).evaluator_registration.evaluator(fn.name).name]
        assert outputs[f"{key}EvaluatorArn"]["Value"] == {"Fn::GetAtt": [registration_id, props.ATTR_EVALUATOR_ARN]}
        assert "ServerlessJobConfig.EvaluatorArn" in outputs[f"{key}EvaluatorArn"]["Description"]


@pytest.mark.parametrize("env", REGISTERING)
def test_handler_runs_from_its_own_asset(synth: Any, env: str) -> None:
    _, handler_props = handler(synth, env)
    assert handler_props["Runtime"] == "python3.13" and handler_props["Architectures"] == ["arm64"]
    assert handler_props["Timeout"] == 300
    reward_codes = [function_resource(synth, env, fn.function_name)[1]["Code"]
                    for fn in config(synth, env).reward_functions]
    assert all(code != handler_props["Code"] for code in reward_codes)
    provider_ids = {r["Properties"]["ServiceToken"]["Fn::GetAtt"][0] for r in registrations(synth, env).values()}
    assert len(provider_ids) == 1  # one provider per stack


@pytest.mark.parametrize("env", REGISTERING)
def test_handler_role_may_call_only_the_hub_operations_on_this_accounts_hubs(synth: Any, env: str) -> None:
    _, handler_props = handler(synth, env)
    role_id = handler_props["Role"]["Fn::GetAtt"][0]
    statements = statements_of_role(synth, env, role_id)
    assert len(statements) == 2
    logs, sagemaker = sorted(statements, key=lambda s: json.dumps(s["Action"]))
    assert sorted(as_list(logs["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["Resource"] == {"Fn::GetAtt": [handler_props["LoggingConfig"]["LogGroup"]["Ref"], "Arn"]}
    assert sorted(as_list(sagemaker["Action"])) == SAGEMAKER_ACTIONS
    assert "DeleteHub" not in json.dumps(sagemaker["Action"]).replace("DeleteHubContent", "")
    cfg = config(synth, env)
    assert sorted(sagemaker["Resource"], key=json.dumps) == sorted(
        [scoped_arn("hub/*", cfg), scoped_arn("hub-content/*", cfg)], key=json.dumps)
    assert "Condition" not in sagemaker
    trust = synth.templates[env]["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    # No reward function shares the role, and no other role may touch the registry.
    assert all(function_resource(synth, env, fn.function_name)[1]["Role"]["Fn::GetAtt"][0] != role_id
               for fn in config(synth, env).reward_functions)
    for other_id in resources(synth, env, "AWS::IAM::Role"):
        if other_id != role_id:
            assert "sagemaker:" not in json.dumps(statements_of_role(synth, env, other_id)).replace(
                "sagemaker:Describe", "")  # training roles describe nothing here either


@pytest.mark.parametrize("env", REGISTERING)
def test_provider_framework_may_only_invoke_the_handler(synth: Any, env: str) -> None:
    handler_id, _ = handler(synth, env)
    (token_id,) = {r["Properties"]["ServiceToken"]["Fn::GetAtt"][0] for r in registrations(synth, env).values()}
    framework = synth.templates[env]["Resources"][token_id]["Properties"]
    statements = statements_of_role(synth, env, framework["Role"]["Fn::GetAtt"][0])
    lambda_resources = [r for s in statements if any(a.startswith("lambda:") for a in as_list(s["Action"]))
                        for r in as_list(s["Resource"])]
    assert lambda_resources and all(handler_id in json.dumps(r) for r in lambda_resources)
    assert {a for s in statements for a in as_list(s["Action"])} == {
        "lambda:InvokeFunction", "lambda:GetFunction", "logs:CreateLogStream", "logs:PutLogEvents"}


def test_the_switch_removes_every_part_of_it(synth: Any) -> None:
    cfg = config(synth, "judge")
    assert not cfg.evaluator_registration.enabled
    template = synth.templates["judge"]
    assert registrations(synth, "judge") == {}
    functions = resources(synth, "judge", "AWS::Lambda::Function").values()
    assert len(functions) == len(cfg.reward_functions)
    assert not [k for k in template["Outputs"] if k.endswith("EvaluatorArn")]
    text = json.dumps(template)
    assert HANDLER not in text and "sagemaker:ImportHubContent" not in text and "Custom::" not in text
    assert synth.stacks["judge"].evaluator_registration is None
