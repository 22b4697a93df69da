"""cfn-lint over every template the session synth wrote (same flags as `make synth`)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests import ROOT


def makefile_cfn_lint_args() -> list[str]:
    match = re.search(r"^CFN_LINT_ARGS\s*:?=\s*(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    return match.group(1).split() if match else []


def test_cfn_lint_is_clean(synth: Any) -> None:
    files = [str(path) for path in synth.template_files.values()]
    assert len(files) == len(synth.stacks)
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    command = [str(cfn_lint)] if cfn_lint.exists() else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run([*command, *files, *makefile_cfn_lint_args()], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
