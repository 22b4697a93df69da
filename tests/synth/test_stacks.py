"""Fine-grained assertions on the synthesized templates (one synth per session: see conftest)."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from aws_cdk.assertions import Match, Template

from reward_kit import names
from reward_kit.spec import parse_spec_json
from stacks.app_builder import stack_name
from stacks.config import EnvironmentConfig

ENVS = ("dev", "prod", "judge", "sandbox")


def config(synth: Any, env: str) -> EnvironmentConfig:
    return synth.stacks[env].config


def template(synth: Any, env: str) -> Template:
    return Template.from_json(synth.templates[env])


def resources(synth: Any, env: str, type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in synth.templates[env]["Resources"].items() if v["Type"] == type_}


def function_resource(synth: Any, env: str, function_name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, resource in resources(synth, env, "AWS::Lambda::Function").items():
        if resource["Properties"]["FunctionName"] == function_name:
            return logical_id, resource["Properties"]
    raise AssertionError(f"{function_name} not in {env}")


def policy_documents(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "Statement" in node and isinstance(node["Statement"], list):
            yield node
        for value in node.values():
            yield from policy_documents(value)
    elif isinstance(node, list):
        for value in node:
            yield from policy_documents(value)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def version_of(synth: Any, env: str, fn_id: str) -> tuple[str, dict[str, Any]]:
    (version,) = [(k, v) for k, v in resources(synth, env, "AWS::Lambda::Version").items()
                  if v["Properties"]["FunctionName"] == {"Ref": fn_id}]
    return version


def alias_of(synth: Any, env: str, fn_id: str) -> tuple[str, dict[str, Any]]:
    (alias,) = [(k, v) for k, v in resources(synth, env, "AWS::Lambda::Alias").items()
                if v["Properties"]["FunctionName"] == {"Ref": fn_id}]
    return alias


def role_policy_statements(synth: Any, env: str, role_prefix: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    roles = {k: v for k, v in resources(synth, env, "AWS::IAM::Role").items() if k.startswith(role_prefix)}
    assert len(roles) == 1, roles.keys()
    role = next(iter(roles.values()))["Properties"]
    statements = [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    return role, statements


def test_one_stack_per_environment(synth: Any) -> None:
    assert set(synth.stacks) == set(ENVS)
    assert {env: stack.stack_name for env, stack in synth.stacks.items()} == {e: stack_name(e) for e in ENVS}
    assert synth.stacks["judge"].account == "123456789012" and synth.stacks["judge"].region == "us-east-1"


@pytest.mark.parametrize("env", ENVS)
def test_functions_runtime_arch_name_timeout_memory_and_concurrency(synth: Any, env: str) -> None:
    cfg = config(synth, env)
    functions = resources(synth, env, "AWS::Lambda::Function").values()
    named = [f for f in functions if "FunctionName" in f["Properties"]]  # the registration's are unnamed
    assert len(named) == len(cfg.reward_functions) + cfg.runs_code  # + the code executor (test_code_sandbox.py)
    for fn in cfg.reward_functions:
        _, props = function_resource(synth, env, fn.function_name)
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == ["arm64"]
        assert "SageMaker" in props["FunctionName"] and len(props["FunctionName"]) <= 64
        assert props["FunctionName"] == f"SageMaker-reward-{fn.name}-{env}"
        assert props["Handler"] == fn.handler
        assert props["Timeout"] == fn.timeout_seconds >= 30
        assert props["MemorySize"] == fn.memory_mb
        assert props["ReservedConcurrentExecutions"] == fn.reserved_concurrency
        assert "ManagedPolicyArns" not in json.dumps(synth.templates[env])


def test_shipped_reserved_concurrency_values(synth: Any) -> None:
    expected = {("dev", "sentiment"): 2, ("dev", "gsm8k"): 3, ("prod", "sentiment"): 72, ("prod", "gsm8k"): 90}
    for (env, name), reserved in expected.items():
        _, props = function_resource(synth, env, f"SageMaker-reward-{name}-{env}")
        assert props["ReservedConcurrentExecutions"] == reserved


@pytest.mark.parametrize("env", ENVS)
def test_environment_variables(synth: Any, env: str) -> None:
    for fn in config(synth, env).reward_functions:
        _, props = function_resource(synth, env, fn.function_name)
        variables = props["Environment"]["Variables"]
        assert variables[names.ENV_REWARD_SPEC] == fn.reward_spec_json
        assert parse_spec_json(variables[names.ENV_REWARD_SPEC]) == fn.reward_spec  # runtime accepts it
        assert variables[names.ENV_REWARD_FUNCTION_NAME] == fn.name
        assert variables[names.ENV_POWERTOOLS_SERVICE_NAME] == fn.function_name
        assert variables[names.ENV_POWERTOOLS_METRICS_NAMESPACE] == names.METRIC_NAMESPACE
        # Powertools' level follows the environment's application log level (Lambda's governs).
        assert variables[names.ENV_POWERTOOLS_LOG_LEVEL] == {"dev": "DEBUG"}.get(env, "INFO")
        if fn.kind == "rlaif":
            assert variables[names.ENV_JUDGE_MODEL_ID] == fn.judge_model_id
            assert variables[names.ENV_JUDGE_MAX_CONCURRENCY] == str(fn.judge_max_concurrency)
        else:
            assert names.ENV_JUDGE_MODEL_ID not in variables
            assert names.ENV_JUDGE_MAX_CONCURRENCY not in variables


@pytest.mark.parametrize("env", ENVS)
def test_explicit_log_groups_with_retention_and_the_environments_removal_policy(synth: Any, env: str) -> None:
    cfg = config(synth, env)
    t = template(synth, env)
    t.resource_count_is("Custom::LogRetention", 0)
    groups = resources(synth, env, "AWS::Logs::LogGroup")
    # Plus the evaluator registration's handler and provider log groups, the code executor's, and
    # the code sandbox's flow-log group when the stack creates its VPC (same retention).
    extra = ((2 if cfg.evaluator_registration.enabled else 0) + cfg.runs_code
             + (cfg.runs_code and cfg.code_sandbox.creates_vpc))
    assert len(groups) == len(cfg.reward_functions) + extra
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {cfg.log_retention_days}
    retain = env == "prod"  # production: true retains by default; the others destroy
    assert cfg.deployment.retain_log_groups is retain
    # Every log group of the stack follows the environment's removal policy.
    assert {(g["DeletionPolicy"], g["UpdateReplacePolicy"]) for g in groups.values()} == {
        ("Retain", "Retain") if retain else ("Delete", "Delete")}
    for fn in cfg.reward_functions:
        _, props = function_resource(synth, env, fn.function_name)
        logical_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        group = groups[logical_id]
        assert group["Properties"]["RetentionInDays"] == cfg.log_retention_days
        # A retained group outlives the stack: CloudFormation names it, so a redeploy never collides.
        assert group["Properties"].get("LogGroupName") == (None if retain else f"/aws/lambda/{fn.function_name}")


# (application, system) log level per environment: dev for detail, prod for cost; the
# test-only "judge" and "sandbox" environments set neither and get the defaults, which favour cost.
LOG_LEVELS = {"dev": ("DEBUG", "INFO"), "prod": ("INFO", "WARN"), "judge": ("INFO", "WARN"), "sandbox": ("INFO", "WARN")}


@pytest.mark.parametrize("env", ENVS)
def test_log_format_and_levels_per_environment(synth: Any, env: str) -> None:
    application, system = LOG_LEVELS[env]
    cfg = config(synth, env)
    assert (cfg.application_log_level, cfg.system_log_level) == (application, system)
    for fn in cfg.reward_functions:
        _, props = function_resource(synth, env, fn.function_name)
        logging = dict(props["LoggingConfig"])
        logging.pop("LogGroup")
        assert logging == {"LogFormat": "JSON", "ApplicationLogLevel": application, "SystemLogLevel": system}
    template(synth, env).resource_properties_count_is(
        "AWS::Lambda::Function",
        {"LoggingConfig": Match.object_like({"LogFormat": "JSON", "ApplicationLogLevel": application,
                                             "SystemLogLevel": system})},
        len(cfg.reward_functions) + cfg.runs_code,  # the code executor logs at the environment's levels too
    )


@pytest.mark.parametrize("env", ENVS)
def test_execution_roles_write_only_their_own_log_group(synth: Any, env: str) -> None:
    for fn in config(synth, env).reward_functions:
        fn_id, props = function_resource(synth, env, fn.function_name)
        role_id = props["Role"]["Fn::GetAtt"][0]
        role = synth.templates[env]["Resources"][role_id]["Properties"]
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
        ]
        (log_statement,) = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]
                            if s.get("Sid") == "WriteOwnLogGroup"]
        assert log_statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
        log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_statement["Resource"] == {"Fn::GetAtt": [log_group_id, "Arn"]}


@pytest.mark.parametrize("env", ENVS)
def test_no_wildcard_actions_anywhere(synth: Any, env: str) -> None:
    documents = list(policy_documents(synth.templates[env]["Resources"]))
    assert documents
    for document in documents:
        for statement in document["Statement"]:
            assert "NotAction" not in statement
            for action in as_list(statement["Action"]):
                assert "*" not in action, (env, statement)
            # A conditional Deny grants nothing: the alarm topic's TLS-only rule (cdk-nag SNS3), and the
            # code sandbox's "not from the function's own code" (lambda:SourceFunctionArn, test_code_sandbox.py).
            assert statement["Effect"] == "Allow" or (
                statement["Effect"] == "Deny" and (
                    statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                    or list(statement["Condition"]) == ["ArnLike"]
                    and list(statement["Condition"]["ArnLike"]) == ["lambda:SourceFunctionArn"])
            ), (env, statement)


def test_judge_permissions_are_exactly_the_model_arns(synth: Any) -> None:
    t = template(synth, "judge")
    # Foundation model in the stack's region.
    t.has_resource_properties("AWS::IAM::Role", {"Policies": Match.array_with([Match.object_like({
        "PolicyDocument": {"Statement": Match.array_with([{
            "Sid": "InvokeJudgeModel", "Effect": "Allow", "Action": "bedrock:InvokeModel",
            "Resource": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
        }]), "Version": "2012-10-17"}})])})
    # Inference profile + the foundation model in every routed region.
    t.has_resource_properties("AWS::IAM::Role", {"Policies": Match.array_with([Match.object_like({
        "PolicyDocument": {"Statement": Match.array_with([{
            "Sid": "InvokeJudgeModel", "Effect": "Allow", "Action": "bedrock:InvokeModel",
            "Resource": [
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
                "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0",
                "arn:aws:bedrock:us-east-2::foundation-model/amazon.nova-pro-v1:0",
                "arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-pro-v1:0",
            ],
        }]), "Version": "2012-10-17"}})])})
    for env in ("dev", "prod"):
        assert "bedrock:InvokeModel" not in json.dumps(synth.templates[env])


def test_bedrock_role_trust_is_scoped_to_this_accounts_customization_jobs(synth: Any) -> None:
    role, _ = role_policy_statements(synth, "dev", "TrainingAccessBedrockCustomizationRole")
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert statement["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":bedrock:", {"Ref": "AWS::Region"}, ":",
        {"Ref": "AWS::AccountId"}, ":model-customization-job/*"]]}}


def test_sagemaker_role_trust_is_scoped_to_this_accounts_training_jobs(synth: Any) -> None:
    # Like the Bedrock role's: the account AND the job type, so no other SageMaker resource
    # (processing job, notebook, endpoint) of the account can assume it.
    role, _ = role_policy_statements(synth, "dev", "TrainingAccessSageMakerTrainingRole")
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": [{"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":sagemaker:", {"Ref": "AWS::Region"}, ":",
            {"Ref": "AWS::AccountId"}, ":training-job/*"]]}]},
    }


def test_sagemaker_role_trusts_hyperpod_clusters_only_when_configured(synth: Any) -> None:
    assert config(synth, "judge").training.hyperpod and not config(synth, "dev").training.hyperpod
    role, _ = role_policy_statements(synth, "judge", "TrainingAccessSageMakerTrainingRole")
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": ["arn:aws:sagemaker:us-east-1:123456789012:training-job/*",
                                      "arn:aws:sagemaker:us-east-1:123456789012:cluster/*"]},
    }


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("role_prefix", ["TrainingAccessBedrockCustomizationRole", "TrainingAccessSageMakerTrainingRole"])
def test_training_roles_invoke_exactly_the_reward_functions(synth: Any, env: str, role_prefix: str) -> None:
    cfg = config(synth, env)
    _, statements = role_policy_statements(synth, env, role_prefix)
    (invoke,) = [s for s in statements if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert invoke["Action"] == "lambda:InvokeFunction"
    expected = []
    for fn in cfg.reward_functions:
        fn_id, _ = function_resource(synth, env, fn.function_name)
        expected.append({"Fn::GetAtt": [fn_id, "Arn"]})
        # Every version (jobs pinned to an older one keep it) and the alias of this function only.
        expected.append({"Fn::Join": ["", [{"Fn::GetAtt": [fn_id, "Arn"]}, ":*"]]})
    assert sorted(map(json.dumps, as_list(invoke["Resource"]))) == sorted(map(json.dumps, expected))


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("role_prefix", ["TrainingAccessBedrockCustomizationRole", "TrainingAccessSageMakerTrainingRole"])
def test_training_roles_s3_access_is_prefix_scoped(synth: Any, env: str, role_prefix: str) -> None:
    training = config(synth, env).training
    _, statements = role_policy_statements(synth, env, role_prefix)
    by_sid = {s["Sid"]: s for s in statements}

    def arn(suffix: str) -> dict[str, Any]:
        return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{suffix}"]]}

    assert by_sid["ReadTrainingData"]["Action"] == "s3:GetObject"
    assert by_sid["ReadTrainingData"]["Resource"] == arn(f"{training.bucket}/{training.data_prefix}/*")
    assert by_sid["WriteTrainingOutput"]["Action"] == "s3:PutObject"
    assert by_sid["WriteTrainingOutput"]["Resource"] == arn(f"{training.bucket}/{training.output_prefix}/*")
    listing = by_sid["ListTrainingDataPrefix"]
    assert listing["Action"] == "s3:ListBucket" and listing["Resource"] == arn(training.bucket)
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [
        training.data_prefix, f"{training.data_prefix}/*", training.output_prefix, f"{training.output_prefix}/*"]}}
    s3_actions = {a for s in statements for a in as_list(s["Action"]) if a.startswith("s3:")}
    assert s3_actions == {"s3:GetObject", "s3:ListBucket", "s3:PutObject"}


def test_every_function_has_a_live_alias_on_its_current_version(synth: Any) -> None:
    for env in ENVS:
        for fn in config(synth, env).reward_functions:
            fn_id, _ = function_resource(synth, env, fn.function_name)
            version_id, _ = version_of(synth, env, fn_id)
            _, alias = alias_of(synth, env, fn_id)
            assert alias["Properties"]["Name"] == "live"
            assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
            expected = fn.provisioned_concurrency
            assert alias["Properties"].get("ProvisionedConcurrencyConfig") == (
                None if expected is None else {"ProvisionedConcurrentExecutions": expected})
    gsm8k = config(synth, "prod").function("gsm8k")
    assert gsm8k.provisioned_concurrency is not None and gsm8k.provisioned_concurrency <= gsm8k.reserved_concurrency


def test_tracing_follows_the_environment(synth: Any) -> None:
    for env, mode in (("dev", "PassThrough"), ("judge", "Active")):
        for fn in config(synth, env).reward_functions:
            _, props = function_resource(synth, env, fn.function_name)
            assert props.get("TracingConfig", {"Mode": "PassThrough"}) == {"Mode": mode}


@pytest.mark.parametrize("env", ENVS)
def test_outputs_to_paste_into_training_jobs(synth: Any, env: str) -> None:
    outputs = synth.templates[env]["Outputs"]
    assert outputs["BedrockCustomizationRoleArn"]["Value"]["Fn::GetAtt"][0].startswith(
        "TrainingAccessBedrockCustomizationRole")
    assert outputs["SageMakerTrainingRoleArn"]["Value"]["Fn::GetAtt"][0].startswith(
        "TrainingAccessSageMakerTrainingRole")
    for fn in config(synth, env).reward_functions:
        p = "".join(part.capitalize() for part in fn.name.split("-"))
        fn_id, _ = function_resource(synth, env, fn.function_name)
        version_id, _ = version_of(synth, env, fn_id)
        alias_id, _ = alias_of(synth, env, fn_id)
        pinned = {"Ref": version_id}  # a version resource's Ref is its version-qualified ARN
        assert outputs[f"{p}FunctionArn"]["Value"] == {"Fn::GetAtt": [fn_id, "Arn"]}
        assert outputs[f"{p}VersionArn"]["Value"] == pinned
        assert outputs[f"{p}AliasArn"]["Value"] == {"Ref": alias_id}
        assert outputs[f"{p}SpecHash"]["Value"] == fn.spec_hash
        assert outputs[f"{p}BedrockLambdaArn"]["Value"] == pinned
        assert outputs[f"{p}BedrockLambdaArn"]["Description"].startswith("rftConfig.graderConfig.lambdaGrader.lambdaArn")
        assert outputs[f"{p}RecipeRewardLambdaArn"]["Value"] == pinned
        assert "run.reward_lambda_arn" in outputs[f"{p}RecipeRewardLambdaArn"]["Description"]
        assert outputs[f"{p}LambdaConcurrencyLimit"]["Value"] == str(fn.reserved_concurrency)
        assert outputs[f"{p}BedrockGraderConfig"]["Value"] == {"Fn::Join": ["", [
            '{"graderConfig":{"lambdaGrader":{"lambdaArn":"', pinned, '"}}}']]}


def test_one_asset_per_function_kind(synth: Any) -> None:
    # Every function of a kind shares its kind's asset; kinds never share one (rlvr ships no rlaif/).
    for env in synth.templates:
        by_kind: dict[str, set[str]] = {}
        for _, fn in resources(synth, env, "AWS::Lambda::Function").items():
            kind = fn["Properties"]["Handler"].split(".")[0]
            by_kind.setdefault(kind, set()).add(json.dumps(fn["Properties"]["Code"], sort_keys=True))
        assert all(len(codes) == 1 for codes in by_kind.values()), by_kind
        all_codes = [code for codes in by_kind.values() for code in codes]
        assert len(set(all_codes)) == len(all_codes), by_kind
