"""Hostile programs against the code handler, run the way Lambda runs it.

The handler runs in its own process with fake AWS credentials in its environment, under one
unprivileged OS user shared with its children (Lambda's model: as root here, the test starts
it as ``nobody`` with ``setpriv``). One batch carries every attack next to ordinary programs:
each attack is contained and scored as a failure with its reason, the ordinary programs are
still graded, and nothing the programs printed (credentials, the handler's source) reaches
the outputs or the logs.

Fork bombs are bounded by RLIMIT_NPROC 0 in the children (binding for the unprivileged user
they run as), so they cannot hurt the shared machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from .code_helpers import ADD_ASSERTS, ADD_IO, child_python, code_sample, metrics, no_children_left, reasons

ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = ROOT / "lambdas"
FAKE_KEY_ID = "AKIAFAKEFAKEFAKE1234"
FAKE_SECRET = "fake/Secret+Key/" + uuid.uuid4().hex
FAKE_TOKEN = "FakeSessionToken" + uuid.uuid4().hex
HANDLER_SOURCE_LINE = "runtime = RewardRuntime(kind=\"code\")"
ADD = "a, b = map(int, input().split())\nprint(a + b)"
SCRIPT = """
import json, sys
from code.handler import handler
outputs = handler(json.loads(sys.stdin.read()), None)
print("OUTPUTS " + json.dumps(outputs))
"""


def site_packages() -> str:
    return next(p for p in sys.path if p.endswith("site-packages") and (Path(p) / "aws_lambda_powertools").is_dir())


def run_handler(spec: dict[str, Any], event: list[dict[str, Any]], tmpdir: str) -> tuple[list[dict[str, Any]], str]:
    """(outputs, everything the handler process wrote) from a fresh handler process."""
    python = child_python()
    assert python is not None
    command = [python, "-c", SCRIPT]
    if os.geteuid() == 0:  # Lambda never runs as root: one unprivileged user for handler and children
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join([str(LAMBDAS), site_packages()]),
        "REWARD_SPEC": json.dumps(spec),
        "TMPDIR": tmpdir,
        "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        "AWS_SESSION_TOKEN": FAKE_TOKEN,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    run = subprocess.run(command, input=json.dumps(event), capture_output=True, text=True, env=env, cwd="/",
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    (line,) = [line for line in run.stdout.splitlines() if line.startswith("OUTPUTS ")]
    return json.loads(line[len("OUTPUTS "):]), run.stdout + run.stderr


@pytest.fixture(scope="module")
def attack() -> Any:
    if child_python() is None:  # pragma: no cover - depends on the machine
        pytest.fail("no interpreter an unprivileged user can run (install /usr/bin/python3)")
    if os.geteuid() == 0 and not shutil.which("setpriv"):  # pragma: no cover
        pytest.fail("running as root needs setpriv (util-linux) to start the handler as an unprivileged user")
    tmpdir = tempfile.mkdtemp(prefix="code-hostile-tmp-")
    os.chmod(tmpdir, 0o1777)  # the handler's /tmp
    protected = tempfile.mkdtemp(prefix="code-hostile-ro-")  # like /var/task: readable, not writable
    canary = Path(protected) / "canary.txt"
    canary.write_text("keep me")
    os.chmod(canary, 0o444)
    os.chmod(protected, 0o555)
    marker = f"outlive-{uuid.uuid4().hex}"
    handler_file = LAMBDAS / "code" / "handler.py"
    probe_env = (
        "import os\n"
        "data = open(f'/proc/{os.getppid()}/environ', 'rb').read()\n"
        f"print('found' if b'{FAKE_SECRET}' in data else 'none')"
    )
    programs = {
        "correct": ADD,
        "env_is_empty": "import os\nprint('clean' if not any(k.startswith('AWS') for k in os.environ) else 'leak')",
        "print_env": "import os\nprint(dict(os.environ))",
        "print_parent_env": "import os\nprint(open(f'/proc/{os.getppid()}/environ', 'rb').read().decode())",
        "probe_parent_env": probe_env,
        "infinite_loop": "while True:\n    pass",
        "memory_bomb": "x = []\nwhile True:\n    x.append(bytearray(10 ** 7))",
        "fork_bomb": "import os\nwhile True:\n    os.fork()",
        "huge_file": "with open('huge.bin', 'wb') as f:\n    while True:\n        f.write(b'x' * 10 ** 6)",
        "delete_outside": f"import os\nos.remove({str(canary)!r})",
        "background": (f"import subprocess\nsubprocess.Popen(['python3', '-c', 'import time; time.sleep(300)', "
                       f"{marker!r}], start_new_session=True)\nprint(3)"),
        "read_source": f"print(open({str(handler_file)!r}).read())",
        "output_flood": "import sys\nwhile True:\n    sys.stdout.write('z' * 65536)",
    }
    clean = {"tests": [{"input": "", "output": "clean"}] * 2}
    event = [code_sample(name, program, clean if name == "env_is_empty" else ADD_IO) for name, program in programs.items()]
    event.append(code_sample("asserts_partial", "def add(a, b):\n    return abs(a) + b", ADD_ASSERTS))
    event.append(code_sample("asserts_exit", "import os\nos._exit(0)", ADD_ASSERTS))
    # Forge the assertion verdict: look for the runner's nonce in the runner's globals and in
    # every descriptor of the handler and of itself, print what it finds, and stop before the tests.
    forge = (
        "import os, stat, sys, __main__\n"
        "print(vars(__main__).get('_nonce'), vars(__main__).get('_job'))\n"
        "for d in (f'/proc/{os.getppid()}/fd', '/proc/self/fd'):\n"
        "    for n in os.listdir(d):\n"
        "        try:\n"
        "            fd = os.open(f'{d}/{n}', os.O_RDONLY | os.O_NONBLOCK)\n"
        "            if not stat.S_ISFIFO(os.fstat(fd).st_mode):  # (draining sibling pipes only sabotages)\n"
        "                sys.stdout.write(os.read(fd, 100000).decode('utf-8', 'replace'))\n"
        "        except OSError:\n"
        "            pass\n"
        "sys.stdout.flush()\n"
        "os._exit(0)\n"
    )
    event.append(code_sample("asserts_forge", forge, ADD_ASSERTS))
    event.append({"messages": []})  # a broken sample: still one output
    try:
        outputs, logs = run_handler({"grader": "code", "timeout_seconds": 1, "memory_mb": 128}, event, tmpdir)
        yield {"outputs": {o["id"]: o for o in outputs}, "order": [o["id"] for o in outputs], "logs": logs,
               "canary": canary, "marker": marker, "tmp_left": os.listdir(tmpdir), "event": event}
    finally:
        os.chmod(protected, 0o755)
        shutil.rmtree(protected, ignore_errors=True)
        shutil.rmtree(tmpdir, ignore_errors=True)


def test_one_output_per_sample_in_order_and_ordinary_programs_still_score(attack: Any) -> None:
    assert attack["order"] == [sample.get("id", "missing-id-16") for sample in attack["event"]]
    outputs = attack["outputs"]
    assert outputs["correct"]["aggregate_reward_score"] == 1.0
    assert outputs["asserts_partial"]["aggregate_reward_score"] == 0.75
    assert reasons([outputs["missing-id-16"]]) == {"missing-id-16": "missing_id"}


def test_no_aws_variable_reaches_a_program(attack: Any) -> None:
    assert attack["outputs"]["env_is_empty"]["aggregate_reward_score"] == 1.0  # it printed 'clean' for each test


def test_credentials_never_reach_outputs_or_logs(attack: Any) -> None:
    everything = json.dumps(list(attack["outputs"].values())) + attack["logs"]
    for secret in (FAKE_KEY_ID, FAKE_SECRET, FAKE_TOKEN):
        assert secret not in everything
    for name in ("print_env", "print_parent_env"):
        assert attack["outputs"][name]["aggregate_reward_score"] == 0.0


def test_the_parent_environ_is_readable_which_is_why_the_function_has_no_role_or_route(attack: Any) -> None:
    # The in-Lambda layer does not stop this (one OS user): the program found the secret in
    # /proc/<handler pid>/environ and said "found" instead of "none". What it found is worth
    # nothing outside (the code role can only write its logs) and cannot leave (no network).
    assert attack["outputs"]["probe_parent_env"]["aggregate_reward_score"] == 0.0
    assert metrics(attack["outputs"]["probe_parent_env"])["tests_wrong_answer"] == 5


def test_each_attack_is_contained_with_its_reason(attack: Any) -> None:
    found = reasons(list(attack["outputs"].values()))
    assert {name: found[name] for name in (
        "infinite_loop", "memory_bomb", "fork_bomb", "huge_file", "delete_outside", "background", "output_flood",
        "asserts_exit", "asserts_forge")} == {
        "infinite_loop": "code_timeout", "memory_bomb": "code_memory_limit", "fork_bomb": "code_crash",
        "huge_file": "code_file_limit", "delete_outside": "code_crash", "background": "code_crash",
        "output_flood": "code_output_limit", "asserts_exit": "code_crash", "asserts_forge": "code_crash"}
    for name in found:
        if name not in ("correct", "env_is_empty", "asserts_partial"):
            assert attack["outputs"][name]["aggregate_reward_score"] == 0.0, name


def test_nothing_outside_is_deleted_and_nothing_outlives_the_run(attack: Any) -> None:
    assert attack["canary"].read_text() == "keep me"
    assert no_children_left(attack["marker"])
    assert attack["tmp_left"] == []  # every working directory and output file removed


def test_the_handler_source_does_not_reach_outputs_or_logs(attack: Any) -> None:
    assert attack["outputs"]["read_source"]["aggregate_reward_score"] == 0.0
    everything = json.dumps(list(attack["outputs"].values())) + attack["logs"]
    assert HANDLER_SOURCE_LINE not in everything
