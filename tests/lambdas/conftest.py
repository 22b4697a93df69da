"""Fixtures for the runtime tests (no AWS, no CDK)."""

from __future__ import annotations

import pytest

from tests.lambdas.helpers import RecordingGrader


@pytest.fixture
def recording_grader() -> RecordingGrader:
    return RecordingGrader()
