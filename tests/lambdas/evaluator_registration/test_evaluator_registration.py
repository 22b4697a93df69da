"""``evaluator_registration.handler.on_event`` against a fake SageMaker on 127.0.0.1.

A real boto3 client (pointed at the fake with ``AWS_ENDPOINT_URL_SAGEMAKER``) sends every
request, so these tests cover serialization, error parsing and botocore's retries too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from evaluator_registration import ai_registry as wire
from evaluator_registration import handler
from evaluator_registration import properties as props
from tests.lambdas.fake_sagemaker import ACCOUNT, REGION, Error, FakeSageMaker

STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/NovaRftRewards-dev/0f3c5a60-0000-0000-0000-000000000000"
HUB = wire.hub_name(REGION, ACCOUNT)
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SageMaker-reward-gsm8k-dev"
ALIAS_ARN = LAMBDA_ARN + ":live"
MUTATING = {"CreateHub", "ImportHubContent", "DeleteHubContent"}


@pytest.fixture(scope="module")
def _server():
    fake = FakeSageMaker().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def sagemaker(_server: FakeSageMaker, monkeypatch: pytest.MonkeyPatch) -> FakeSageMaker:
    """The fake, empty, with boto3 pointed at it (dummy credentials, no retry sleeps)."""
    from botocore.retries.standard import ExponentialBackoff

    _server.reset()
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", _server.url)
    # botocore's real backoff (seconds for throttling) and the import poll are not under test.
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    monkeypatch.setattr(handler, "POLL_SECONDS", 0.0)
    return _server


def properties(name: str = "SageMaker-reward-gsm8k-dev", description: str = "GSM8K accuracy",
               arn: str = LAMBDA_ARN) -> dict[str, str]:
    return {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
            props.PROP_EVALUATOR_NAME: name, props.PROP_DESCRIPTION: description, props.PROP_LAMBDA_ARN: arn}


def event(request_type: str, new: dict[str, str] | None = None, old: dict[str, str] | None = None,
          physical_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "RequestType": request_type, "StackId": STACK_ID, "RequestId": "req-1",
        "LogicalResourceId": "EvaluatorGsm8k", "ResourceType": props.RESOURCE_TYPE,
        "ResourceProperties": new if new is not None else properties(),
    }
    if old is not None:
        body["OldResourceProperties"] = old
    if physical_id is not None:
        body["PhysicalResourceId"] = physical_id
    return body


def physical_id(name: str = "SageMaker-reward-gsm8k-dev") -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/{HUB}/JsonDoc/{name}"


def content_arn(name: str, version: str) -> str:
    return f"{physical_id(name)}/{version}"


def create(sagemaker: FakeSageMaker, **kwargs: str) -> dict[str, Any]:
    result = handler.on_event(event("Create", properties(**kwargs)), None)
    sagemaker.requests.clear()
    return result


# --- Create ---------------------------------------------------------------------------------------


def test_create_without_hub_creates_the_hub_then_imports_version_1(sagemaker: FakeSageMaker) -> None:
    result = handler.on_event(event("Create"), None)

    assert sagemaker.operations() == ["DescribeHub", "CreateHub", "DescribeHub", "DescribeHubContent",
                                      "ImportHubContent", "DescribeHubContent"]
    assert sagemaker.params("CreateHub") == [{"HubName": HUB, "HubDisplayName": f"AiRegistry-{REGION}-{ACCOUNT}",
                                              "HubDescription": "AI Registry Hub"}]
    imported = sagemaker.params("ImportHubContent")[0]
    assert imported["HubName"] == HUB
    assert imported["HubContentType"] == "JsonDoc"
    assert imported["DocumentSchemaVersion"] == "2.0.0"
    assert imported["HubContentName"] == "SageMaker-reward-gsm8k-dev"
    assert imported["HubContentVersion"] == "1.0.0"
    assert imported["HubContentDescription"] == "GSM8K accuracy"
    assert sorted(imported["HubContentSearchKeywords"]) == sorted(
        ["method:lambda", "@subtype:aws/evaluator", "@evaluatortype:rewardfunction", "@contenttype:byolambda"])
    document = json.loads(imported["HubContentDocument"])
    assert document["SubType"] == "AWS/Evaluator"
    assert json.loads(document["JsonContent"]) == {"Reference": LAMBDA_ARN, "EvaluatorType": "RewardFunction"}

    assert result == {
        "PhysicalResourceId": physical_id(),
        "Data": {props.ATTR_EVALUATOR_ARN: content_arn("SageMaker-reward-gsm8k-dev", "1.0.0"),
                 props.ATTR_EVALUATOR_VERSION: "1.0.0", props.ATTR_HUB_NAME: HUB},
    }
    assert sagemaker.versions(HUB, "SageMaker-reward-gsm8k-dev") == ["1.0.0"]


def test_create_with_existing_hub_does_not_create_it(sagemaker: FakeSageMaker) -> None:
    sagemaker.add_hub(HUB)
    result = handler.on_event(event("Create", properties(arn=ALIAS_ARN)), None)

    assert "CreateHub" not in sagemaker.operations()
    assert sagemaker.operations().count("ImportHubContent") == 1
    reference = wire.document_reference(sagemaker.params("ImportHubContent")[0]["HubContentDocument"])
    assert reference == ALIAS_ARN
    assert result["Data"][props.ATTR_EVALUATOR_ARN] == content_arn("SageMaker-reward-gsm8k-dev", "1.0.0")


def test_create_waits_for_a_new_hub_to_be_in_service(sagemaker: FakeSageMaker) -> None:
    sagemaker.hub_statuses.extend(["Creating", "Creating"])
    handler.on_event(event("Create"), None)
    assert sagemaker.operations()[:5] == ["DescribeHub", "CreateHub", "DescribeHub", "DescribeHub", "DescribeHub"]
    assert sagemaker.operations().count("ImportHubContent") == 1


def test_create_fails_when_the_new_hub_fails(sagemaker: FakeSageMaker) -> None:
    sagemaker.hub_statuses.extend(["Creating", "CreateFailed"])
    with pytest.raises(handler.RegistrationError, match=f"hub {HUB} is CreateFailed"):
        handler.on_event(event("Create"), None)
    assert "ImportHubContent" not in sagemaker.operations()


def test_a_hub_created_meanwhile_by_another_registration_is_fine(sagemaker: FakeSageMaker) -> None:
    # Both saw no hub; the other one's CreateHub won.
    sagemaker.inject("DescribeHub", Error("ResourceNotFound", "Hub does not exist."))
    sagemaker.add_hub(HUB)
    result = handler.on_event(event("Create"), None)
    assert sagemaker.operations()[:3] == ["DescribeHub", "CreateHub", "DescribeHub"]
    assert result["Data"][props.ATTR_EVALUATOR_VERSION] == "1.0.0"


def test_create_refuses_a_name_registered_outside_the_stack(sagemaker: FakeSageMaker) -> None:
    sagemaker.add_hub(HUB)
    sagemaker.add_content(HUB, "SageMaker-reward-gsm8k-dev", "3.0.0", wire.evaluator_document("arn:other"))

    with pytest.raises(handler.RegistrationError, match=r"already exists .* evaluator_name"):
        handler.on_event(event("Create"), None)
    assert not MUTATING & set(sagemaker.operations())
    assert sagemaker.versions(HUB, "SageMaker-reward-gsm8k-dev") == ["3.0.0"]


def test_create_waits_for_the_import_and_fails_with_sagemakers_reason(sagemaker: FakeSageMaker) -> None:
    sagemaker.import_statuses.extend(["Importing", "Importing"])
    sagemaker.import_failure = "Reference is not a Lambda function ARN"

    with pytest.raises(handler.RegistrationError, match="could not import .*Reference is not a Lambda function ARN"):
        handler.on_event(event("Create"), None)
    assert sagemaker.operations().count("DescribeHubContent") == 1 + 3  # the name check, then 3 polls


def test_a_failed_import_is_removed_so_the_next_deploy_can_create_it(sagemaker: FakeSageMaker) -> None:
    sagemaker.import_failure = "Lambda function not found"
    with pytest.raises(handler.RegistrationError, match="Lambda function not found"):
        handler.on_event(event("Create"), None)
    assert sagemaker.params("DeleteHubContent") == [{"HubName": HUB, "HubContentType": "JsonDoc",
                                                     "HubContentName": "SageMaker-reward-gsm8k-dev",
                                                     "HubContentVersion": "1.0.0"}]
    assert sagemaker.versions(HUB, "SageMaker-reward-gsm8k-dev") == []
    sagemaker.import_failure = None
    assert handler.on_event(event("Create"), None)["Data"][props.ATTR_EVALUATOR_VERSION] == "1.0.0"


def test_a_failed_update_keeps_the_previous_version_current(sagemaker: FakeSageMaker) -> None:
    create(sagemaker)
    sagemaker.import_failure = "Lambda function not found"
    with pytest.raises(handler.RegistrationError):
        handler.on_event(event("Update", properties(arn=ALIAS_ARN), properties(), physical_id()), None)
    assert sagemaker.versions(HUB, "SageMaker-reward-gsm8k-dev") == ["1.0.0"]


def test_create_returns_once_the_import_is_available(sagemaker: FakeSageMaker) -> None:
    sagemaker.import_statuses.extend(["PendingImport", "Importing"])
    result = handler.on_event(event("Create"), None)
    assert sagemaker.operations()[-3:] == ["DescribeHubContent"] * 3
    assert result["Data"][props.ATTR_EVALUATOR_VERSION] == "1.0.0"


# --- Update ---------------------------------------------------------------------------------------


def test_update_without_changes_makes_no_mutating_call(sagemaker: FakeSageMaker) -> None:
    created = create(sagemaker)
    result = handler.on_event(event("Update", properties(), properties(), created["PhysicalResourceId"]), None)

    assert sagemaker.operations() == ["DescribeHubContent"]
    assert set(sagemaker.operations()) <= wire.READ_ONLY_OPERATIONS
    assert result == created
    assert sagemaker.versions(HUB, "SageMaker-reward-gsm8k-dev") == ["1.0.0"]


@pytest.mark.parametrize("change", [{"arn": ALIAS_ARN}, {"description": "GSM8K accuracy and format"}])
def test_update_with_a_changed_arn_or_description_imports_the_next_version(
    sagemaker: FakeSageMaker, change: dict[str, str]
) -> None:
    created = create(sagemaker)
    result = handler.on_event(event("Update", properties(**change), properties(), created["PhysicalResourceId"]), None)

    assert "CreateHub" not in sagemaker.operations()
    imported = sagemaker.params("ImportHubContent")
    assert [request["HubContentVersion"] for request in imported] == ["2.0.0"]
    if "arn" in change:
        assert wire.document_reference(imported[0]["HubContentDocument"]) == ALIAS_ARN
    else:
        assert imported[0]["HubContentDescription"] == change["description"]
    assert result["PhysicalResourceId"] == created["PhysicalResourceId"]  # stable across versions
    assert result["Data"][props.ATTR_EVALUATOR_ARN] == content_arn("SageMaker-reward-gsm8k-dev", "2.0.0")
    assert sagemaker.versions(HUB, "SageMaker-reward-gsm8k-dev") == ["1.0.0", "2.0.0"]


def test_update_with_a_new_name_registers_a_new_evaluator(sagemaker: FakeSageMaker) -> None:
    create(sagemaker)
    result = handler.on_event(event("Update", properties(name="gsm8k-v2"), properties(), physical_id()), None)

    assert result["PhysicalResourceId"] == physical_id("gsm8k-v2")  # CloudFormation deletes the old id
    assert result["Data"][props.ATTR_EVALUATOR_ARN] == content_arn("gsm8k-v2", "1.0.0")
    assert sagemaker.versions(HUB, "SageMaker-reward-gsm8k-dev") == ["1.0.0"]  # left to that Delete


def test_a_rolled_back_rename_finds_its_evaluator_again(sagemaker: FakeSageMaker) -> None:
    created = create(sagemaker)
    # CloudFormation rolls a failed rename back: old name again, the original physical id.
    rollback = event("Update", properties(), properties(name="gsm8k-v2"), created["PhysicalResourceId"])
    assert handler.on_event(rollback, None) == created
    assert set(sagemaker.operations()) <= wire.READ_ONLY_OPERATIONS


def test_update_repairs_an_evaluator_changed_outside_the_stack(sagemaker: FakeSageMaker) -> None:
    create(sagemaker)
    sagemaker.add_content(HUB, "SageMaker-reward-gsm8k-dev", "2.0.0", wire.evaluator_document("arn:elsewhere"))
    result = handler.on_event(event("Update", properties(), properties(), physical_id()), None)

    assert [request["HubContentVersion"] for request in sagemaker.params("ImportHubContent")] == ["3.0.0"]
    assert result["Data"][props.ATTR_EVALUATOR_VERSION] == "3.0.0"


def test_update_registers_again_when_the_evaluator_was_deleted_by_hand(sagemaker: FakeSageMaker) -> None:
    create(sagemaker)
    sagemaker.contents.clear()
    result = handler.on_event(event("Update", properties(), properties(), physical_id()), None)
    assert result["Data"][props.ATTR_EVALUATOR_VERSION] == "1.0.0"
    assert sagemaker.versions(HUB, "SageMaker-reward-gsm8k-dev") == ["1.0.0"]


# --- Delete ---------------------------------------------------------------------------------------


def test_delete_removes_every_version_and_keeps_the_hub(sagemaker: FakeSageMaker) -> None:
    create(sagemaker)
    for description in ("v2", "v3"):
        old = properties() if description == "v2" else properties(description="v2")
        handler.on_event(event("Update", properties(description=description), old, physical_id()), None)
    sagemaker.add_content(HUB, "someone-elses", "1.0.0", wire.evaluator_document("arn:x"))
    sagemaker.page_size = 2  # three versions: two pages
    sagemaker.requests.clear()

    result = handler.on_event(event("Delete", properties(description="v3"), physical_id=physical_id()), None)

    assert result == {"PhysicalResourceId": physical_id()}
    assert sagemaker.operations().count("ListHubContentVersions") == 2
    assert sorted(p["HubContentVersion"] for p in sagemaker.params("DeleteHubContent")) == ["1.0.0", "2.0.0", "3.0.0"]
    assert sagemaker.versions(HUB, "SageMaker-reward-gsm8k-dev") == []
    assert HUB in sagemaker.hubs  # never the hub
    assert sagemaker.versions(HUB, "someone-elses") == ["1.0.0"]
    assert "DeleteHub" not in sagemaker.operations()


def test_delete_of_missing_content_succeeds(sagemaker: FakeSageMaker) -> None:
    sagemaker.add_hub(HUB)
    assert handler.on_event(event("Delete", physical_id=physical_id()), None) == {"PhysicalResourceId": physical_id()}
    assert sagemaker.operations() == ["ListHubContentVersions"]


def test_delete_when_the_hub_is_gone_succeeds(sagemaker: FakeSageMaker) -> None:
    assert handler.on_event(event("Delete", physical_id=physical_id()), None) == {"PhysicalResourceId": physical_id()}


def test_delete_of_a_version_deleted_meanwhile_succeeds(sagemaker: FakeSageMaker) -> None:
    create(sagemaker)
    sagemaker.inject("DeleteHubContent", Error("ResourceNotFound", "Hub content version does not exist."))
    handler.on_event(event("Delete", physical_id=physical_id()), None)
    assert sagemaker.operations() == ["ListHubContentVersions", "DeleteHubContent"]


def test_delete_of_an_id_this_handler_never_returned_calls_nothing(sagemaker: FakeSageMaker) -> None:
    foreign = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
    assert handler.on_event(event("Delete", physical_id=foreign), None) == {"PhysicalResourceId": foreign}
    assert sagemaker.requests == []


# --- Errors ---------------------------------------------------------------------------------------


def test_access_denied_fails_at_once_with_the_service_message(sagemaker: FakeSageMaker) -> None:
    message = ("User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized to perform: "
               "sagemaker:ImportHubContent on resource: hub-content/x")
    sagemaker.add_hub(HUB)
    sagemaker.inject("ImportHubContent", Error("AccessDeniedException", message))

    with pytest.raises(handler.RegistrationError) as raised:
        handler.on_event(event("Create"), None)
    assert str(raised.value) == f"SageMaker ImportHubContent failed: AccessDeniedException: {message}"
    assert sagemaker.operations().count("ImportHubContent") == 1  # not retried


def test_validation_error_fails_with_the_service_message(sagemaker: FakeSageMaker) -> None:
    sagemaker.inject("DescribeHub", Error("ValidationException", "1 validation error detected: HubName"))
    with pytest.raises(handler.RegistrationError, match="DescribeHub failed: ValidationException: 1 validation error"):
        handler.on_event(event("Create"), None)
    assert sagemaker.operations() == ["DescribeHub"]


def test_throttling_is_retried_then_succeeds(sagemaker: FakeSageMaker) -> None:
    sagemaker.inject("ImportHubContent", *[Error("ThrottlingException", "Rate exceeded")] * 2)
    result = handler.on_event(event("Create"), None)
    assert sagemaker.operations().count("ImportHubContent") == 3
    assert result["Data"][props.ATTR_EVALUATOR_VERSION] == "1.0.0"


def test_persistent_throttling_fails_after_bounded_retries(sagemaker: FakeSageMaker) -> None:
    sagemaker.inject("DescribeHub", *[Error("ThrottlingException", "Rate exceeded")] * 10)
    with pytest.raises(handler.RegistrationError, match="DescribeHub failed: ThrottlingException: Rate exceeded"):
        handler.on_event(event("Create"), None)
    assert sagemaker.operations() == ["DescribeHub"] * 4  # CLIENT_CONFIG's total_max_attempts


def test_unreachable_endpoint_fails_with_a_message(sagemaker: FakeSageMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://localhost:9")  # discard port: refused
    with pytest.raises(handler.RegistrationError, match="DescribeHub failed: Could not connect"):
        handler.on_event(event("Create"), None)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e["ResourceProperties"].pop(props.PROP_LAMBDA_ARN), "ResourceProperties.LambdaArn: expected"),
        (lambda e: e["ResourceProperties"].update({props.PROP_EVALUATOR_NAME: " "}),
         "ResourceProperties.EvaluatorName: expected"),
        (lambda e: e.update(StackId="nope"), "StackId: expected a CloudFormation stack ARN"),
        (lambda e: e.update(RequestType="Upsert"), "RequestType: expected Create, Update or Delete"),
    ],
)
def test_a_malformed_event_fails_naming_the_key(sagemaker: FakeSageMaker, mutate: Any, message: str) -> None:
    bad = event("Create")
    mutate(bad)
    with pytest.raises(handler.RegistrationError, match=message):
        handler.on_event(bad, None)
    assert sagemaker.requests == []
