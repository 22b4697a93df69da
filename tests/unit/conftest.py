"""Fixtures for the runtime unit tests (no AWS, no CDK)."""

from __future__ import annotations

import os

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


@pytest.fixture(autouse=True)
def _code_sandbox_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """As root, the code sandbox's children run as ``nobody``, who cannot start an interpreter
    under /root (pyenv): point them at one it can (only then; Lambda never runs as root)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0 and not os.environ.get("CODE_SANDBOX_PYTHON"):
        from .code_helpers import use_child_python

        use_child_python(monkeypatch)
