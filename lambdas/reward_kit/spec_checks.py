"""What every grader kind's spec validation shares: ``SpecError`` and its checkers.

Standard library only: each grader module's ``validate`` imports it, and so does the CDK app
(through ``reward_kit.spec``) at synth time. A checker raises ``SpecError`` with one line that
starts with the key path and, where there is a closed set, names the allowed values.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from reward_kit.checks import CheckError, Checks

__all__ = ["NAME_RULE", "SpecError", "checks", "name", "reference_key"]


class SpecError(CheckError):
    """A reward spec that cannot be used; the message names the key path and the fix."""


checks = Checks(SpecError)

# Dimension/component names become CloudWatch metric names (Reward_<name>) and JSON keys.
NAME_RULE = "[A-Za-z0-9_-]{1,64}"
_NAME_RE = re.compile(NAME_RULE)


def name(path: str, value: Any) -> str:
    return checks.pattern(path, value, _NAME_RE, f"a valid name ({NAME_RULE})")


def reference_key(path: str, spec: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Copy the optional ``reference_key`` (only when given: specs without it normalize as before)."""
    if "reference_key" in spec:
        out["reference_key"] = checks.string(
            f"{path}.reference_key",
            spec["reference_key"],
            "must be a non-empty string (the key of the reference object that holds the answer)",
        )
