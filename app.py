#!/usr/bin/env python3
"""CDK entry point: cdk.json context -> validated, frozen config -> one stack per environment.

This is the only place that reads context; stacks receive typed config.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lambdas"))  # reward_kit.names / .spec

from aws_cdk import App  # noqa: E402

from stacks.app_builder import build_app  # noqa: E402
from stacks.config import ConfigError, parse_environments, select_environments  # noqa: E402

app = App()
try:
    # Every environment is validated, even when `-c env=<name>` selects one of them.
    environments = select_environments(
        parse_environments(app.node.try_get_context("environments")),
        app.node.try_get_context("env"),
    )
except ConfigError as exc:
    sys.exit(f"cdk.json: {exc}")
build_app(app, environments)
app.synth()
