"""Snapshot of each shipped environment's template, with machine-specific values masked.

Update after an intended change with: .venv/bin/python -m pytest tests/infra --snapshot-update
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from .conftest import SHIPPED_ENVIRONMENTS

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


@pytest.mark.parametrize("env", SHIPPED_ENVIRONMENTS)
def test_template_snapshot(synth: Any, snapshot_json: Any, env: str) -> None:
    assert masked(synth.templates[env]) == snapshot_json


def test_masks_leave_no_machine_specific_values(synth: Any) -> None:
    text = json.dumps([masked(synth.templates[env]) for env in SHIPPED_ENVIRONMENTS])
    assert not re.search(r"[0-9a-f]{64}", text)
    assert "hnb659fds" not in text and "/tmp/" not in text and "/work/" not in text
