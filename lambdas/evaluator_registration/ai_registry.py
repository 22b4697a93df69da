"""The SageMaker AI registry wire format for Evaluator assets: every request, in one place.

There is no CloudFormation resource and no dedicated API for Evaluators: the SageMaker Python
SDK (``sagemaker.ai_registry.Evaluator.create``) stores them as ``JsonDoc`` hub content in a
per-account, per-region "AI registry" hub. This format is undocumented, so it lives here only,
as pure functions that build ``Request`` values (no AWS calls), and
``tests/lambdas/evaluator_registration/test_evaluator_wire.py`` checks every request against the installed botocore
service model. What the SDK does (SageMaker Python SDK source: ``sagemaker/ai_registry``):

- hub display name ``AiRegistry-<region>-<account>``; hub name = base32 of its sha256 with the
  '=' padding stripped. The SDK's encoder uses the RFC 4648 *extended hex* alphabet
  (``0-9A-V``, ``base64.b32hexencode``), not the standard one: the standard alphabet names a
  different hub that Studio and the SDK would never look in.
- ``ImportHubContent``: ``HubContentType=JsonDoc``, ``DocumentSchemaVersion=2.0.0``, a document
  ``{"SubType": "AWS/Evaluator", "JsonContent": "<JSON string>"}`` whose JsonContent is
  ``{"Reference": <lambda arn>, "EvaluatorType": "RewardFunction"}``, the SDK's search keywords,
  versions ``1.0.0`` then the next major (``2.0.0``, ...).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

HUB_CONTENT_TYPE = "JsonDoc"
DOCUMENT_SCHEMA_VERSION = "2.0.0"
EVALUATOR_SUBTYPE = "AWS/Evaluator"
EVALUATOR_TYPE = "RewardFunction"
HUB_DESCRIPTION = "AI Registry Hub"  # what the SDK writes when it creates the hub
FIRST_VERSION = "1.0.0"
# The SDK's keywords for an evaluator backed by an existing Lambda (Studio filters on them).
SEARCH_KEYWORDS = (
    "method:lambda",
    "@subtype:aws/evaluator",
    "@evaluatortype:rewardfunction",
    "@contenttype:byolambda",
)
# Since mid-2026 the SDK also adds the Studio domain's keyword (detected inside Studio, else
# Evaluator.create(domain_id=...)); its change note: assets without one are hidden in Studio.
DOMAIN_KEYWORD_PREFIX = "@domain:"
# SageMaker's DomainId pattern (CreateDomain / DescribeDomain), for the CDK config's check.
DOMAIN_ID_PATTERN = r"d-(-*[a-z0-9]){1,61}"

# HubContentName / HubContentDescription limits from the service model (a test keeps them equal),
# used by the CDK config to reject a bad evaluator name or description at synth time.
EVALUATOR_NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
EVALUATOR_NAME_MAX = 63
EVALUATOR_DESCRIPTION_MAX = 1023
_VERSION = re.compile(r"(\d{1,4})\.(\d{1,4})\.(\d{1,4})")
_MAX_MAJOR = 9999  # HubContentVersion allows at most four digits per part


@dataclass(frozen=True)
class Request:
    """One SageMaker API call: the operation's wire name and its parameters."""

    operation: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluator:
    """What a registration says about one reward function."""

    name: str
    description: str
    lambda_arn: str
    domain_id: str | None = None  # the SageMaker AI Studio domain whose users see it


def search_keywords(evaluator: Evaluator) -> list[str]:
    """The SDK's keywords, with ``@domain:<id>`` when a Studio domain is configured."""
    domain = [f"{DOMAIN_KEYWORD_PREFIX}{evaluator.domain_id}"] if evaluator.domain_id else []
    return [*SEARCH_KEYWORDS, *domain]


def hub_display_name(region: str, account: str) -> str:
    return f"AiRegistry-{region}-{account}"


def hub_name(region: str, account: str) -> str:
    digest = hashlib.sha256(hub_display_name(region, account).encode()).digest()
    return base64.b32hexencode(digest).decode("ascii").rstrip("=")


def evaluator_document(lambda_arn: str) -> str:
    json_content = json.dumps({"Reference": lambda_arn, "EvaluatorType": EVALUATOR_TYPE})
    return json.dumps({"SubType": EVALUATOR_SUBTYPE, "JsonContent": json_content})


def document_reference(document: str) -> str | None:
    """The Lambda ARN an evaluator document points at (None if it is not one of ours)."""
    try:
        outer = json.loads(document)
        inner = json.loads(outer["JsonContent"])
        reference = inner["Reference"]
    except (ValueError, KeyError, TypeError):
        return None
    return reference if isinstance(reference, str) else None


def next_version(current: str | None) -> str:
    """``1.0.0`` for new content, else the next major version (as the SDK numbers them)."""
    if current is None:
        return FIRST_VERSION
    match = _VERSION.fullmatch(current)
    if not match:
        raise ValueError(f"hub content version {current!r} is not <major>.<minor>.<patch>")
    major = int(match.group(1)) + 1
    if major > _MAX_MAJOR:
        raise ValueError(f"hub content version {current!r} has no next major version (at most {_MAX_MAJOR})")
    return f"{major}.0.0"


# --- requests ------------------------------------------------------------------------------------


def describe_hub(hub: str) -> Request:
    return Request("DescribeHub", {"HubName": hub})


def create_hub(region: str, account: str) -> Request:
    return Request(
        "CreateHub",
        {
            "HubName": hub_name(region, account),
            "HubDisplayName": hub_display_name(region, account),
            "HubDescription": HUB_DESCRIPTION,
        },
    )


def import_evaluator(hub: str, evaluator: Evaluator, version: str) -> Request:
    return Request(
        "ImportHubContent",
        {
            "HubName": hub,
            "HubContentType": HUB_CONTENT_TYPE,
            "HubContentName": evaluator.name,
            "HubContentVersion": version,
            "DocumentSchemaVersion": DOCUMENT_SCHEMA_VERSION,
            "HubContentDisplayName": evaluator.name,
            "HubContentDescription": evaluator.description,
            "HubContentDocument": evaluator_document(evaluator.lambda_arn),
            "HubContentSearchKeywords": search_keywords(evaluator),
        },
    )


def describe_evaluator(hub: str, name: str, version: str | None = None) -> Request:
    """The latest version, or one version."""
    params = {"HubName": hub, "HubContentType": HUB_CONTENT_TYPE, "HubContentName": name}
    if version is not None:
        params["HubContentVersion"] = version
    return Request("DescribeHubContent", params)


def list_evaluator_versions(hub: str, name: str, next_token: str | None = None) -> Request:
    params: dict[str, Any] = {"HubName": hub, "HubContentType": HUB_CONTENT_TYPE, "HubContentName": name}
    if next_token:
        params["NextToken"] = next_token
    return Request("ListHubContentVersions", params)


def delete_evaluator_version(hub: str, name: str, version: str) -> Request:
    return Request(
        "DeleteHubContent",
        {"HubName": hub, "HubContentType": HUB_CONTENT_TYPE, "HubContentName": name, "HubContentVersion": version},
    )


# Operations that change nothing: the update path may call only these when nothing changed.
READ_ONLY_OPERATIONS = frozenset({"DescribeHub", "DescribeHubContent", "ListHubContentVersions"})
# Every operation this module can build: the handler's IAM policy allows exactly these.
OPERATIONS = ("DescribeHub", "CreateHub", "ImportHubContent", "DescribeHubContent",
              "ListHubContentVersions", "DeleteHubContent")


# --- ARNs ----------------------------------------------------------------------------------------


def evaluator_arn_prefix(partition: str, region: str, account: str, hub: str, name: str) -> str:
    """The hub content ARN of every version of one evaluator, without the version suffix."""
    return f"arn:{partition}:sagemaker:{region}:{account}:hub-content/{hub}/{HUB_CONTENT_TYPE}/{name}"


_EVALUATOR_ARN = re.compile(
    r"arn:[a-z-]+:sagemaker:[a-z0-9-]+:\d{12}:hub-content/(?P<hub>[^/]+)/" + HUB_CONTENT_TYPE + r"/(?P<name>[^/]+)"
)


def parse_evaluator_arn_prefix(value: str) -> tuple[str, str] | None:
    """(hub, name) from ``evaluator_arn_prefix``'s output, or None for anything else."""
    match = _EVALUATOR_ARN.fullmatch(value or "")
    return (match.group("hub"), match.group("name")) if match else None
