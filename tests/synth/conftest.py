"""One synth per test session, shared by every test under tests/synth.

Only tests in this folder synthesize (``tests/project/test_layout.py`` checks it): the rest of
the stack tests (tests/stacks) run without a CDK app. The context is ``tests/cdk_context.py``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cdk_context import FIXTURE_CONTEXT, ROOT, TEAM_CONTEXT, Synth, synth_context, team_context


def synthesized(app: Any, stacks: dict[str, Any]) -> Synth:
    """Synthesize ``app`` once: each environment's template, as data and as the file written."""
    assembly = app.synth()
    templates, files = {}, {}
    for env, stack in stacks.items():
        artifact = assembly.get_stack_by_name(stack.stack_name)
        templates[env] = artifact.template
        files[env] = Path(artifact.template_full_path)
    return Synth(app=app, stacks=stacks, templates=templates, template_files=files)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from aws_cdk import App

    from stacks.app_builder import build_app
    from stacks.config import parse_environments

    outdir = tmp_path_factory.mktemp("cdk.out")
    context = synth_context()
    app = App(context=context, outdir=str(outdir))
    stacks = build_app(app, list(parse_environments(context["environments"], context.get("tags")).values()))
    return synthesized(app, stacks)


@pytest.fixture(scope="session")
def team_synth(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The team's own environments (cdk.json) synthesized as ``app.py`` does; the session's synth
    when cdk.json still holds exactly the fixture's environments (the same input: no second synth)."""
    from aws_cdk import App

    from stacks.app_builder import build_app
    from stacks.config import parse_environments, parse_pipeline

    context = team_context()
    settings = {k: v for k, v in TEAM_CONTEXT.items() if not k.startswith("@") and k != "cli-telemetry"}
    if settings == FIXTURE_CONTEXT and not (ROOT / "cdk.context.json").exists():
        return synth
    app = App(context=context, outdir=str(tmp_path_factory.mktemp("team.cdk.out")))
    environments = parse_environments(context["environments"], context.get("tags"))
    pipeline = parse_pipeline(context.get("pipeline"), environments, context.get("tags"))
    stacks = build_app(app, list(environments.values()), pipeline, environments)
    return synthesized(app, stacks)
