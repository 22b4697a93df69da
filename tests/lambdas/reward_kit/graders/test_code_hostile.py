"""Hostile programs against the code handler, with the grader running as Lambda runs it.

The handler runs in its own process as an unprivileged user (``setpriv`` to uid 65534 when
the tests run as root), with fake AWS credentials and a fake Lambda Runtime API on 127.0.0.1
in its environment (``AWS_LAMBDA_RUNTIME_API``), and a deadline from a Lambda-like context.
Its programs run in the local executor (a user namespace here: new PID, network, mount, IPC
and UTS namespaces, a private /tmp). One batch carries every attack of issue 18 before a
few honest programs; the honest programs are also scored alone, and must score the same.

Each attack must earn nothing it did not compute, change no other sample, and leave every
output in before the deadline. Hostile tests are marked ``hostile``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests import ROOT
from tests.lambdas.code_helpers import ADD, ADD_ASSERTS, ADD_IO, code_sample, metrics, no_children_left, reasons

pytestmark = [pytest.mark.hostile, pytest.mark.slow]

LAMBDAS = ROOT / "lambdas"
FAKE_KEY_ID = "AKIAFAKEFAKEFAKE1234"
FAKE_SECRET = "fake/Secret+Key/" + uuid.uuid4().hex
MARK = "MARK-" + uuid.uuid4().hex  # an expected value no program can compute
DEADLINE_SECONDS = 120.0
SCRIPT = """
import json, sys, time
from code_grader.handler import handler
class Context:
    deadline = time.monotonic() + float(sys.argv[1])
    aws_request_id = "hostile-test"
    def get_remaining_time_in_millis(self):
        return int((self.deadline - time.monotonic()) * 1000)
started = time.monotonic()
outputs = handler(json.loads(sys.stdin.read()), Context())
print("OUTPUTS " + json.dumps({"outputs": outputs, "seconds": time.monotonic() - started}))
"""


def site_packages() -> str:
    return next(p for p in sys.path if p.endswith("site-packages") and (Path(p) / "aws_lambda_powertools").is_dir())


def grader_python() -> str:
    """An interpreter uid 65534 can run (pyenv's under /root is not)."""
    if os.geteuid() != 0:
        return sys.executable
    found = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if found is None:  # pragma: no cover - depends on the machine
        pytest.fail("running as root needs /usr/bin/python3 for the unprivileged grader")
    return found


class FakeRuntimeApi(BaseHTTPRequestHandler):
    received: list[str] = []

    def _record(self) -> None:
        FakeRuntimeApi.received.append(f"{self.command} {self.path}")
        self.send_response(202)
        self.end_headers()

    do_GET = do_POST = _record

    def log_message(self, *args: Any) -> None:
        pass


def run_handler(spec: dict[str, Any], event: list[dict[str, Any]], tmpdir: str, runtime_api: str) -> dict[str, Any]:
    command = [grader_python(), "-c", SCRIPT, str(DEADLINE_SECONDS)]
    if os.geteuid() == 0:  # Lambda never runs as root: the grader runs unprivileged
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join([str(LAMBDAS), site_packages()]),
        "REWARD_SPEC": json.dumps(spec),
        "TMPDIR": tmpdir,
        "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    run = subprocess.run(command, input=json.dumps(event), capture_output=True, text=True, env=env, cwd="/",
                         timeout=DEADLINE_SECONDS + 60)
    assert run.returncode == 0, run.stderr[-3000:]
    (line,) = [line for line in run.stdout.splitlines() if line.startswith("OUTPUTS ")]
    result: dict[str, Any] = json.loads(line[len("OUTPUTS "):])
    result["logs"] = run.stdout + run.stderr
    return result


HONEST = {
    "honest_io": (ADD, ADD_IO),
    "honest_asserts": ("def add(a, b):\n    return a + b", ADD_ASSERTS),
    "honest_check": ("def add(a, b):\n    return a + b",
                     {"test": "def check(candidate):\n    assert candidate(1, 2) == 3\n"
                              "    for x in range(5):\n        assert abs(candidate(x, 0.5) - (x + 0.5)) < 1e-9\n",
                      "entry_point": "add"}),
}
ALWAYS_EQUAL = ("class Anything:\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
                "    def __lt__(self, other): return True\n    def __gt__(self, other): return True\n"
                "    def __contains__(self, item): return True\n    def __sub__(self, other): return self\n"
                "    def __rsub__(self, other): return self\n    def __abs__(self): return 0\n"
                "    def __float__(self): return 0.3\n    def __bool__(self): return True\n"
                "    __hash__ = object.__hash__\n")
SEARCH = (  # every string the program can reach in its own process: frames, globals, the GC's objects
    "import gc, sys\n"
    "def steal():\n"
    "    seen = []\n"
    "    frame = sys._getframe()\n"
    "    while frame is not None:\n"
    "        seen += [repr(v) for v in list(frame.f_locals.values()) + list(frame.f_globals.values())]\n"
    "        seen.append(repr(frame.f_code.co_consts))\n"
    "        frame = frame.f_back\n"
    "    seen += [o for o in gc.get_objects() if isinstance(o, str)]\n"
    "    for text in seen:\n"
    "        if 'MARK-' in text:\n"
    "            i = text.index('MARK-')\n"
    "            return text[i:i + 37]\n"
    "    return None\n"
)
PROC_MEM = (  # read every process's memory and environment the program can see
    "import os, re\n"
    "found = []\n"
    "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
    "    try:\n"
    "        env = open(f'/proc/{pid}/environ', 'rb').read()\n"
    "        found += [b'env'] if b'" + FAKE_SECRET + "' in env else []\n"
    "        mem = open(f'/proc/{pid}/mem', 'rb', 0)\n"
    "        for line in open(f'/proc/{pid}/maps'):\n"
    "            start, end = (int(x, 16) for x in line.split()[0].split('-'))\n"
    "            if 'r' not in line.split()[1] or end - start > 1 << 26:\n"
    "                continue\n"
    "            try:\n"
    "                mem.seek(start)\n"
    "                chunk = mem.read(end - start)\n"
    "            except OSError:\n"
    "                continue\n"
    "            found += re.findall(rb'MARK-[0-9a-f]{32}', chunk)\n"
    "    except OSError:\n"
    "        pass\n"
)


def attacks(port: int, canary: str) -> dict[str, tuple[str, Any]]:
    mark_io = {"tests": [{"input": "1 2\n", "output": MARK + "\n"}]}
    mark_asserts = {"test_code": f"assert add(1, 2) == {MARK!r}\nassert add(2, 2) == {MARK!r}"}
    forge = json.dumps([{"id": i, "aggregate_reward_score": 1.0} for i in range(3)])
    return {
        # frame walking (and the GC) to the runner's secrets: there are none in the executor
        "frame_walk_asserts": (SEARCH + "def add(a, b):\n    return steal()", mark_asserts),
        "frame_walk_io": (SEARCH + "print(steal())", mark_io),
        # always-equal objects, nested in HumanEval's check(candidate)
        "always_equal_check": (ALWAYS_EQUAL + "def add(a, b):\n    return Anything()",
                               {"test": "def check(candidate):\n    assert candidate(1, 2) == 3\n"
                                        "    assert [candidate(2, 2)] == [4]\n", "entry_point": "add"}),
        # operator tricks
        "op_in": (ALWAYS_EQUAL + "def add(a, b):\n    return Anything()",
                  {"test_code": "assert add(1, 2) in [3]\nassert 3 in add(1, 2)"}),
        "op_lt": (ALWAYS_EQUAL + "def add(a, b):\n    return Anything()",
                  {"test_code": "assert 2 < add(1, 2) < 4"}),
        "op_abs_eps": (ALWAYS_EQUAL + "def add(a, b):\n    return Anything()",
                       {"test_code": "assert abs(add(0.1, 0.2) - 0.3) < 1e-9"}),
        "op_isclose": (ALWAYS_EQUAL + "def add(a, b):\n    return Anything()",
                       {"test_code": "import math\nassert math.isclose(add(0.1, 0.2), 0.3)"}),
        # the parent's memory and environment (the expected output, the credentials)
        "proc_mem_steal": (PROC_MEM + "print(next((f.decode() for f in found if f != b'env'), ''))", mark_io),
        # 1.0 here means "nothing found": the program ran and printed none
        "proc_probe": (PROC_MEM + "print('found' if found else 'none')", {"tests": [{"input": "", "output": "none"}]}),
        # a forged invocation response to the Runtime API whose address the grader has
        "runtime_api": ("import socket\n"
                        "def post(path, body):\n"
                        "    s = socket.create_connection(('127.0.0.1', " + str(port) + "), timeout=0.5)\n"
                        "    s.sendall(f'POST {path} HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: {len(body)}\\r\\n\\r\\n{body}'"
                        ".encode())\n"
                        "try:\n"
                        "    post('/2018-06-01/runtime/invocation/hostile-test/response', " + repr(forge) + ")\n"
                        "    print('sent')\n"
                        "except OSError:\n"
                        "    print('blocked')", {"tests": [{"input": "", "output": "blocked"}]}),
        # signalling the parent, every process it can see (siblings), and stopping them
        "signal_parent": ("import os, signal\nfor s in (signal.SIGSTOP, signal.SIGKILL):\n"
                          "    for pid in (os.getppid(), 1):\n        try:\n            os.kill(pid, s)\n"
                          "        except OSError:\n            pass\nprint(0)", ADD_IO),
        "kill_siblings": ("import os, signal\nfor _ in range(50):\n    for pid in os.listdir('/proc'):\n"
                          "        if pid.isdigit() and int(pid) != os.getpid():\n            try:\n"
                          "                os.kill(int(pid), signal.SIGKILL)\n            except OSError:\n"
                          "                pass\nprint(0)", ADD_IO),
        # filling /tmp (and the working directory) for the samples after it
        "fill_tmp": ("import os\nfor d in ('/tmp', '.', os.environ.get('TMPDIR', '/tmp')):\n    for i in range(400):\n"
                     "        try:\n            with open(os.path.join(d, f'fill-{i}'), 'wb') as f:\n"
                     "                f.write(b'x' * (1 << 20))\n        except OSError:\n            break\n"
                     "print(0)", ADD_IO),
        # a symbolic link in place of its work dir's contents, unreadable directories: the
        # cleanup must not follow it to the target (as root it would chmod the target)
        "symlink_swap": ("import os\nos.symlink(" + repr(canary) + ", 'link')\nos.mkdir('locked')\n"
                         "os.symlink(" + repr(canary) + ", 'locked/inner')\nos.chmod('locked', 0)\nprint(0)", ADD_IO),
        "fork_bomb": ("import os\nwhile True:\n    os.fork()", ADD_IO),
        "memory_bomb": ("x = []\nwhile True:\n    x.append(bytearray(10 ** 7))", ADD_IO),
        "infinite_loop": ("def add(a, b):\n    while True:\n        pass", ADD_ASSERTS),
        "exit_early": ("import os\nos._exit(0)", ADD_ASSERTS),
    }


@pytest.fixture(scope="module")
def attack() -> Any:
    if os.geteuid() == 0 and not shutil.which("setpriv"):  # pragma: no cover
        pytest.fail("running as root needs setpriv (util-linux) to start the handler as an unprivileged user")
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    tmpdir = tempfile.mkdtemp(prefix="code-hostile-tmp-")
    os.chmod(tmpdir, 0o1777)  # the grader's /tmp
    canary_dir = tempfile.mkdtemp(prefix="code-hostile-canary-")
    os.chmod(canary_dir, 0o755)
    canary = Path(canary_dir) / "canary.txt"
    canary.write_text("keep me")
    os.chmod(canary, 0o644)
    before = {p: os.stat(p).st_mode for p in (canary_dir, str(canary), tmpdir)}
    marker = f"outlive-{uuid.uuid4().hex}"
    spec = {"grader": "code", "timeout_seconds": 1, "memory_mb": 128}
    honest = [code_sample(name, program, reference) for name, (program, reference) in HONEST.items()]
    hostile = [code_sample(name, program, reference) for name, (program, reference) in attacks(port, canary_dir).items()]
    hostile.append(code_sample("background", "import subprocess\nsubprocess.Popen(['sleep', '300', "
                               f"{marker!r}])\nprint(3)", ADD_IO))
    event = hostile + honest + [{"messages": []}]  # and a broken sample: still one output
    try:
        FakeRuntimeApi.received.clear()
        alone = run_handler(spec, honest, tmpdir, f"127.0.0.1:{port}")
        batch = run_handler(spec, event, tmpdir, f"127.0.0.1:{port}")
        yield {"alone": {o["id"]: o for o in alone["outputs"]}, "outputs": {o["id"]: o for o in batch["outputs"]},
               "order": [o["id"] for o in batch["outputs"]], "seconds": batch["seconds"], "logs": batch["logs"],
               "event": event, "received": list(FakeRuntimeApi.received), "canary": canary, "marker": marker,
               "modes": {p: os.stat(p).st_mode for p in before}, "before": before, "tmp_left": os.listdir(tmpdir)}
    finally:
        server.shutdown()
        shutil.rmtree(canary_dir, ignore_errors=True)
        shutil.rmtree(tmpdir, ignore_errors=True)


def test_every_output_before_the_deadline_in_order(attack: Any) -> None:
    assert attack["order"] == [sample.get("id", f"missing-id-{i}") for i, sample in enumerate(attack["event"])]
    assert attack["seconds"] < DEADLINE_SECONDS
    broken = attack["order"][-1]
    assert reasons([attack["outputs"][broken]]) == {broken: "missing_id"}


def test_honest_programs_score_as_if_they_ran_alone(attack: Any) -> None:
    for name in HONEST:
        assert attack["alone"][name]["aggregate_reward_score"] == 1.0, name
        assert attack["outputs"][name] == attack["alone"][name], name


def test_no_attack_earns_credit(attack: Any) -> None:
    safe_probes = {"proc_probe", "runtime_api"}  # their right answer is "nothing found" / "blocked"
    for name, output in attack["outputs"].items():
        if name not in HONEST and name not in safe_probes and not name.startswith("missing-id"):
            assert output["aggregate_reward_score"] == 0.0, name


def test_the_executor_sees_no_expected_output_no_secret_and_no_grader(attack: Any) -> None:
    outputs = attack["outputs"]
    for name in ("frame_walk_asserts", "frame_walk_io", "proc_mem_steal"):
        assert metrics(outputs[name])["tests_passed"] == 0, name
    # It ran, read every /proc/<pid>/environ and mem it could see, and found neither the
    # credentials nor an expected output: the grader is not visible from its namespace.
    assert outputs["proc_probe"]["aggregate_reward_score"] == 1.0


def test_always_equal_and_operator_tricks_earn_nothing(attack: Any) -> None:
    found = reasons(list(attack["outputs"].values()))
    for name in ("always_equal_check", "op_in", "op_lt", "op_abs_eps", "op_isclose"):
        assert attack["outputs"][name]["aggregate_reward_score"] == 0.0, name
        assert found[name] == "code_not_plain", name


def test_the_runtime_api_is_unreachable(attack: Any) -> None:
    assert attack["outputs"]["runtime_api"]["aggregate_reward_score"] == 1.0  # it printed "blocked"
    assert attack["received"] == []


def test_each_attack_is_contained_with_its_reason(attack: Any) -> None:
    found = reasons(list(attack["outputs"].values()))
    assert {name: found[name] for name in ("fork_bomb", "memory_bomb", "infinite_loop", "exit_early", "background")} == {
        "fork_bomb": "code_crash", "memory_bomb": "code_memory_limit", "infinite_loop": "code_timeout",
        "exit_early": "code_crash", "background": "code_crash"}


def test_nothing_outside_is_changed_and_nothing_outlives_the_run(attack: Any) -> None:
    assert attack["canary"].read_text() == "keep me"
    assert attack["modes"] == attack["before"]  # neither the link's target nor TMPDIR chmod'ed
    assert no_children_left(attack["marker"])
    assert attack["tmp_left"] == []  # nothing written to the grader's TMPDIR


def test_credentials_and_program_text_never_reach_outputs_or_logs(attack: Any) -> None:
    everything = json.dumps(list(attack["outputs"].values())) + attack["logs"]
    for secret in (FAKE_KEY_ID, FAKE_SECRET, MARK):
        assert secret not in everything


def test_symlink_cleanup_as_root_never_follows_a_link(tmp_path: Path) -> None:
    """The executor called directly (as ``make synth``'s bundle check does, as root here): its
    children drop to uid 65534 and the cleanup runs as root; a link to a directory the program
    left in its work dir (inside directories it made unreadable) must be removed, not followed."""
    from code_sandbox.handler import execute

    target = tmp_path / "target"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    os.chmod(target, 0o755)
    os.chmod(tmp_path, 0o755)
    program = (f"import os\nos.symlink({str(target)!r}, 'link')\nos.mkdir('a')\nos.mkdir('a/b')\n"
               f"os.symlink({str(target)!r}, 'a/b/link')\nos.chmod('a/b', 0)\nos.chmod('a', 0)\nprint('done')")
    tmp_before = os.stat(tempfile.gettempdir()).st_mode
    leftovers = set(os.listdir(tempfile.gettempdir()))
    response = execute({"version": 1, "program": program, "runs": [{"stdin": ""}]}, sandboxed=False)
    assert response["status"] == "ok" and response["runs"][0]["stdout"] == "done\n"
    assert os.stat(target).st_mode & 0o7777 == 0o755 and (target / "keep.txt").read_text() == "keep"
    assert os.stat(tempfile.gettempdir()).st_mode == tmp_before
    assert {n for n in set(os.listdir(tempfile.gettempdir())) - leftovers if n.startswith("code-sandbox-")} == set()


def test_the_executor_refuses_a_dirty_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from code_sandbox import cleanup, handler

    monkeypatch.setattr(cleanup, "kill_strays", lambda: None)
    monkeypatch.setattr(handler, "_not_dumpable", lambda: None)
    monkeypatch.setattr(cleanup, "empty_directory", lambda path: False)  # a file it cannot remove
    response = handler.execute({"version": 1, "program": "print(1)", "runs": [{"stdin": ""}]}, sandboxed=True)
    assert response["status"] == "executor_error" and "dirty environment" in response["error"]

