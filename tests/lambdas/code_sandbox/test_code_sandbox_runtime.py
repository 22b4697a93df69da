"""The code executor (lambdas/code_sandbox) on its own: every interpreter it runs on (the
Lambda's CPython 3.13 too), its request checks, plain data, and its shared names.

The executor is called directly here (``sandboxed=False``: a private scratch directory, no
sweep of the machine's processes or /tmp); as root its children drop to uid 65534. The
namespaced local mode and the hostile programs are in test_code_hostile.py.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests import ROOT

LAMBDAS = ROOT / "lambdas"
CHECK = """
import json, sys
from code_sandbox.handler import execute
def run(program, runs, **limits):
    response = execute({"version": 1, "program": program, "limits": {"seconds": 1, "memory_mb": 128, **limits},
                        "budget_seconds": 30, "runs": runs}, sandboxed=False)
    assert response["status"] == "ok", response
    return response["runs"]
stdin = [{"stdin": "21"}]
cases = {
    "ok": run("print(int(input()) * 2)", stdin)[0]["stdout"],
    "syntax": run("print(", stdin)[0]["status"],
    "timeout": run("while True: pass", stdin)[0]["status"],
    "memory": run("x = bytearray(10 ** 10)", stdin)[0]["status"],
    "output": run("while True: print('y' * 999)", stdin)[0]["status"],
    "file": run("open('f', 'wb').write(b'x' * 10 ** 8)", stdin)[0]["status"],
    "crash": run("raise SystemExit(3)", stdin)[0]["status"],
    "env": run("import os; print(sorted(os.environ))", stdin)[0]["stdout"],
    "exit": run("print(1); exit(0)", stdin)[0]["stdout"],
    "prelude": execute({"version": 1, "program": "print(Counter('aab')['a'])", "prelude": "from collections import Counter",
                        "runs": stdin}, sandboxed=False)["runs"][0]["stdout"],
    "calls": run("class Solution:\\n    def two(self, a):\\n        return (a, {a})\\n"
                 "def boom():\\n    raise KeyError(1)\\n"
                 "class Odd(int):\\n    pass\\n"
                 "def odd():\\n    return Odd(1)\\n"
                 "def spin():\\n    while True:\\n        pass\\n",
                 [{"calls": [{"function": "two", "args": [2]}, {"function": "boom"}, {"function": "odd"},
                             {"function": "missing"}, {"function": "spin"}, {"function": "two", "args": [3]}]}])[0]["calls"],
}
cases["version"] = sys.version_info[:2]
print("RESULT " + json.dumps(cases))
"""
EXPECTED = {"ok": "42\n", "syntax": "syntax_error", "timeout": "timeout", "memory": "memory_limit",
            "output": "output_limit", "file": "file_limit", "crash": "crash", "env": "[]\n", "exit": "1\n",
            "prelude": "2\n",
            "calls": [{"status": "ok", "value": {"$tuple": [2, {"$set": [2]}]}}, {"status": "error", "error": "KeyError"},
                      {"status": "not_plain"}, {"status": "no_function"}, {"status": "timeout"}, {"status": "not_run"}]}


def interpreters() -> list[tuple[str, dict[str, str]]]:
    found = [(sys.executable, {})]
    python313 = shutil.which("python3.13")
    if python313:
        found.append((python313, {"PYENV_VERSION": "3.13.0"}))
    return found


@pytest.mark.parametrize("python,extra_env", interpreters(), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.slow
def test_the_executor_on_each_interpreter(python: str, extra_env: dict[str, str]) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(LAMBDAS), "AWS_SECRET_ACCESS_KEY": "x", **extra_env}
    run = subprocess.run([python, "-S", "-c", CHECK], capture_output=True, text=True, env=env, cwd="/", timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.split("RESULT ", 1)[1])
    version = result.pop("version")
    assert result == EXPECTED, version


def test_the_lambda_python_is_checked_when_present() -> None:
    # The Lambda runs CPython 3.13; this machine has it through pyenv (GUIDE: "This machine").
    if not shutil.which("python3.13"):
        pytest.skip("no CPython 3.13 on this machine")
    assert len(interpreters()) == 2


def test_requests_it_cannot_use_are_refused_with_a_reason() -> None:
    from code_sandbox.handler import execute

    for bad in (None, [], {"version": 2}, {"version": 1, "program": 1, "runs": [{"stdin": ""}]},
                {"version": 1, "program": "", "runs": []}, {"version": 1, "program": "", "runs": [{}]},
                {"version": 1, "program": "", "runs": [{"stdin": "", "calls": []}]},
                {"version": 1, "program": "", "runs": [{"calls": [{"function": 3}]}]},
                {"version": 1, "program": "", "limits": {"seconds": "2"}, "runs": [{"stdin": ""}]},
                {"version": 1, "program": "", "budget_seconds": float("nan"), "runs": [{"stdin": ""}]}):
        response = execute(bad, sandboxed=False)
        assert response["status"] == "invalid_request" and response["error"], bad


def test_the_budget_cuts_runs_as_deadline_not_timeout() -> None:
    from code_sandbox.handler import execute

    response = execute({"version": 1, "program": "import time\ntime.sleep(5)", "limits": {"seconds": 5},
                        "budget_seconds": 0.5, "runs": [{"stdin": ""}, {"stdin": ""}]}, sandboxed=False)
    assert [run["status"] for run in response["runs"]] == ["deadline", "deadline"]


def test_the_response_stays_under_lambdas_limit() -> None:
    from code_sandbox import runner
    from code_sandbox.handler import execute

    big = "print('x' * 1_000_000)"
    response = execute({"version": 1, "program": big, "limits": {"output_bytes": 2_000_000, "file_bytes": 4_000_000},
                        "runs": [{"stdin": ""}] * 8}, sandboxed=False)
    assert len(json.dumps(response)) < runner.RESPONSE_BUDGET_BYTES + 64 * 1024 < 6 * 1024 * 1024
    assert [run["status"] for run in response["runs"]].count("output_limit") == 3


def test_plain_data_is_one_file_on_both_sides_of_the_boundary() -> None:
    # The grader's asset may not import the executor's package nor the other way round.
    assert filecmp.cmp(LAMBDAS / "code_sandbox" / "plain_data.py", LAMBDAS / "reward_kit" / "plain_data.py", shallow=False)


def test_plain_data_round_trips_builtins_and_refuses_everything_else() -> None:
    from reward_kit import plain_data

    values = [None, True, 0, -5, 2**200, 1.5, float("inf"), "é", [1, (2, 3)], {"a": {1, 2}}, {"$x": 1},
              {(1, 2): b"\x00"}, frozenset({"a"}), complex(1, -2), {}, []]
    for value in values:
        encoded = plain_data.encode(value)
        assert json.loads(json.dumps(encoded)) == encoded
        decoded = plain_data.decode(json.loads(json.dumps(encoded)))
        assert decoded == value and type(decoded) is type(value)
    nan = plain_data.decode(plain_data.encode(float("nan")))
    assert nan != nan

    class Int(int):
        pass

    for bad in (Int(1), object(), [Int(2)], {"a": object()}, print, 10 ** 5000):
        with pytest.raises((plain_data.NotPlain, ValueError)):
            plain_data.encode(bad)
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(plain_data.NotPlain):
        plain_data.encode(deep)
    for bad in ({"$tuple": 1}, {"$set": [[1]]}, {"$bytes": "!"}, {"$nope": 1}, {"$dict": [[1]]}):
        with pytest.raises(plain_data.NotPlain):
            plain_data.decode(bad)


def test_the_executor_reads_the_variables_reward_kit_names() -> None:
    from code_sandbox import handler
    from reward_kit import names
    from reward_kit.settings import CODE_SANDBOX_MAX_PROCESSES

    assert handler.ENV_MAX_PROCESSES == names.ENV_CODE_SANDBOX_MAX_PROCESSES == CODE_SANDBOX_MAX_PROCESSES.env
    assert handler.MAX_PROCESSES_SETTING == CODE_SANDBOX_MAX_PROCESSES.maximum
    assert handler.parallelism(256, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}) == 1
    assert handler.parallelism(4096, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}) == 1  # never 0
    assert handler.parallelism(256, {names.ENV_CODE_SANDBOX_MAX_PROCESSES: "3"}) == 3


def test_the_executor_package_is_standard_library_only_and_holds_no_grader_code() -> None:
    import ast

    for path in (LAMBDAS / "code_sandbox").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                tops = {(node.module or "").split(".")[0]}
            else:
                continue
            assert tops <= set(sys.stdlib_module_names) | {"code_sandbox", "__future__"}, (path.name, tops)


@pytest.mark.hostile
def test_what_a_program_writes_on_its_result_pipe_itself_is_checked_like_its_values() -> None:
    from code_sandbox.handler import execute

    program = ("import os\n"
               "def deep():\n    os.write(3, b'{\"status\": \"ok\", \"value\": ' + b'[' * 50000 + b']' * 50000 + b'}\\n')\n"
               "    return 1\n"
               "def tagged():\n    os.write(3, b'{\"status\": \"ok\", \"value\": {\"$nope\": 1}}\\n')\n    return 1\n"
               "def status():\n    os.write(3, b'{\"status\": \"passed\"}\\n')\n    return 1\n"
               "def garbage():\n    os.write(3, b'not json\\n')\n")
    response = execute({"version": 1, "program": program, "limits": {"output_bytes": 200_000},
                        "runs": [{"calls": [{"function": name}]} for name in ("deep", "tagged", "status", "garbage")]},
                       sandboxed=False)
    assert response["status"] == "ok"
    assert [run["calls"][0]["status"] for run in response["runs"]] == ["crash", "not_plain", "crash", "crash"]
