"""The README's shell commands run as written, on a clean copy of the repository, without AWS.

Every command of every ```bash block is either run here (from the copy's root, with no AWS
credentials or configuration in reach) or matched by one of ``NOT_RUN_HERE``, each with why. A
new command in the README runs here unless someone adds it there with a reason. Also: the README
never asks to ``git add`` a file .gitignore ignores, and its tables say what the code does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reward_kit import kinds
from tests.cdk_context import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMAND_TIMEOUT_SECONDS = 1200

# (pattern on the command, why it is not run by this test)
NOT_RUN_HERE: tuple[tuple[str, str], ...] = (
    (r"^make test\b", "the suite this test is part of (CI runs it: .ci/run)"),
    (r"^make (deploy|diff|deploy-pipeline)\b", "needs AWS credentials and a bootstrapped account"),
    (r"^npx cdk bootstrap\b", "needs AWS credentials"),
    (r"^aws ", "the AWS CLI: needs AWS credentials"),
    (r"\bgit push\b", "pushes to the team's remote (with credentials for the lookups it commits)"),
    (r"^make bench\b", "a measurement (ratios on a shared, loaded machine), not a check: make bench reports it"),
    (r"DATA=rollouts\.jsonl SPEC=my-spec\.json", "placeholders for the reader's own files"),
    (r"^export PYTHONPATH=/path/to/", "a verl training job's set-up (placeholder path, needs verl and GPUs)"),
    (r"^export REWARD_SPEC=", "part of the verl job above"),
    (r"^python3 -m verl\.", "a verl training job (needs verl and GPUs)"),
)


def readme_commands() -> list[str]:
    """Each command of the README's bash blocks: continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL):
        for command in re.sub(r"\\\n\s*", " ", block).splitlines():
            if command.strip() and not command.lstrip().startswith("#"):
                commands.append(command.strip())
    return commands


def skip_reason(command: str) -> str | None:
    return next((why for pattern, why in NOT_RUN_HERE if re.search(pattern, command)), None)


def test_every_command_is_run_or_excluded_with_a_reason() -> None:
    commands = readme_commands()
    run = [c for c in commands if skip_reason(c) is None]
    assert any(c.startswith("make synth") for c in run) and any(c.startswith("make dryrun") for c in run)
    assert any(c.startswith("make test") for c in commands)  # found, and excluded only as the suite itself
    unused = [p for p, _ in NOT_RUN_HERE if not any(re.search(p, c) for c in commands)]
    assert unused == [], f"exclusions that match no README command any more: {unused}"


def test_the_readme_never_asks_to_git_add_an_ignored_file() -> None:
    paths = [p for c in readme_commands() for p in re.findall(r"git add ((?:[^&;|\s]+\s*)+)", c)]
    files = [f for group in paths for f in group.split()]
    assert files, "the README's git add commands were not found"
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *files], cwd=ROOT, capture_output=True, text=True)
    assert ignored.stdout == "", f"README says git add, .gitignore ignores: {ignored.stdout.split()}"


def test_the_kind_row_names_every_function_kind_and_its_handler() -> None:
    (row,) = [line for line in README.splitlines() if line.startswith("| `.kind` |")]
    for name, kind in kinds.FUNCTION_KINDS.items():
        assert f"`{name}` (`{kind.handler}`" in row, name
    assert "not available" not in row


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files as a clone has them; the virtualenv shared (make sees it current),
    node_modules installed by the copy's own `make` (npm ci, one pinned package)."""
    from tests.project.test_team_config import clean_copy as copy_repository

    copy = copy_repository(tmp_path_factory.mktemp("readme") / "repo")
    (copy / "node_modules").unlink()
    return copy


def without_aws(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_", "CDK_"))}
    env |= {"HOME": str(home), "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true"}
    # pip's and npm's caches stay reachable (a clean machine downloads instead).
    for cache, default in (("PIP_CACHE_DIR", Path.home() / ".cache" / "pip"),
                           ("npm_config_cache", Path.home() / ".npm")):
        env.setdefault(cache, str(default))
    return env


@pytest.mark.slow
def test_the_credential_free_commands_run_as_written(clean_copy: Path, tmp_path: Path) -> None:
    env = without_aws(tmp_path)
    failures = []
    ran = []
    for command in dict.fromkeys(readme_commands()):  # each distinct command once, in README order
        if skip_reason(command) is not None:
            continue
        result = subprocess.run(["bash", "-c", command], cwd=clean_copy, env=env, capture_output=True, text=True,
                                timeout=COMMAND_TIMEOUT_SECONDS)
        ran.append(command)
        if result.returncode != 0:
            failures.append(f"{command}\n  exit {result.returncode}: {(result.stdout + result.stderr)[-1500:]}")
    assert not failures, "\n".join(failures)
    assert len(ran) >= 4
    assert (clean_copy / "cdk.out").is_dir() and shutil.which("bash")
