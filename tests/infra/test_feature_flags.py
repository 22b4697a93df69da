"""Feature flags: cdk.json sets every flag `cdk init` generates for the pinned CDK CLI, and the
CLI prints no "N feature flags are not configured" warning for our cloud assembly.

The CLI reads the flags report the library writes into the assembly, so running the pinned
CLI on the session's assembly (``cdk synth --app <assembly dir>``: no app run) is the same
check ``make synth`` makes, without synthesizing again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .conftest import CDK_CONTEXT, ROOT

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


def test_synth_prints_no_unconfigured_flags_warning(synth: Any, tmp_path: Path) -> None:
    assembly = synth.template_files["dev"].parent
    output = cli("synth", "--app", str(assembly), "--quiet", "--no-notices", cwd=tmp_path)
    assert "Successfully synthesized" in output  # the multi-stack path, where the CLI counts flags
    assert WARNING not in output, output


def test_the_warning_check_can_fail(tmp_path: Path) -> None:
    # The same CLI on an app without the flags prints the warning this suite looks for.
    app = tmp_path / "app.py"
    app.write_text(
        "import aws_cdk as cdk\n"
        "from aws_cdk import aws_sqs as sqs\n"
        f"app = cdk.App(outdir={str(tmp_path / 'out')!r})\n"
        "for name in ('A', 'B'):\n"
        "    sqs.Queue(cdk.Stack(app, name), 'Q')\n"
        "app.synth()\n",
        encoding="utf-8",
    )
    subprocess.run([sys.executable, str(app)], check=True, capture_output=True, timeout=300,
                   env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"})
    output = cli("synth", "--app", str(tmp_path / "out"), "--quiet", "--no-notices", cwd=tmp_path)
    assert WARNING in output
