"""Feature flags: cdk.json sets every flag `cdk init` generates for the pinned CDK CLI, and the
CLI prints no "N feature flags are not configured" warning for our cloud assembly.

The CLI reads the flags report the library writes into the assembly, so running the pinned
CLI on the session's assembly (``cdk synth --app <assembly dir>``: no app run) is the same
check ``make synth`` makes, without synthesizing again.

This is the half that synthesizes; the rest is tests/project/test_feature_flags.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.project.test_feature_flags import WARNING, cli


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
