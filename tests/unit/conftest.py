"""Fixtures for the runtime unit tests (no AWS, no CDK)."""

from __future__ import annotations

import pytest

from .helpers import RecordingGrader


@pytest.fixture(autouse=True)
def _no_workers_kept_between_tests():
    """The VeRL adapter keeps killable grading workers for its process; not across tests."""
    yield
    from reward_kit import isolation

    isolation.POOL.release_workers()


@pytest.fixture
def recording_grader() -> RecordingGrader:
    return RecordingGrader()
