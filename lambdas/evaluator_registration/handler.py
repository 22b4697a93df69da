"""Custom-resource handler: one reward function registered as a SageMaker AI Evaluator.

``on_event`` follows the CDK ``custom_resources.Provider`` framework's onEvent contract: it
gets CloudFormation's event (``RequestType`` Create/Update/Delete, ``ResourceProperties``,
``OldResourceProperties``, ``PhysicalResourceId``, ``StackId``) and returns
``{"PhysicalResourceId", "Data"}``; raising fails the resource with the exception's message.

- Create: ensure the account's AI-registry hub exists, refuse a name that is already taken
  (its versions are not this stack's to delete later), import version 1.0.0.
- Update: when the registered latest version already says what the properties say (Lambda
  ARN, description), no call that changes anything; otherwise import the next version. A
  new name is a new evaluator with a new physical id; CloudFormation then deletes the old
  one (and a rolled-back rename finds its original evaluator again, by physical id).
- A version whose import fails is deleted again before the resource fails, so a retry is
  not blocked by it.
- Delete: delete every version of this evaluator, never the hub; already gone is success.

The physical id is the evaluator's version-less hub content ARN (stable across versions).
Account, region and partition come from the event's ``StackId``. Requests are built by
``ai_registry`` only. SageMaker errors fail fast with the service's own message: bounded
retries (botocore ``standard`` mode, 4 attempts) and timeouts, never a CloudFormation wait.

boto3 is bundled (pinned, the version the tests validate requests against) rather than taken
from the Lambda runtime, whose SDK version changes under us and may predate these APIs.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Mapping

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from evaluator_registration import ai_registry as wire
from evaluator_registration import properties as props

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=20,
    retries={"mode": "standard", "total_max_attempts": 4},  # throttling: ~7 s of backoff at most
)
WAIT_SECONDS = 60.0  # for a new hub or an imported version to settle (well inside the Lambda timeout)
POLL_SECONDS = 2.0
_NOT_FOUND = "ResourceNotFound"


class RegistrationError(RuntimeError):
    """Fails the custom resource; the message reaches CloudFormation's status reason."""


class NotFound(RegistrationError):
    pass


@dataclass(frozen=True)
class Target:
    """Where the stack lives (from its StackId), hence which AI registry hub."""

    partition: str
    region: str
    account: str

    @classmethod
    def from_stack_id(cls, stack_id: Any) -> Target:
        parts = stack_id.split(":") if isinstance(stack_id, str) else []
        if len(parts) < 6 or parts[2] != "cloudformation" or not parts[3] or not parts[4]:
            raise RegistrationError(f"StackId: expected a CloudFormation stack ARN, got {stack_id!r}")
        return cls(partition=parts[1], region=parts[3], account=parts[4])

    @property
    def hub(self) -> str:
        return wire.hub_name(self.region, self.account)

    def physical_id(self, name: str) -> str:
        return wire.evaluator_arn_prefix(self.partition, self.region, self.account, self.hub, name)


def _evaluator(properties: Any, key_path: str) -> wire.Evaluator:
    if not isinstance(properties, Mapping):
        raise RegistrationError(f"{key_path}: expected an object, got {properties!r}")
    values = {}
    for key in (props.PROP_EVALUATOR_NAME, props.PROP_DESCRIPTION, props.PROP_LAMBDA_ARN):
        value = properties.get(key)
        if not isinstance(value, str) or not value.strip():
            raise RegistrationError(f"{key_path}.{key}: expected a non-empty string, got {value!r}")
        values[key] = value
    domain_id = properties.get(props.PROP_DOMAIN_ID)
    if domain_id is not None and (not isinstance(domain_id, str) or not re.fullmatch(wire.DOMAIN_ID_PATTERN,
                                                                                      domain_id)):
        raise RegistrationError(f"{key_path}.{props.PROP_DOMAIN_ID}: expected a SageMaker domain id like "
                                f"'d-abc123def456', got {domain_id!r}")
    return wire.Evaluator(
        name=values[props.PROP_EVALUATOR_NAME],
        description=values[props.PROP_DESCRIPTION],
        lambda_arn=values[props.PROP_LAMBDA_ARN],
        domain_id=domain_id,
    )


def _call(client: Any, request: wire.Request) -> dict[str, Any]:
    try:
        response: dict[str, Any] = getattr(client, xform_name(request.operation))(**request.params)
        return response
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", str(exc))
        kind = NotFound if code == _NOT_FOUND else RegistrationError
        raise kind(f"SageMaker {request.operation} failed: {code}: {message}") from exc
    except BotoCoreError as exc:  # connection/read timeouts, endpoint errors
        raise RegistrationError(f"SageMaker {request.operation} failed: {exc}") from exc


def _ensure_hub(client: Any, target: Target) -> None:
    """The hub exists and is InService. Registrations of several functions (or stacks) may
    create it at the same time: the one that loses the race finds it in use, which is fine."""
    try:
        hub = _call(client, wire.describe_hub(target.hub))
    except NotFound:
        logger.info("creating the AI registry hub %s (%s)", target.hub, wire.hub_display_name(target.region, target.account))
        try:
            _call(client, wire.create_hub(target.region, target.account))
        except RegistrationError as exc:
            if ": ResourceInUse:" not in str(exc):
                raise
        hub = _call(client, wire.describe_hub(target.hub))
    deadline = time.monotonic() + WAIT_SECONDS
    while hub.get("HubStatus") != "InService":
        if hub.get("HubStatus") in ("CreateFailed", "UpdateFailed", "Deleting", "DeleteFailed"):
            raise RegistrationError(f"the AI registry hub {target.hub} is {hub.get('HubStatus')}: "
                                    f"{hub.get('FailureReason') or 'no reason given'}")
        if time.monotonic() >= deadline:
            raise RegistrationError(f"the AI registry hub {target.hub} is still {hub.get('HubStatus')} "
                                    f"after {WAIT_SECONDS:.0f} s")
        time.sleep(POLL_SECONDS)
        hub = _call(client, wire.describe_hub(target.hub))


def _latest(client: Any, hub: str, name: str) -> dict[str, Any] | None:
    try:
        return _call(client, wire.describe_evaluator(hub, name))
    except NotFound:
        return None


def _import(client: Any, target: Target, evaluator: wire.Evaluator, version: str) -> dict[str, Any]:
    response = _call(client, wire.import_evaluator(target.hub, evaluator, version))
    logger.info("imported evaluator %s version %s -> %s", evaluator.name, version, evaluator.lambda_arn)
    try:
        _wait_until_available(client, target.hub, evaluator.name, version)
    except RegistrationError:
        # Leave nothing behind: a failed create's content would otherwise block the retry
        # (its name would look taken), and a failed update's would shadow the good version.
        try:
            _call(client, wire.delete_evaluator_version(target.hub, evaluator.name, version))
        except RegistrationError as cleanup:
            logger.warning("could not remove the failed import %s %s: %s", evaluator.name, version, cleanup)
        raise
    return _result(target, evaluator.name, response["HubContentArn"], version)


def _wait_until_available(client: Any, hub: str, name: str, version: str) -> None:
    """An import that fails asynchronously fails the resource (with SageMaker's reason)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        described = _call(client, wire.describe_evaluator(hub, name, version))
        status = described.get("HubContentStatus")
        if status == "Available":
            return
        if status == "ImportFailed":
            reason = described.get("FailureReason") or "no reason given"
            raise RegistrationError(f"SageMaker could not import evaluator {name} version {version}: {reason}")
        if time.monotonic() >= deadline:
            # Accepted and still importing: SageMaker finishes it; not worth failing a deploy.
            logger.warning("evaluator %s version %s still %s after %.0f s", name, version, status, WAIT_SECONDS)
            return
        time.sleep(POLL_SECONDS)


def _result(target: Target, name: str, arn: str, version: str) -> dict[str, Any]:
    return {
        "PhysicalResourceId": target.physical_id(name),
        "Data": {
            props.ATTR_EVALUATOR_ARN: arn,
            props.ATTR_EVALUATOR_VERSION: version,
            props.ATTR_HUB_NAME: target.hub,
        },
    }


def _registered_as(latest: Mapping[str, Any], evaluator: wire.Evaluator) -> bool:
    return (
        wire.document_reference(str(latest.get("HubContentDocument", ""))) == evaluator.lambda_arn
        and latest.get("HubContentDescription", "") == evaluator.description
        # Keywords as SageMaker describes them (a Studio domain set or changed registers a new version).
        and _keywords_match(latest.get("HubContentSearchKeywords"), evaluator)
        and latest.get("HubContentStatus") != "ImportFailed"
    )


def _keywords_match(registered: Any, evaluator: wire.Evaluator) -> bool:
    if registered is None:  # not described: nothing to compare (never re-import on a missing field)
        return True
    return sorted(str(k) for k in registered) == sorted(wire.search_keywords(evaluator))


def create(client: Any, target: Target, evaluator: wire.Evaluator) -> dict[str, Any]:
    _ensure_hub(client, target)
    existing = _latest(client, target.hub, evaluator.name)
    if existing is not None:
        raise RegistrationError(
            f"an evaluator named {evaluator.name!r} already exists in the AI registry hub {target.hub} "
            f"(version {existing.get('HubContentVersion')}, registered outside this stack); set a different "
            "evaluator_name for this reward function in cdk.json, or delete that evaluator first"
        )
    return _import(client, target, evaluator, wire.FIRST_VERSION)


def update(client: Any, target: Target, evaluator: wire.Evaluator, physical_id: str) -> dict[str, Any]:
    if physical_id != target.physical_id(evaluator.name):
        # A new name: a new evaluator (new physical id); CloudFormation deletes the old one after.
        return create(client, target, evaluator)
    # Our own evaluator (same name, or a rename being rolled back to it): compare with what is
    # registered, so an unchanged one costs one read and nothing else.
    latest = _latest(client, target.hub, evaluator.name)
    if latest is None:
        logger.warning("evaluator %s is missing from hub %s: registering it again", evaluator.name, target.hub)
        _ensure_hub(client, target)
        return _import(client, target, evaluator, wire.FIRST_VERSION)
    version = str(latest["HubContentVersion"])
    if _registered_as(latest, evaluator):
        return _result(target, evaluator.name, str(latest["HubContentArn"]), version)
    try:
        next_version = wire.next_version(version)
    except ValueError as exc:
        raise RegistrationError(f"evaluator {evaluator.name}: {exc}") from exc
    return _import(client, target, evaluator, next_version)


def delete(client: Any, physical_id: str) -> dict[str, Any]:
    parsed = wire.parse_evaluator_arn_prefix(physical_id)
    if parsed is None:
        # Not an id this handler returns (e.g. a create that failed before registering): nothing of ours.
        logger.info("delete: %r is not an evaluator this handler registered; nothing to delete", physical_id)
        return {"PhysicalResourceId": physical_id}
    hub, name = parsed
    versions: list[str] = []
    token: str | None = None
    try:
        while True:
            page = _call(client, wire.list_evaluator_versions(hub, name, token))
            versions += [str(summary["HubContentVersion"]) for summary in page.get("HubContentSummaries", [])]
            token = page.get("NextToken")
            if not token:
                break
    except NotFound:  # the hub or the evaluator is already gone
        versions = []
    for version in versions:
        try:
            _call(client, wire.delete_evaluator_version(hub, name, version))
        except NotFound:
            pass
    logger.info("deleted evaluator %s (%d version(s)) from hub %s", name, len(versions), hub)
    return {"PhysicalResourceId": physical_id}


def sagemaker_client(region: str) -> Any:
    # AWS_ENDPOINT_URL_SAGEMAKER (botocore's configured endpoints) points it elsewhere in tests.
    return boto3.client("sagemaker", region_name=region, config=CLIENT_CONFIG)


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    request_type = event.get("RequestType")
    logger.info("%s %s", request_type, event.get("LogicalResourceId"))
    target = Target.from_stack_id(event.get("StackId"))
    client = sagemaker_client(target.region)
    if request_type == "Create":
        return create(client, target, _evaluator(event.get("ResourceProperties"), "ResourceProperties"))
    if request_type == "Update":
        evaluator = _evaluator(event.get("ResourceProperties"), "ResourceProperties")
        return update(client, target, evaluator, str(event.get("PhysicalResourceId", "")))
    if request_type == "Delete":
        return delete(client, str(event.get("PhysicalResourceId", "")))
    raise RegistrationError(f"RequestType: expected Create, Update or Delete, got {request_type!r}")
