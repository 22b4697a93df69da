"""The suite follows the team's config: editing cdk.json fails only the team's own snapshots.

The README tells a platform team to edit cdk.json (rename environments, add functions, change
sizes). Every stack test builds its stacks from the test fixture (tests/fixtures/cdk.json); only
tests/synth/test_snapshots.py reads the team's cdk.json, and `make snapshots` accepts its new templates.
This test shows it on a clean copy of the repository: every environment and function renamed,
sizes and tags changed; the stack suites then fail in the team's snapshots and nowhere else, and
after `make snapshots` it passes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cdk_context import ROOT, TEAM_CONTEXT

ENV_RENAMES = {"dev": "staging-west", "prod": "live"}
FUNCTION_RENAMES = {"sentiment": "tone", "gsm8k": "arithmetic", "code-tests": "unit-tests"}
SUITE_TIMEOUT_SECONDS = 1800
# Every suite that touches the stacks or the repository's config (tests/lambdas never does).
STACK_TESTS = ["tests/synth", "tests/stacks", "tests/tools", "tests/project"]


def new_function_name(name: str) -> str:
    return FUNCTION_RENAMES.get(name, f"{name}-x")


def renamed(context: dict[str, Any]) -> dict[str, Any]:
    """The shipped environments as a team would make them its own: new names, sizes and tags."""
    context = json.loads(json.dumps(context))
    environments = {}
    for env_name, env in context["environments"].items():
        env["reward_functions"] = {new_function_name(k): v for k, v in env["reward_functions"].items()}
        for function in env["reward_functions"].values():
            function["memory_mb"] = function.get("memory_mb", 1024) + 64
            function["target_evaluations_per_second"] = function.get("target_evaluations_per_second", 10) + 5
        evaluators = env.get("evaluator_registration", {}).get("evaluators")
        if evaluators:
            env["evaluator_registration"]["evaluators"] = {new_function_name(k): v for k, v in evaluators.items()}
        env.setdefault("tags", {})["team"] = "ml-platform"
        env["log_retention_days"] = 30
        environments[ENV_RENAMES.get(env_name, f"{env_name}-x")] = env
    context["environments"] = environments
    context["tags"] = {**context.get("tags", {}), "cost-center": "CC-42"}
    return context


def clean_copy(destination: Path) -> Path:
    """The repository's files as a clone has them (tracked and new, nothing ignored), the set-up shared."""
    if not (ROOT / ".git").exists():  # already a copy: its files as they are
        shutil.copytree(ROOT, destination, symlinks=True,
                        ignore=shutil.ignore_patterns(".venv", "node_modules", "cdk.out*", "__pycache__", ".*_cache"))
        (destination / ".venv").unlink(missing_ok=True)
        (destination / "node_modules").unlink(missing_ok=True)
        listed = []
    else:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)  # mtimes kept: make sees the set-up as current
    for shared in (".venv", "node_modules"):  # what `make setup` installed (read only here)
        (destination / shared).symlink_to(ROOT / shared, target_is_directory=True)
    return destination


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "AWS_"))}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=SUITE_TIMEOUT_SECONDS)


def failed_tests(output: str) -> set[str]:
    return set(re.findall(r"^(?:FAILED|ERROR) (\S+)", output, flags=re.MULTILINE))


def test_the_renaming_touches_every_environment_and_function() -> None:
    from stacks.config import parse_environments

    team = renamed(TEAM_CONTEXT)
    assert not set(team["environments"]) & set(TEAM_CONTEXT["environments"])
    for env in team["environments"].values():
        assert not set(env["reward_functions"]) & set(FUNCTION_RENAMES)
    twice = renamed(team)  # a team that renames again (or a renamed clone running this test)
    assert parse_environments(twice["environments"], twice["tags"])


def test_no_unit_test_reads_the_teams_cdk_json() -> None:
    # tests/lambdas runs without a synth; a path to cdk.json there would tie it to the team's config.
    readers = [p.name for p in (ROOT / "tests" / "lambdas").rglob("*.py")
               if re.search(r"""(?<!"fixtures" )/ ["']cdk\.json["']""", p.read_text(encoding="utf-8"))]
    assert readers == []


@pytest.mark.slow
def test_a_team_renaming_its_environments_fails_only_its_snapshots_until_make_snapshots(tmp_path: Path) -> None:
    copy = clean_copy(tmp_path / "repo")
    cdk_json = json.loads((copy / "cdk.json").read_text(encoding="utf-8"))
    cdk_json["context"] = renamed(cdk_json["context"])
    new_environments = list(cdk_json["context"]["environments"])
    (copy / "cdk.json").write_text(json.dumps(cdk_json, indent=2, ensure_ascii=False), encoding="utf-8")
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    this_test = f"tests/project/{Path(__file__).name}"

    # test_readme_commands runs the README's commands (make synth of this same cdk.json among them)
    # on a clean copy of its own; make synth is checked on a renamed config by hand (issue 23's report).
    readme_test = "tests/project/test_readme_commands.py"
    before = run([*pytest_cmd, *STACK_TESTS, "--ignore", this_test, "--ignore", readme_test], copy)
    failed = failed_tests(before.stdout)
    assert before.returncode != 0 and failed, before.stdout[-3000:]
    assert {f.split("::")[0] for f in failed} == {"tests/synth/test_snapshots.py"}, before.stdout[-3000:]
    assert {f.split("::")[1] for f in failed} == {f"test_template_snapshot[{env}]" for env in new_environments}, failed

    accepted = run(["make", "snapshots"], copy)
    assert accepted.returncode == 0, accepted.stdout[-3000:] + accepted.stderr[-3000:]
    snapshots = sorted(p.name for p in (copy / "tests/synth/__snapshots__/test_snapshots").iterdir())
    assert snapshots == sorted(f"test_template_snapshot[{env}].json" for env in new_environments)

    after = run([*pytest_cmd, "tests/synth/test_snapshots.py"], copy)
    assert after.returncode == 0, after.stdout[-3000:]
