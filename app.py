#!/usr/bin/env python3
"""CDK entry point: cdk.json context -> validated, frozen config -> one stack per environment.

This is the only place that reads context; stacks receive typed config.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lambdas"))  # reward_kit.names / .spec

from stacks.node_runtime import quiet_jsii  # noqa: E402  (before aws_cdk starts jsii's Node)

_node_note = quiet_jsii()
if _node_note:
    print(_node_note, file=sys.stderr)

from aws_cdk import App  # noqa: E402

from stacks.app_builder import build_app  # noqa: E402
from stacks.config import (  # noqa: E402
    NAME_OVERRIDE_KEYS,
    ConfigError,
    parse_environments,
    parse_pipeline,
    select_environments,
    unpinned_environment_warning,
    with_name_overrides,
)

app = App()
selected = app.node.try_get_context("env")
try:
    raw = with_name_overrides(
        app.node.try_get_context("environments"),
        selected,
        {key: app.node.try_get_context(key) for key in NAME_OVERRIDE_KEYS},
    )
    # Every environment is validated, even when `-c env=<name>` selects one of them.
    all_environments = parse_environments(raw, app.node.try_get_context("tags"))
    environments = select_environments(all_environments, selected)
    # The pipeline (off unless context.pipeline.enabled) is left out when one environment is selected.
    pipeline = None if selected else parse_pipeline(
        app.node.try_get_context("pipeline"), all_environments, app.node.try_get_context("tags"))
except ConfigError as exc:
    sys.exit(f"cdk.json: {exc}")
warning = unpinned_environment_warning(environments)
if warning:
    print(f"cdk.json: {warning}", file=sys.stderr)
build_app(app, environments, pipeline, all_environments)
app.synth()
