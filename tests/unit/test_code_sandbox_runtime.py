"""The sandbox runner on the Lambda's CPython (3.13) as well as the default interpreter, and the
``code`` package's stand-in for the standard library module it shadows.

On 3.13 the handler and its children both run ``python3.13`` (the Lambda's setup). As root
the children of this check keep root's uid (an unprivileged user cannot run pyenv's
interpreter under /root), so no program here forks: the fork bomb and the other hostile
programs run in tests/unit/test_code_hostile.py, as one unprivileged user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = ROOT / "lambdas"
CHECK = """
import json, sys
from code.sandbox import Limits, run_program
limits = Limits(wall_seconds=1, memory_mb=128)
cases = {
    "ok": run_program("print(int(input()) * 2)", stdin=b"21", limits=limits, user=None).stdout.decode(),
    "syntax": run_program("print(", limits=limits, user=None).status,
    "timeout": run_program("while True: pass", limits=limits, user=None).status,
    "memory": run_program("x = bytearray(10 ** 10)", limits=limits, user=None).status,
    "output": run_program("while True: print('y' * 999)", limits=limits, user=None).status,
    "file": run_program("open('f', 'wb').write(b'x' * 10 ** 8)", limits=limits, user=None).status,
    "crash": run_program("raise SystemExit(3)", limits=limits, user=None).status,
    "env": run_program("import os; print(sorted(k for k in os.environ if k != 'LC_CTYPE'))", limits=limits,
                       user=None).stdout.decode(),
    "verdict": run_program("def f(): return 1", test="assert f() == 1", nonce="n0nce", limits=limits, user=None).status,
    "no_verdict": run_program("import os; os._exit(0)", test="assert f() == 1", nonce="n0nce", limits=limits,
                              user=None).status,
    "failed": run_program("def f(): return 2", test="assert f() == 1", nonce="n0nce", limits=limits, user=None).status,
}
import pdb, code
cases["stdlib_code"] = code.InteractiveConsole.__name__
cases["version"] = sys.version_info[:2]
print("RESULT " + json.dumps(cases))
"""
EXPECTED = {"ok": "42\n", "syntax": "syntax_error", "timeout": "timeout", "memory": "memory_limit",
            "output": "output_limit", "file": "file_limit", "crash": "crash", "env": "[]\n", "verdict": "ok",
            "no_verdict": "crash", "failed": "wrong_answer", "stdlib_code": "InteractiveConsole"}


def interpreters() -> list[tuple[str, dict[str, str]]]:
    found = [(sys.executable, {})]
    if shutil.which("pyenv") or Path("/root/.pyenv/versions/3.13.0").exists():
        python313 = shutil.which("python3.13")
        if python313:
            found.append((python313, {"PYENV_VERSION": "3.13.0"}))
    return found


@pytest.mark.parametrize("python,extra_env", interpreters(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_runner_on_each_interpreter(python: str, extra_env: dict[str, str]) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(LAMBDAS), "AWS_SECRET_ACCESS_KEY": "x", **extra_env}
    run = subprocess.run([python, "-c", CHECK], capture_output=True, text=True, env=env, cwd="/", timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.split("RESULT ", 1)[1])
    version = result.pop("version")
    assert result == EXPECTED, version


def test_the_lambda_python_is_checked_when_present() -> None:
    # The Lambda runs CPython 3.13; this machine has it through pyenv (GUIDE: "This machine").
    if not Path("/root/.pyenv/versions/3.13.0").exists() and not shutil.which("python3.13"):
        pytest.skip("no CPython 3.13 on this machine")
    assert len(interpreters()) == 2


def test_a_large_test_goes_through_the_pipe_and_a_missing_interpreter_is_a_sandbox_error() -> None:
    from code.sandbox import Limits, run_program, unprivileged_user

    from .code_helpers import child_python

    python = child_python()
    assert python is not None
    big = "x = 0\n" + "x += 1\n" * 30000 + "assert f() == x"  # ~210 KB: more than a pipe buffer
    fds = len(os.listdir("/proc/self/fd"))
    run = run_program("def f(): return 30000", test=big, nonce="n", python=python, user=unprivileged_user(),
                      limits=Limits(wall_seconds=10))
    assert run.status == "ok"
    assert run_program("print(1)", test="assert True", nonce="n", python="/nonexistent/python",
                       user=unprivileged_user()).status == "sandbox_error"
    assert len(os.listdir("/proc/self/fd")) == fds  # nothing leaked
