"""The optional delivery pipeline (cdk.json ``context.pipeline``), off unless ``enabled``.

    "pipeline": {
      "enabled": true,
      "account": "111111111111", "region": "us-east-1",     # where the pipeline runs
      "connection_arn": "arn:aws:codeconnections:us-east-1:111111111111:connection/<id>",
      "repository": "my-org/nova-rft-rewards", "branch": "main",
      "stages": ["dev", "prod"]                             # promotion order
    }

Every stage is an environment with ``account`` and ``region``; an environment marked
``production`` gets a manual approval before it. Optional ``permissions_boundary`` for the
pipeline's own roles (in the pipeline account); the app-wide ``context.tags`` tag its resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from .deployment import ACCOUNT_RE
from .errors import CHECKS, REGION_RE, REGION_RULE
from .guardrails import POLICY_ARN_RE, POLICY_NAME_RE, POLICY_RULE, parse_tags

KEYS = ("enabled", "account", "region", "connection_arn", "repository", "branch", "stages", "permissions_boundary")
# CodeConnections (or its former name, CodeStar Connections) connection ARNs.
CONNECTION_ARN_RE = re.compile(
    r"arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}")
REPOSITORY_RE = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+")
BRANCH_RE = re.compile(r"[A-Za-z0-9._/-]{1,255}")


@dataclass(frozen=True)
class PipelineConfig:
    account: str
    region: str
    connection_arn: str
    repository: str  # owner/name
    branch: str
    stages: tuple[str, ...]  # environment names, in promotion order
    permissions_boundary: str | None = None
    tags: tuple[tuple[str, str], ...] = ()  # the app-wide tags


def parse_pipeline(raw: Any, environments: Mapping[str, Any], tags: Any = None) -> PipelineConfig | None:
    """``None`` when absent or not enabled; ``environments``: name -> EnvironmentConfig;
    ``tags``: the app-wide ``context.tags``."""
    path = "pipeline"
    if raw is None:
        return None
    raw = CHECKS.object(path, raw)
    CHECKS.no_unknown_keys(path, raw, KEYS)
    if not CHECKS.boolean(f"{path}.enabled", raw.get("enabled", False)):
        return None

    def required(key: str, regex: re.Pattern[str], rule: str) -> str:
        return CHECKS.pattern(f"{path}.{key}", CHECKS.required(path, raw, key, rule), regex, rule)

    account = required("account", ACCOUNT_RE, "a 12-digit AWS account id (a string): where the pipeline runs")
    region = required("region", REGION_RE, REGION_RULE)
    connection_arn = required("connection_arn", CONNECTION_ARN_RE,
                              "a CodeConnections connection ARN (arn:aws:codeconnections:<region>:<account>:"
                              "connection/<id>)")
    repository = required("repository", REPOSITORY_RE, "'owner/name' of the repository the connection reaches")
    branch = required("branch", BRANCH_RE, "a branch name")
    stages = CHECKS.required(path, raw, "stages", "environment names in promotion order, e.g. ['dev', 'prod']")
    if not isinstance(stages, list) or not stages:
        raise CHECKS.fail(f"{path}.stages", "must be a non-empty list of environment names", stages)
    for i, name in enumerate(stages):
        where = f"{path}.stages[{i}]"
        CHECKS.one_of(where, name, environments)
        if stages.index(name) != i:
            raise CHECKS.fail(where, "each environment is deployed once", name)
        if environments[name].account is None:
            raise CHECKS.fail(where, f"environment {name!r} must set account and region to be deployed by the "
                              "pipeline")
    boundary = raw.get("permissions_boundary")
    if boundary is not None:
        regex = POLICY_ARN_RE if isinstance(boundary, str) and boundary.startswith("arn:") else POLICY_NAME_RE
        boundary = CHECKS.pattern(f"{path}.permissions_boundary", boundary, regex, POLICY_RULE)
    return PipelineConfig(account=account, region=region, connection_arn=connection_arn, repository=repository,
                          branch=branch, stages=tuple(stages), permissions_boundary=boundary,
                          tags=tuple(sorted(parse_tags("tags", tags or {}).items())))
