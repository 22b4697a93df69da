"""`make synth ENV=name`, and the Node.js version the project pins (package.json engines).

`make synth ENV=name` runs everything `make synth` runs (lock check, synth with cdk-nag, cfn-lint,
bundle checks) for one environment: checked on make's own dry run (`make -n`), since a real
synth bundles every asset. The Node pin: package.json, the README, the pipeline's CodeBuild
runtime agree, and on an older Node the app prints one line instead of jsii's banner.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stacks import node_runtime
from stacks.pipeline.construct import RUNTIME_VERSIONS
from tests.cdk_context import CDK_CONTEXT, ROOT


def make_dry_run(*args: str, env: dict[str, str] | None = None) -> list[str]:
    run = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr
    return [line for line in run.stdout.splitlines() if line.strip()]


def synth_steps(lines: list[str]) -> list[str]:
    """The synth recipe's commands (after the set-up's), with the selection removed."""
    start = next(i for i, line in enumerate(lines) if "tools/lock.py --check" in line)
    return [re.sub(r" -c env=\S+", "", line).rstrip() for line in lines[start:] if not line.startswith("echo")]


def test_make_synth_env_selects_one_environment_and_runs_every_check() -> None:
    every = make_dry_run("synth")
    one = make_dry_run("synth", "ENV=prod")
    (cdk_every,) = [line for line in every if " synth --quiet" in line]
    (cdk_one,) = [line for line in one if " synth --quiet" in line]
    assert "-c env=" not in cdk_every
    assert cdk_one.endswith("-c env=prod")
    assert synth_steps(one) == synth_steps(every)  # the same lock check, cfn-lint and bundle checks
    assert any("cfn-lint" in line for line in synth_steps(one))
    assert any("tools/check_bundle.py cdk.out" in line for line in synth_steps(one))


def test_env_in_the_shells_environment_does_not_select() -> None:
    # sh reads $ENV at start-up, so a shell may have it set: only `make synth ENV=...` selects.
    (cdk,) = [line for line in make_dry_run("synth", env={"ENV": "prod"}) if " synth --quiet" in line]
    assert "-c env=" not in cdk


def test_one_node_lts_everywhere() -> None:
    required = node_runtime.required_major()
    assert required >= 22  # Node 20 reached end of life on 2026-04-30
    assert json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["engines"] == {"node": f">={required}"}
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"][""]["engines"] == {"node": f">={required}"}
    assert RUNTIME_VERSIONS["nodejs"] == str(required)  # the pipeline's CodeBuild synth
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Node {required}+" in readme and "Node 20+" not in readme


def test_required_major_rejects_an_engines_range_it_cannot_read(tmp_path: Path) -> None:
    package = tmp_path / "package.json"
    package.write_text(json.dumps({"engines": {"node": "^22 || ^24"}}), encoding="utf-8")
    with pytest.raises(ValueError, match="engines.node"):
        node_runtime.required_major(package)


@pytest.mark.parametrize(("major", "silenced", "noted"), [(20, "20", True), (18, "18", True), (22, None, False)])
def test_quiet_jsii_silences_only_the_running_old_major(monkeypatch: pytest.MonkeyPatch, major: int,
                                                        silenced: str | None, noted: bool) -> None:
    monkeypatch.setattr(node_runtime, "node_major", lambda: major)
    environ: dict[str, str] = {}
    note = node_runtime.quiet_jsii(environ)
    assert environ.get(node_runtime.JSII_EOL_SILENCE) == silenced
    assert (note is not None) == noted
    if note:
        assert "\n" not in note and f"Node {major}" in note and "Node 22+" in note


@pytest.mark.slow
def test_the_app_prints_no_jsii_banner_on_any_node(tmp_path: Path) -> None:
    """app.py as `npx cdk synth -c env=...` runs it, without the Makefile's environment."""
    context = {k: v for k, v in CDK_CONTEXT.items() if k.startswith("@")}
    context |= {"environments": {"tiny": {
        "training": {"bucket": "amzn-s3-demo-bucket", "data_prefix": "d", "output_prefix": "o"},
        "reward_functions": {"n": {"reward_spec": {"grader": "numeric"}, "target_evaluations_per_second": 10,
                                   "expected_seconds_per_sample": 0.05}}}},
                "aws:cdk:bundling-stacks": [], "env": "tiny"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}
    env |= {"CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)}
    run = subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "end-of-life" not in run.stderr and "not supported anymore" not in run.stderr, run.stderr
    major = node_runtime.node_major()
    expected = 1 if major is not None and major < node_runtime.required_major() else 0
    assert len([line for line in run.stderr.splitlines() if line.startswith("note: Node")]) == expected
