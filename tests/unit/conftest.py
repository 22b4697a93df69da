"""Fixtures for the runtime unit tests (no AWS, no CDK)."""

from __future__ import annotations

import os

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


@pytest.fixture(autouse=True)
def _code_sandbox_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """As root, the code sandbox's children run as ``nobody``, who cannot start an interpreter
    under /root (pyenv): point them at one it can (only then; Lambda never runs as root)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0 and not os.environ.get("CODE_SANDBOX_PYTHON"):
        from .code_helpers import use_child_python

        use_child_python(monkeypatch)
