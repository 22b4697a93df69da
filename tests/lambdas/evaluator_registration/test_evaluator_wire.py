"""Every request ``evaluator_registration.ai_registry`` builds, checked against the installed
botocore SageMaker service model: the operation exists, parameter names and types pass
botocore's ``ParamValidator``, and string constraints botocore does not check client-side
(pattern, length, enum) hold too. The installed botocore is the one the Lambda bundles
(``lambdas/evaluator_registration/requirements.txt``, also installed by requirements-dev.txt).
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib.metadata import version
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

from evaluator_registration import ai_registry as wire
from tests import ROOT

MODEL = botocore.session.get_session().get_service_model("sagemaker")
REGION, ACCOUNT = "eu-west-1", "210987654321"
HUB = wire.hub_name(REGION, ACCOUNT)
EVALUATOR = wire.Evaluator(
    name="SageMaker-reward-gsm8k-prod",
    description="Nova RFT reward function gsm8k (prod): multi grader",
    lambda_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SageMaker-reward-gsm8k-prod:live",
)

REQUESTS = {
    "describe_hub": wire.describe_hub(HUB),
    "create_hub": wire.create_hub(REGION, ACCOUNT),
    "import_first": wire.import_evaluator(HUB, EVALUATOR, wire.FIRST_VERSION),
    "import_next": wire.import_evaluator(HUB, EVALUATOR, wire.next_version("41.0.0")),
    "describe_latest": wire.describe_evaluator(HUB, EVALUATOR.name),
    "describe_version": wire.describe_evaluator(HUB, EVALUATOR.name, "2.0.0"),
    "list_versions": wire.list_evaluator_versions(HUB, EVALUATOR.name),
    "list_versions_page": wire.list_evaluator_versions(HUB, EVALUATOR.name, "token-2"),
    "delete_version": wire.delete_evaluator_version(HUB, EVALUATOR.name, "1.0.0"),
}


def constraint_errors(value: Any, shape: Shape, path: str) -> list[str]:
    """What the service would reject that botocore's client-side validator lets through."""
    errors: list[str] = []
    meta = shape.metadata
    if shape.type_name == "string":
        if "enum" in meta and value not in meta["enum"]:
            errors.append(f"{path}: {value!r} not in {meta['enum']}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {meta['pattern']}")
    if shape.type_name in ("string", "list"):
        if "min" in meta and len(value) < meta["min"]:
            errors.append(f"{path}: shorter than {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: longer than {meta['max']}")
    if shape.type_name == "list":
        for index, item in enumerate(value):
            errors += constraint_errors(item, shape.member, f"{path}[{index}]")
    if shape.type_name == "structure":
        for key, item in value.items():
            errors += constraint_errors(item, shape.members[key], f"{path}.{key}")
    return errors


def test_the_installed_botocore_is_the_one_the_lambda_bundles() -> None:
    pins = dict(
        line.split("==") for line in (ROOT / "lambdas/evaluator_registration/requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert version("botocore") == pins["botocore"]
    assert version("boto3") == pins["boto3"]


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_request_is_valid_for_the_service_model(name: str) -> None:
    request = REQUESTS[name]
    assert request.operation in MODEL.operation_names
    assert request.operation in wire.OPERATIONS
    shape = MODEL.operation_model(request.operation).input_shape
    report = ParamValidator().validate(request.params, shape)
    assert not report.has_errors(), report.generate_report()
    assert constraint_errors(request.params, shape, request.operation) == []


def test_the_validator_used_above_does_reject_bad_requests() -> None:
    shape = MODEL.operation_model("ImportHubContent").input_shape
    bad = dict(REQUESTS["import_first"].params, HubContentVersion=1, Unknown="x")
    del bad["HubContentDocument"]
    report = ParamValidator().validate(bad, shape).generate_report()
    assert "HubContentDocument" in report and "Unknown" in report and "HubContentVersion" in report
    valid_names = dict(REQUESTS["import_first"].params, HubContentVersion="v1", HubContentType="Doc")
    errors = constraint_errors(valid_names, shape, "x")
    assert {e.split(":")[0] for e in errors} == {"x.HubContentType", "x.HubContentVersion"}


def test_every_operation_exists_and_read_only_ones_are_reads() -> None:
    assert set(wire.OPERATIONS) <= set(MODEL.operation_names)
    assert wire.READ_ONLY_OPERATIONS <= set(wire.OPERATIONS)
    assert all(op.startswith(("Describe", "List")) for op in wire.READ_ONLY_OPERATIONS)


def test_limits_used_by_the_cdk_config_are_the_models() -> None:
    name_shape = MODEL.operation_model("ImportHubContent").input_shape.members["HubContentName"]
    description_shape = MODEL.operation_model("ImportHubContent").input_shape.members["HubContentDescription"]
    assert wire.EVALUATOR_NAME_PATTERN == name_shape.metadata["pattern"]
    assert wire.EVALUATOR_NAME_MAX == name_shape.metadata["max"]
    assert wire.EVALUATOR_DESCRIPTION_MAX == description_shape.metadata["max"]


def _base32hex_by_hand(data: bytes) -> str:
    """RFC 4648 section 7 ("base32hex"), written out bit by bit as the SDK's encoder does."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
    bits = "".join(f"{byte:08b}" for byte in data)
    bits += "0" * (-len(bits) % 5)
    return "".join(alphabet[int(bits[i:i + 5], 2)] for i in range(0, len(bits), 5))


def test_hub_name_is_the_sdks_derivation() -> None:
    display = f"AiRegistry-{REGION}-{ACCOUNT}"
    assert wire.hub_display_name(REGION, ACCOUNT) == display
    assert HUB == _base32hex_by_hand(hashlib.sha256(display.encode()).digest())
    assert len(HUB) == 52 and "=" not in HUB
    assert re.fullmatch(MODEL.operation_model("CreateHub").input_shape.members["HubName"].metadata["pattern"], HUB)
    assert wire.hub_name("us-east-1", ACCOUNT) != HUB and wire.hub_name(REGION, "123456789012") != HUB


def test_evaluator_document_and_keywords_are_the_sdks() -> None:
    params = REQUESTS["import_first"].params
    assert params["HubContentType"] == "JsonDoc" and params["DocumentSchemaVersion"] == "2.0.0"
    document = json.loads(params["HubContentDocument"])
    assert document["SubType"] == "AWS/Evaluator"
    assert isinstance(document["JsonContent"], str)  # a JSON string inside the JSON document
    assert json.loads(document["JsonContent"]) == {"Reference": EVALUATOR.lambda_arn, "EvaluatorType": "RewardFunction"}
    assert params["HubContentSearchKeywords"] == [
        "method:lambda", "@subtype:aws/evaluator", "@evaluatortype:rewardfunction", "@contenttype:byolambda"]
    assert wire.document_reference(params["HubContentDocument"]) == EVALUATOR.lambda_arn
    assert wire.document_reference("not json") is None
    assert wire.document_reference('{"JsonContent": "[]"}') is None


def test_versions_follow_the_sdk() -> None:
    assert wire.next_version(None) == "1.0.0"
    assert wire.next_version("1.0.0") == "2.0.0"
    assert wire.next_version("9.3.1") == "10.0.0"
    with pytest.raises(ValueError, match="no next major"):
        wire.next_version("9999.0.0")
    with pytest.raises(ValueError, match="not <major>"):
        wire.next_version("latest")


def test_evaluator_arn_prefix_round_trips() -> None:
    prefix = wire.evaluator_arn_prefix("aws", REGION, ACCOUNT, HUB, EVALUATOR.name)
    assert prefix == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/{HUB}/JsonDoc/{EVALUATOR.name}"
    assert wire.parse_evaluator_arn_prefix(prefix) == (HUB, EVALUATOR.name)
    assert wire.parse_evaluator_arn_prefix(prefix + "/1.0.0") is None
    assert wire.parse_evaluator_arn_prefix("AWSCDK::CustomResourceProviderFramework::CREATE_FAILED") is None
