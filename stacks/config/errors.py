"""The config's error type and its checkers (``reward_kit.checks``, shared with the reward spec)."""

from __future__ import annotations

import re

from reward_kit.checks import CheckError, Checks


class ConfigError(CheckError):
    """Invalid cdk.json configuration; the message is one line naming the key."""


CHECKS = Checks(ConfigError)

# Environment and function names: lowercase, DNS-like (they end up in resource names).
NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
REGION_RE = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]*)?-[a-z]+-\d")
REGION_RULE = "a region name such as 'us-east-1'"
