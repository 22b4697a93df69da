"""Issue 22: the operator tools (ops/) against a local fake of the Lambda and CloudFormation
APIs (tools/fake_aws.py) driven by real botocore clients; the fake's Invoke runs the real
handlers in this process. Requests are checked against botocore's service models (the
tools' own validator, and botocore's Stubber, which validates what a client would send).

Extra synths of a test-only environment (bundling skipped): deployed into the fake with an
older gsm8k spec (version 1), then with the current one (version 2), then rolled back with
``live_version: 1``. Like CloudFormation, the fake publishes a version only when the version
resource changed (sentiment's spec never changes: it keeps version 1).
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from ops import invoke, job, versions
from ops.service_model import validate
from reward_kit.spec import spec_hash, validate_spec
from tests import ROOT
from tests.cdk_context import CDK_CONTEXT
from tools.fake_aws import FakeAws, synthesize

NUMERIC = ROOT / "examples" / "numeric"
ACCOUNT, REGION = "111122223333", "us-east-1"
BUCKET = "amzn-s3-demo-bucket-ops"
STACK = "NovaRftRewards-ops"
GSM8K_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SageMaker-reward-gsm8k-ops"
NOVA = "amazon.nova-2-lite-v1:0:256k"

OPS_ENVIRONMENT: dict[str, Any] = {
    "account": ACCOUNT, "region": REGION,
    "training": {"bucket": BUCKET, "data_prefix": "rft/train", "output_prefix": "rft/output"},
    "reward_functions": {
        "gsm8k": {"reward_spec": json.loads((NUMERIC / "spec.json").read_text()),
                  "target_evaluations_per_second": 10, "expected_seconds_per_sample": 0.05},
        "sentiment": {"reward_spec": {"grader": "label", "labels": ["positive", "negative", "neutral"]},
                      "target_evaluations_per_second": 10, "expected_seconds_per_sample": 0.05},
    },
}


def context(environment: dict[str, Any]) -> dict[str, Any]:
    flags = {key: value for key, value in CDK_CONTEXT.items() if key not in ("environments", "pipeline")}
    return {**flags, "environments": {"ops": environment}}


def write_cdk_json(path: Path, environment: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"context": context(environment)}), encoding="utf-8")
    return path


OLDER_GSM8K_SPEC = {"grader": "numeric", "tolerance": 0.01}  # version 1's spec


@pytest.fixture(scope="module")
def templates() -> dict[str, dict[str, Any]]:
    older = copy.deepcopy(OPS_ENVIRONMENT)
    older["reward_functions"]["gsm8k"]["reward_spec"] = OLDER_GSM8K_SPEC
    rolled_back = copy.deepcopy(OPS_ENVIRONMENT)
    rolled_back["reward_functions"]["gsm8k"]["live_version"] = 1
    return {"older": synthesize("ops", context(older))[1], "current": synthesize("ops", context(OPS_ENVIRONMENT))[1],
            "rolled_back": synthesize("ops", context(rolled_back))[1]}


@pytest.fixture()
def fake(templates: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAws]:
    aws = FakeAws(ACCOUNT, REGION)
    aws.deploy(STACK, templates["older"])  # gsm8k version 1 (the older spec), sentiment version 1
    aws.deploy(STACK, templates["current"])  # gsm8k version 2; sentiment unchanged
    aws.start()
    for key, value in aws.endpoint_environment().items():
        monkeypatch.setenv(key, value)
    yield aws
    aws.stop()


@pytest.fixture()
def cdk_json(tmp_path: Path) -> Path:
    return write_cdk_json(tmp_path / "cdk.json", OPS_ENVIRONMENT)


def run(main: Any, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


# --- make versions ----------------------------------------------------------------------


def test_versions_lists_each_version_with_its_spec_hash_and_the_live_one(fake: FakeAws, cdk_json: Path) -> None:
    code, out, err = run(versions.main, "--env", "ops", "--function", "gsm8k", "--cdk-json", str(cdk_json))
    assert code == 0, err
    expected_hash = spec_hash(validate_spec(OPS_ENVIRONMENT["reward_functions"]["gsm8k"]["reward_spec"]))
    older_hash = spec_hash(validate_spec(OLDER_GSM8K_SPEC))
    lines = out.splitlines()
    assert lines[0] == f"stack {STACK}" and "SageMaker-reward-gsm8k-ops" in lines[1]
    (v1,) = [line for line in lines if line.split()[:1] == ["1"]]
    (v2,) = [line for line in lines if line.split()[:1] == ["2"]]
    assert older_hash in v1 and expected_hash in v2
    assert v2.endswith("<- live, stack outputs, = cdk.json spec") and "live" not in v1 and "cdk.json" not in v1
    assert "sentiment" not in out  # FN= selects one function


def test_versions_after_a_rollback_show_the_alias_and_the_outputs_on_the_old_version(
        fake: FakeAws, templates: dict[str, Any], cdk_json: Path) -> None:
    fake.deploy(STACK, templates["rolled_back"])  # live_version: 1 (the version resource is unchanged)
    code, out, _ = run(versions.main, "--env", "ops", "--cdk-json", str(cdk_json))
    assert code == 0
    gsm8k = out[out.index("SageMaker-reward-gsm8k-ops"):out.index("SageMaker-reward-sentiment-ops")]
    rows = {line.split()[0]: line for line in gsm8k.splitlines()[2:]}
    assert set(rows) == {"1", "2"}  # nothing published by the rollback
    assert rows["1"].endswith("<- live, stack outputs") and rows["2"].endswith("= cdk.json spec")
    assert "warning" not in out


def test_versions_of_a_stack_that_is_not_deployed_is_one_line(fake: FakeAws, tmp_path: Path) -> None:
    other = write_cdk_json(tmp_path / "cdk.json", OPS_ENVIRONMENT | {"name_suffix": "nope"})
    code, _, err = run(versions.main, "--env", "ops", "--cdk-json", str(other))
    assert code == 2 and err.count("\n") == 1
    assert "NovaRftRewards-ops-nope" in err and "does not exist" in err and "make deploy ENV=ops" in err


# --- make invoke ------------------------------------------------------------------------


def test_invoke_scores_on_the_deployed_handler_and_matches_the_local_dry_run(fake: FakeAws, cdk_json: Path) -> None:
    data = NUMERIC / "samples.jsonl"
    samples = [line for line in data.read_text().splitlines() if line.strip()]
    code, out, err = run(invoke.main, "--env", "ops", "--function", "gsm8k", "--data", str(data),
                         "--batch-size", "4", "--cdk-json", str(cdk_json))
    assert code == 0, out + err
    assert f"same scores as the local dry run on all {len(samples)} samples" in out
    assert "SageMaker-reward-gsm8k-ops version 2 (live)" in out
    # The real handler ran behind the fake's Invoke: batches of 4, one EMF record per invocation.
    calls = [c for c in fake.invocations if c["function"] == "SageMaker-reward-gsm8k-ops"]
    assert [c["samples"] for c in calls] == [4, 4, 4, len(samples) - 12] and {c["version"] for c in calls} == {"2"}
    records = [json.loads(line) for log in fake.logs for line in log.splitlines() if '"_aws"' in line]
    assert sum(r["Samples"] for r in records) == len(samples)
    # The dry run's report of the deployed scores.
    assert "== aggregate" in out and "failure reasons:" in out


def test_invoke_reports_a_different_score_when_the_local_spec_is_not_the_deployed_one(
        fake: FakeAws, cdk_json: Path, tmp_path: Path) -> None:
    local = tmp_path / "spec.json"
    spec = json.loads((NUMERIC / "spec.json").read_text())
    spec["format_score"] = 0.1  # the local spec gives a wrong but well-formed answer 0.1
    local.write_text(json.dumps(spec))
    code, out, _ = run(invoke.main, "--env", "ops", "--function", "gsm8k", "--data", str(NUMERIC / "samples.jsonl"),
                       "--spec", str(local), "--cdk-json", str(cdk_json))
    assert code == 1
    assert "<- different specs" in out and "DIFFERENT from the local dry run" in out
    assert "aggregate 0.0 deployed vs 0.1 local" in out


def test_invoke_flags_a_contract_violation(fake: FakeAws, cdk_json: Path) -> None:
    from rlvr.handler import handler

    def drops_the_last_output(event: Any, context: Any) -> Any:
        return handler(event, context)[:-1]

    fake.functions["SageMaker-reward-gsm8k-ops"].override = drops_the_last_output
    code, out, _ = run(invoke.main, "--env", "ops", "--function", "gsm8k", "--data", str(NUMERIC / "samples.jsonl"),
                       "--cdk-json", str(cdk_json))
    assert code == 1 and "CONTRACT VIOLATION" in out and "outputs for" in out and "no output for id(s)" in out

    def crashes(event: Any, context: Any) -> Any:
        raise RuntimeError("boom")

    fake.functions["SageMaker-reward-gsm8k-ops"].override = crashes
    code, out, _ = run(invoke.main, "--env", "ops", "--function", "gsm8k", "--data", str(NUMERIC / "samples.jsonl"),
                       "--cdk-json", str(cdk_json))
    assert code == 1 and "the function failed (Unhandled): boom" in out


def test_invoke_a_version_that_does_not_exist(fake: FakeAws, cdk_json: Path) -> None:
    code, _, err = run(invoke.main, "--env", "ops", "--function", "gsm8k", "--data", str(NUMERIC / "samples.jsonl"),
                       "--version", "9", "--cdk-json", str(cdk_json))
    assert code == 2 and "SageMaker-reward-gsm8k-ops:9" in err and "not found" in err


# --- make job ---------------------------------------------------------------------------


def job_args(cdk_json: Path, *extra: str) -> list[str]:
    return ["--env", "ops", "--function", "gsm8k", "--base-model", NOVA, "--cdk-json", str(cdk_json),
            "--train", f"s3://{BUCKET}/rft/train/gsm8k.jsonl", "--job-name", "gsm8k-ops-1", *extra]


def printed_request(out: str) -> dict[str, Any]:
    text = out[out.index("request (valid for botocore"):]
    text = text[text.index("\n") + 1:]
    return json.loads(text[:text.index("\n}\n") + 2])  # type: ignore[no-any-return]


def test_job_dry_run_prints_a_bedrock_request_valid_for_the_service_model(fake: FakeAws, cdk_json: Path) -> None:
    code, out, err = run(job.main, *job_args(cdk_json, "--batch-size", "64", "--samples-per-prompt", "8",
                                             "--learning-rate", "1e-5", "--dry-run"))
    assert code == 0, err
    request = printed_request(out)
    assert validate("bedrock", "CreateModelCustomizationJob", request) == []
    rft = request["customizationConfig"]["rftConfig"]
    assert request["customizationType"] == "REINFORCEMENT_FINE_TUNING"
    assert rft["graderConfig"]["lambdaGrader"]["lambdaArn"] == f"{GSM8K_ARN}:2"
    assert rft["hyperParameters"] == {"batchSize": 64, "trainingSamplePerPrompt": 8, "learningRate": 1e-5}
    assert request["roleArn"] == fake.stacks[STACK]["BedrockCustomizationRoleArn"]
    assert request["outputDataConfig"]["s3Uri"] == f"s3://{BUCKET}/rft/output/gsm8k-ops-1/"
    assert f"may read s3://{BUCKET}/rft/train/ and write s3://{BUCKET}/rft/output/" in out
    assert out.rstrip().endswith("dry run: nothing sent")


def test_job_after_a_rollback_names_the_live_version(fake: FakeAws, templates: dict[str, Any], cdk_json: Path) -> None:
    fake.deploy(STACK, templates["rolled_back"])
    code, out, _ = run(job.main, *job_args(cdk_json, "--dry-run"))
    assert code == 0
    assert printed_request(out)["customizationConfig"]["rftConfig"]["graderConfig"]["lambdaGrader"]["lambdaArn"] == (
        f"{GSM8K_ARN}:1")
    v1_hash = spec_hash(validate_spec(OLDER_GSM8K_SPEC))
    assert f"live version 1 (spec hash {v1_hash})" in out  # version 1's, read back from its description


def test_job_sends_exactly_the_validated_request(fake: FakeAws, cdk_json: Path) -> None:
    import boto3
    from botocore.stub import Stubber

    bedrock = boto3.client("bedrock", region_name=REGION)
    _, dry, _ = run(job.main, *job_args(cdk_json, "--dry-run"))
    job_arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/abc123"
    with Stubber(bedrock) as stub:  # the Stubber validates the parameters against the model too
        stub.add_response("create_model_customization_job", {"jobArn": job_arn}, printed_request(dry))
        out, err = io.StringIO(), io.StringIO()
        code = job.main(job_args(cdk_json), out, err, service_client=bedrock)
        stub.assert_no_pending_responses()
    assert code == 0 and out.getvalue().rstrip().endswith(f"started: {job_arn}")


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--train", "s3://other-bucket/rft/train/x.jsonl", f"may only read under s3://{BUCKET}/rft/train/"),
    ("--output", f"s3://{BUCKET}/rft/train/out/", f"may only write under s3://{BUCKET}/rft/output/"),
    ("--batch-size", "8", "hyperParameters.batchSize: must be >= 16, got 8"),
    ("--base-model", "not a model!", "baseModelIdentifier: must match"),
])
def test_job_refuses_what_the_role_or_the_service_model_would_refuse(
        fake: FakeAws, cdk_json: Path, flag: str, value: str, message: str) -> None:
    code, _, err = run(job.main, *job_args(cdk_json, flag, value, "--dry-run"))
    assert code == 2 and message in err and err.count("\n") == 1


def test_sagemaker_job_writes_a_recipe_override_and_an_evaluator_training_job(
        fake: FakeAws, cdk_json: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    base = f"arn:aws:sagemaker:{REGION}:aws:hub-content/SageMakerPublicHub/Model/nova-textgeneration-lite-v2/1.0.0"
    code, out, err = run(job.main, "--env", "ops", "--function", "gsm8k", "--base-model", base,
                         "--train", f"s3://{BUCKET}/rft/train/gsm8k/", "--job-name", "gsm8k-ops-2",
                         "--samples-per-prompt", "4", "--sagemaker", "--recipe-out", str(recipe),
                         "--cdk-json", str(cdk_json), "--dry-run")
    assert code == 0, err
    fields = yaml.safe_load(recipe.read_text())
    live = f"{GSM8K_ARN}:2"
    assert fields["run"]["reward_lambda_arn"] == live
    endpoint = fields["training_config"]["rollout"]["rewards"]["api_endpoint"]
    assert endpoint == {"lambda_arn": live, "lambda_concurrency_limit": 3}
    assert fields["training_config"]["rollout"]["advantage_strategy"]["number_generation"] == 4
    request = printed_request(out)
    assert validate("sagemaker", "CreateTrainingJob", request) == []
    assert request["ServerlessJobConfig"]["EvaluatorArn"] == fake.stacks[STACK]["Gsm8kEvaluatorArn"]
    assert fake.evaluators["SageMaker-reward-gsm8k-ops"][-1] == live  # the evaluator calls the live version
    assert request["RoleArn"] == fake.stacks[STACK]["SageMakerTrainingRoleArn"]


def test_job_is_sent_by_a_real_bedrock_client(fake: FakeAws, cdk_json: Path) -> None:
    _, dry, _ = run(job.main, *job_args(cdk_json, "--dry-run"))
    code, out, err = run(job.main, *job_args(cdk_json))
    assert code == 0, err
    sent = dict(fake.jobs[0])
    assert sent.pop("clientRequestToken")  # botocore fills in the idempotency token
    assert [sent] == [printed_request(dry)]  # what botocore serialized is what was validated
    assert out.rstrip().split("\n")[-1].startswith(f"started: arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/")
