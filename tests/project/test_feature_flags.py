"""Feature flags: cdk.json sets every flag `cdk init` generates for the pinned CDK CLI.

That the CLI prints no "N feature flags are not configured" warning for our assembly:
tests/synth/test_feature_flags.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.cdk_context import CDK_CONTEXT, ROOT

CDK = ROOT / "node_modules" / ".bin" / "cdk"
WARNING = "feature flags are not configured"


def cli(*args: str, cwd: Path) -> str:
    assert CDK.exists(), "node_modules/.bin/cdk is missing: run `make setup`"
    env = {**os.environ, "CDK_DISABLE_VERSION_CHECK": "true", "CDK_DISABLE_CLI_TELEMETRY": "true",
           "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    run = subprocess.run([str(CDK), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout + run.stderr


def test_cdk_json_sets_every_flag_cdk_init_generates(tmp_path: Path) -> None:
    cli("init", "app", "--language", "python", "--generate-only", cwd=tmp_path)
    generated: dict[str, Any] = json.loads((tmp_path / "cdk.json").read_text(encoding="utf-8"))["context"]
    assert len(generated) > 50
    missing = {flag: value for flag, value in generated.items() if CDK_CONTEXT.get(flag, object()) != value}
    assert not missing, f"set these in cdk.json (as `cdk init` does): {missing}"
