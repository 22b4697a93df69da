"""Fixtures for the runtime unit tests (no AWS, no CDK)."""

from __future__ import annotations

import pytest

from .helpers import RecordingGrader


@pytest.fixture
def recording_grader() -> RecordingGrader:
    return RecordingGrader()
