"""A syntax error in cdk.json is reported with its line and column before anything reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cdk_context import ROOT
from tools.check_cdk_json import check, main


def test_a_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    broken = tmp_path / "cdk.json"
    broken.write_text('{\n  "context": {\n    "environments": {\n      "dev" {}\n    }\n  }\n}\n', encoding="utf-8")
    assert check(broken) == f"{broken}:4:13: Expecting ':' delimiter\n    \"dev\" {{}}"
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "check_cdk_json.py"), str(broken)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.startswith(f"{broken}:4:13: ")


def test_the_shipped_cdk_json_passes_and_a_non_object_does_not(tmp_path: Path) -> None:
    assert main([str(ROOT / "cdk.json")]) == 0
    listed = tmp_path / "cdk.json"
    listed.write_text("[]", encoding="utf-8")
    assert check(listed) == f"{listed}:1:1: must be a JSON object whose 'context' is an object"


def test_every_make_target_checks_it_first() -> None:
    run = subprocess.run(["make", "--no-print-directory", "-n", "setup"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].endswith("tools/check_cdk_json.py cdk.json")
