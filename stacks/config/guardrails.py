"""An organization's rules for an environment: ``tags``, ``permissions_boundary``, ``customer_managed_keys``.

* ``tags`` ({key: value}): cost-allocation tags on every taggable resource. App-wide tags
  (cdk.json ``context.tags``) apply to every environment; an environment's own win on a clash.
  AWS tag rules: key 1-128 characters, value 0-256, letters, digits, spaces and ``_.:/=+-@``,
  no ``aws:`` prefix, at most 50 tags per resource.
* ``permissions_boundary``: a managed policy ARN, or a policy name (optionally with a path)
  in the environment's account, set as the boundary of every role the app creates.
* ``customer_managed_keys`` ({log_groups, environment_variables}: booleans, default false):
  the stack creates a KMS key (rotated yearly) for its log groups and/or for its functions'
  environment variables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import CHECKS

KEYS = ("tags", "permissions_boundary", "customer_managed_keys")
CUSTOMER_MANAGED_KEYS = ("log_groups", "environment_variables")

TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
MAX_TAGS = 50  # per resource (tags CloudFormation adds itself, aws:cloudformation:*, do not count)
# Letters, digits and spaces in any language, and _ . : / = + - @ (the rule AWS services share).
_TAG_RE = re.compile(r"[\w\s.:/=+\-@]*")
TAG_RULE = "letters, digits, spaces and _.:/=+-@ only"

POLICY_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}|aws):policy/([\w+=,.@-]+/)*[\w+=,.@-]{1,128}")
POLICY_NAME_RE = re.compile(r"([\w+=,.@-]+/)*[\w+=,.@-]{1,128}")
POLICY_RULE = "a managed policy ARN (arn:aws:iam::<account>:policy/<name>) or a policy name"


@dataclass(frozen=True)
class GuardrailsConfig:
    tags: tuple[tuple[str, str], ...] = ()  # app-wide tags merged with the environment's, sorted by key
    permissions_boundary: str | None = None  # policy ARN, or name (resolved in the stack's account)
    log_groups_key: bool = False
    environment_variables_key: bool = False

    @property
    def permissions_boundary_is_arn(self) -> bool:
        return self.permissions_boundary is not None and self.permissions_boundary.startswith("arn:")


def parse_tags(path: str, raw: Any) -> dict[str, str]:
    """``{key: value}`` checked against AWS's tag rules (one-line errors naming the key)."""
    raw = CHECKS.object(path, raw)
    if len(raw) > MAX_TAGS:
        raise CHECKS.fail(path, f"at most {MAX_TAGS} tags per resource", len(raw))
    tags: dict[str, str] = {}
    for key, value in raw.items():
        if not 1 <= len(key) <= TAG_KEY_MAX or not _TAG_RE.fullmatch(key):
            raise CHECKS.fail(path, f"tag keys must be 1-{TAG_KEY_MAX} characters: {TAG_RULE}", key)
        if key.lower().startswith("aws:"):
            raise CHECKS.fail(f"{path}.{key}", "the 'aws:' prefix is reserved for AWS")
        if not isinstance(value, str) or len(value) > TAG_VALUE_MAX or not _TAG_RE.fullmatch(value):
            raise CHECKS.fail(f"{path}.{key}", f"must be a string of 0-{TAG_VALUE_MAX} characters: {TAG_RULE}", value)
        tags[key] = value
    return tags


def parse_guardrails(path: str, raw: Mapping[str, Any], app_tags: Mapping[str, str]) -> GuardrailsConfig:
    tags = {**app_tags, **parse_tags(f"{path}.tags", raw.get("tags", {}))}
    if len(tags) > MAX_TAGS:
        raise CHECKS.fail(f"{path}.tags", f"with the app-wide tags, at most {MAX_TAGS} tags per resource", len(tags))

    boundary = raw.get("permissions_boundary")
    if boundary is not None:
        regex = POLICY_ARN_RE if isinstance(boundary, str) and boundary.startswith("arn:") else POLICY_NAME_RE
        boundary = CHECKS.pattern(f"{path}.permissions_boundary", boundary, regex, POLICY_RULE)

    keys_path = f"{path}.customer_managed_keys"
    keys = CHECKS.object(keys_path, raw.get("customer_managed_keys", {}))
    CHECKS.no_unknown_keys(keys_path, keys, CUSTOMER_MANAGED_KEYS)
    return GuardrailsConfig(
        tags=tuple(sorted(tags.items())),
        permissions_boundary=boundary,
        log_groups_key=CHECKS.boolean(f"{keys_path}.log_groups", keys.get("log_groups", False)),
        environment_variables_key=CHECKS.boolean(f"{keys_path}.environment_variables",
                                                 keys.get("environment_variables", False)),
    )
