"""Fixtures for the runtime unit tests (no AWS, no CDK)."""

from __future__ import annotations

import pytest

from .helpers import RecordingGrader


@pytest.fixture(autouse=True)
def _no_workers_kept_between_tests():
    """Killable grading workers stay idle between invocations for the process's life; not
    across tests (each test starts without any)."""
    yield
    from reward_kit import isolation

    isolation.POOL.shutdown()


@pytest.fixture
def recording_grader() -> RecordingGrader:
    return RecordingGrader()
