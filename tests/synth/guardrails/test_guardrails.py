"""Guardrails: tags on every taggable resource, a boundary on every role, narrow key policies,
the training roles' KMS statement, and the config's one-line errors for them.

This is the half that synthesizes; the rest is tests/stacks/guardrails/test_guardrails.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.app_builder import stack_name
from stacks.guardrails import KEY_ADMIN_ACTIONS, LAMBDA_DEPLOY_ACTIONS, LOGS_KEY_ACTIONS
from tests.cdk_context import JUDGE_ENVIRONMENT
from tests.stacks.guardrails.test_guardrails import tag_property
from tests.synth.test_stacks import ENVS, as_list, config, resources, role_policy_statements

CRYPTO_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                  "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair", "kms:CreateGrant"}


def tags_of(value: Any) -> dict[str, str]:
    if isinstance(value, dict):  # a few types take a map
        return dict(value)
    return {tag["Key"]: tag["Value"] for tag in value}


@pytest.mark.parametrize("env", ENVS)
def test_every_taggable_resource_carries_the_configured_tags(synth: Any, env: str) -> None:
    expected = dict(config(synth, env).guardrails.tags)
    assert expected["project"] == "nova-rft-rewards"  # app-wide, from context.tags
    assert expected["environment"] == env
    tagged_types = set()
    for logical_id, resource in synth.templates[env]["Resources"].items():
        prop = tag_property(resource["Type"])
        if prop is None:
            continue
        tags = tags_of(resource.get("Properties", {}).get(prop, []))
        missing = {k: v for k, v in expected.items() if tags.get(k) != v}
        assert not missing, f"{env}: {logical_id} ({resource['Type']}) lacks {missing}"
        tagged_types.add(resource["Type"])
    assert {"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::Logs::LogGroup"} <= tagged_types


BOUNDARIES = {
    "judge": "arn:aws:iam::123456789012:policy/platform/NovaRftBoundary",
    "sandbox": "arn:aws:iam::123456789012:policy/NovaRftBoundary",  # a name, in the account
}


@pytest.mark.parametrize("env", ENVS)
def test_every_role_has_the_configured_boundary(synth: Any, env: str) -> None:
    roles = resources(synth, env, "AWS::IAM::Role")
    assert roles
    for logical_id, role in roles.items():
        assert role["Properties"].get("PermissionsBoundary") == BOUNDARIES.get(env), f"{env}: {logical_id}"
    if env == "sandbox":  # CDK's own roles too: the custom-resource Provider framework's
        assert any(k.startswith("EvaluatorRegistrationProviderRole") for k in roles)


JUDGE_KEY = JUDGE_ENVIRONMENT["training"]["kms_key_arn"]


@pytest.mark.parametrize("role_prefix", ["TrainingAccessBedrockCustomizationRole", "TrainingAccessSageMakerTrainingRole"])
def test_training_roles_use_the_bucket_key_only_through_s3(synth: Any, role_prefix: str) -> None:
    _, statements = role_policy_statements(synth, "judge", role_prefix)
    kms = [s for s in statements if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    assert kms == [{
        "Sid": "TrainingBucketKeyThroughS3",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": JUDGE_KEY,
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
    }]
    for env in ("dev", "prod"):
        _, statements = role_policy_statements(synth, env, role_prefix)
        assert not [s for s in statements if "kms" in json.dumps(s["Action"])]


def keys(synth: Any, env: str) -> dict[str, dict[str, Any]]:
    """The guardrails' keys (the monitoring component's alarm-topic key is its own)."""
    return {k: v["Properties"] for k, v in resources(synth, env, "AWS::KMS::Key").items() if k.startswith("Keys")}


def statements_by_sid(key: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}


@pytest.mark.parametrize("env", ENVS)
def test_keys_exist_only_where_configured_and_rotate(synth: Any, env: str) -> None:
    guardrails = config(synth, env).guardrails
    found = keys(synth, env)
    assert len(found) == guardrails.log_groups_key + guardrails.environment_variables_key
    for key in found.values():
        assert key["EnableKeyRotation"] is True
        for statement in key["KeyPolicy"]["Statement"]:
            assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotPrincipal" not in statement
            assert all("*" not in action for action in as_list(statement["Action"]))
            assert statement["Principal"] != "*" and statement["Principal"] != {"AWS": "*"}
        admin = statements_by_sid(key)["KeyAdministrationByTheAccount"]
        assert sorted(admin["Action"]) == sorted(KEY_ADMIN_ACTIONS)
        assert not CRYPTO_ACTIONS & set(admin["Action"])  # administering the key is not using it


@pytest.mark.parametrize("env", ["judge", "sandbox"])
def test_the_log_key_serves_exactly_this_stacks_log_groups(synth: Any, env: str) -> None:
    (key_id,) = [k for k in keys(synth, env) if k.startswith("KeysLogGroupsKey")]
    statements = statements_by_sid(keys(synth, env)[key_id])
    assert set(statements) == {"KeyAdministrationByTheAccount", "CloudWatchLogsForThisStacksLogGroups"}
    logs = statements["CloudWatchLogsForThisStacksLogGroups"]
    region = config(synth, env).region
    assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
    assert sorted(logs["Action"]) == sorted(LOGS_KEY_ACTIONS)
    groups = list(resources(synth, env, "AWS::Logs::LogGroup").values())
    assert len(groups) >= 2
    arn = f"arn:aws:logs:{region}:123456789012:log-group:"
    named = sorted(arn + g["Properties"]["LogGroupName"] for g in groups if "LogGroupName" in g["Properties"])
    # Groups CloudFormation names: by the stack name their generated names start with, nothing wider.
    generated = [arn + stack_name(env) + "-*"] if len(named) < len(groups) else []
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": named + generated}}
    assert (env == "sandbox") == bool(generated)  # the evaluator registration's groups have no name
    for group in groups:
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


@pytest.mark.parametrize("env", ["judge", "sandbox"])
def test_the_environment_key_is_decrypted_only_by_the_execution_roles(synth: Any, env: str) -> None:
    (key_id,) = [k for k in keys(synth, env) if k.startswith("KeysEnvironmentVariablesKey")]
    statements = statements_by_sid(keys(synth, env)[key_id])
    deploy = statements["DeployersEncryptThroughLambda"]
    assert sorted(deploy["Action"]) == sorted(LAMBDA_DEPLOY_ACTIONS)
    region = config(synth, env).region
    assert deploy["Condition"] == {"StringEquals": {"kms:ViaService": f"lambda.{region}.amazonaws.com"}}
    assert deploy["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    decrypt = statements["ExecutionRolesDecryptTheirEnvironment"]
    assert decrypt["Action"] == "kms:Decrypt"
    every = [f["Properties"] for f in resources(synth, env, "AWS::Lambda::Function").values()]
    functions = [f for f in every if "Environment" in f]
    assert functions and all(f["KmsKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]} for f in functions)
    assert all("KmsKeyArn" not in f for f in every if "Environment" not in f)
    if env == "sandbox":  # the evaluator registration's handler has no variables, its Provider framework has
        assert len(functions) < len(every)
    roles = sorted(json.dumps(f["Role"]) for f in functions)
    assert sorted(json.dumps(p) for p in as_list(decrypt["Principal"]["AWS"])) == sorted(set(roles))
