"""Where an environment deploys: ``account`` and ``region`` (both, or neither)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import CHECKS, REGION_RE, REGION_RULE

KEYS = ("account", "region")
_ACCOUNT_RE = re.compile(r"\d{12}")


@dataclass(frozen=True)
class DeploymentConfig:
    account: str | None = None  # None with region None: an environment-agnostic stack
    region: str | None = None


def parse_deployment(path: str, raw: Mapping[str, Any]) -> DeploymentConfig:
    account = raw.get("account")
    if account is not None:
        account = CHECKS.pattern(f"{path}.account", account, _ACCOUNT_RE, "a 12-digit AWS account id (a string)")
    region = raw.get("region")
    if region is not None:
        region = CHECKS.pattern(f"{path}.region", region, REGION_RE, REGION_RULE)
    if (account is None) != (region is None):
        missing = "region" if region is None else "account"
        raise CHECKS.fail(f"{path}.{missing}", "set both account and region, or neither (environment-agnostic stack)")
    return DeploymentConfig(account=account, region=region)
