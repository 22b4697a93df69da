"""Snapshot of each of the team's environments' templates (its cdk.json), machine-specific values masked.

These snapshots are the one target the team owns: after a reviewed change to cdk.json (or to the
code), `make snapshots` updates them. Every other stack test builds its stacks from the test
fixture (tests/fixtures/cdk.json), so editing cdk.json fails only these.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.cdk_context import TEAM_ENVIRONMENTS

_MASKS = (
    # Bootstrap qualifier (asset bucket cdk-hnb659fds-assets-..., /cdk-bootstrap/hnb659fds/version).
    (re.compile(r"hnb659fds"), "<qualifier>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<asset-hash>"),
    # Lambda Version logical ids embed a hash of the function configuration and code.
    (re.compile(r"CurrentVersion[0-9A-F]{8}[0-9a-f]{32}"), "CurrentVersion<hash>"),
)


def masked(template: dict[str, Any]) -> Any:
    text = json.dumps(template, indent=1, sort_keys=True, ensure_ascii=False)
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return json.loads(text)


@pytest.fixture
def snapshot_json(snapshot: Any) -> Any:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("env", TEAM_ENVIRONMENTS)
def test_template_snapshot(team_synth: Any, snapshot_json: Any, env: str) -> None:
    assert masked(team_synth.templates[env]) == snapshot_json


def test_masks_leave_no_machine_specific_values(team_synth: Any) -> None:
    text = json.dumps([masked(team_synth.templates[env]) for env in TEAM_ENVIRONMENTS])
    assert not re.search(r"[0-9a-f]{64}", text)
    assert "hnb659fds" not in text and "/tmp/" not in text and "/work/" not in text
