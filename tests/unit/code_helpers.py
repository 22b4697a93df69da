"""Shared by the code grader tests: an interpreter the sandbox's children can run, and samples."""

from __future__ import annotations

import functools
import os
import shutil
import sys
from typing import Any

import pytest

from code.sandbox import OK, run_program, unprivileged_user
from reward_kit import names


@functools.cache
def child_python() -> str | None:
    """An interpreter the sandbox's children can start. As root the children drop to
    ``nobody``, which cannot run an interpreter under /root (pyenv): use the system one."""
    candidates = [sys.executable]
    if unprivileged_user() is not None:
        candidates += [path for path in (shutil.which("python3", path="/usr/bin:/usr/local/bin"),) if path]
    for candidate in candidates:
        if run_program("print(1)", python=candidate, user=unprivileged_user()).status == OK:
            return candidate
    return None


def use_child_python(monkeypatch: pytest.MonkeyPatch) -> str:
    python = child_python()
    if python is None:  # pragma: no cover - depends on the machine
        pytest.fail("no interpreter the sandbox's unprivileged children can run (install /usr/bin/python3)")
    monkeypatch.setenv(names.ENV_CODE_SANDBOX_PYTHON, python)
    return python


def code_sample(sample_id: str, program: str | None, reference: Any, *, fence: str = "python",
                prose: str = "Here is my solution.") -> dict[str, Any]:
    response = program if program is None or fence is None else f"{prose}\n```{fence}\n{program}\n```\n"
    return {
        "id": sample_id,
        "messages": [{"role": "user", "content": "Write the program."}, {"role": "assistant", "content": response}],
        "metadata": {"reference_answer": reference},
    }


ADD_IO = {"tests": [{"input": f"{a} {b}\n", "output": f"{a + b}\n"} for a, b in
                    [(1, 2), (3, 4), (10, 20), (7, 8), (100, 1)]]}
ADD_ASSERTS = {"test_code": "assert add(1, 2) == 3\nassert add(2, 2) == 4\nassert add(-1, 1) == 0\nassert add(5, 5) == 10"}


def metrics(output: dict[str, Any]) -> dict[str, float]:
    return {m["name"]: m["value"] for m in output["metrics_list"]}


def reasons(outputs: list[dict[str, Any]]) -> dict[str, str | None]:
    found = {}
    for output in outputs:
        failure = [m["name"][len("failure_"):] for m in output["metrics_list"] if m["name"].startswith("failure_")]
        found[output["id"]] = failure[0] if failure else None
    return found


def no_children_left(marker: str) -> bool:
    """True when no process's command line holds ``marker``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    return False
        except OSError:
            continue
    return True
