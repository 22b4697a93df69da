"""Fixtures for the runtime tests (no AWS, no CDK)."""

from __future__ import annotations

import pytest

from tests.lambdas.helpers import RecordingGrader, fresh_handler


@pytest.fixture
def recording_grader() -> RecordingGrader:
    return RecordingGrader()


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch):
    """load(handler module name, spec) -> the handler module, fresh (see helpers.fresh_handler);
    each is put back when the test ends."""
    generators = []

    def _load(module_name, spec):
        generator = fresh_handler(module_name, spec, monkeypatch)
        generators.append(generator)
        return next(generator)

    yield _load
    for generator in generators:
        next(generator, None)
