"""Shared by every test.

The tree mirrors the source: tests/lambdas/<component>/ (the runtime: plain Python, no AWS, no
CDK), tests/stacks/<component>/ (constructs and config without a synth), tests/synth/ (the only
tests that build or synthesize an app, in process or by running app.py: one synth per session),
tests/tools, tests/bench, tests/examples, and tests/project (the repository as a whole: docs,
layout, schemas, make; it runs the repository's own commands, make synth and the suite, on
clean copies).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(autouse=True)
def _no_workers_kept_between_tests():
    """Killable grading workers stay idle between invocations for the process's life; not
    across tests (each test starts without any)."""
    yield
    from reward_kit import isolation

    isolation.POOL.shutdown()
