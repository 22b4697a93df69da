#!/usr/bin/env python3
"""CDK entry point: cdk.json context -> validated config -> one stack per environment."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "lambdas"))  # reward_kit.names / .spec

from aws_cdk import App  # noqa: E402

from stacks.app_builder import build_app  # noqa: E402
from stacks.config import ConfigError  # noqa: E402

app = App()
try:
    build_app(app)
except ConfigError as exc:
    sys.exit(f"cdk.json: {exc}")
app.synth()
