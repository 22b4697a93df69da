"""The grader's way to the code executor: infrastructure failure is loud, a sample's own is its own.

The AWS path runs a real botocore Lambda client against a fake Lambda API on 127.0.0.1
(``AWS_ENDPOINT_URL_LAMBDA``) that answers Invoke with the real executor
(``code_sandbox.handler.execute``), a throttle, a missing function, or a function error.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from reward_kit import names
from reward_kit.code_executor import ExecutorUnavailable, LambdaExecutor, LocalExecutor, executor_from_env
from reward_kit.graders.code import build
from reward_kit.scoring import AGGREGATE, Scorer
from reward_kit.spec import validate_spec
from tests import ROOT
from tests.lambdas.code_helpers import ADD, ADD_ASSERTS, ADD_IO, code_sample, reasons

MARK = "expected-" + uuid.uuid4().hex
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:code-executor:live"


class FakeLambda(BaseHTTPRequestHandler):
    mode = "execute"
    payloads: list[str] = []

    def do_POST(self) -> None:  # Invoke: POST /2015-03-31/functions/<name>/invocations
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        FakeLambda.payloads.append(body)
        if FakeLambda.mode == "throttle":
            return self._error(429, "TooManyRequestsException")
        if FakeLambda.mode == "missing":
            return self._error(404, "ResourceNotFoundException")
        if FakeLambda.mode == "function_error":
            data = json.dumps({"errorMessage": "Runtime exited", "errorType": "Runtime.ExitError"}).encode()
            self.send_response(200)
            self.send_header("X-Amz-Function-Error", "Unhandled")
        else:
            from code_sandbox.handler import execute

            data = json.dumps(execute(json.loads(body), sandboxed=False)).encode()
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str) -> None:
        data = json.dumps({"Type": "User", "message": code}).encode()
        self.send_response(status)
        self.send_header("x-amzn-ErrorType", code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_lambda(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeLambda]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLambda)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", f"http://localhost:{server.server_address[1]}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv(names.CODE_EXECUTOR_FUNCTION_ENV, FUNCTION)
    FakeLambda.mode, FakeLambda.payloads = "execute", []
    yield FakeLambda
    server.shutdown()


def scorer(**spec: Any) -> Scorer:
    return Scorer({"grader": "code", "timeout_seconds": 2, **spec})


def test_in_aws_the_executor_function_runs_the_programs_and_never_sees_expected_outputs(fake_lambda: Any) -> None:
    mark_io = {"tests": [{"input": "1 2\n", "output": "3\n"}, {"input": "2 2\n", "output": MARK}]}
    mark_asserts = {"test_code": f"assert add(1, 2) == 3\nassert add(2, 2) == {MARK!r}"}
    events = [code_sample("io", ADD, mark_io), code_sample("asserts", "def add(a, b):\n    return a + b", mark_asserts)]
    result = scorer().score_event(events, deadline=time.monotonic() + 60)
    assert result.values[AGGREGATE] == [0.5, 0.5]
    assert len(fake_lambda.payloads) == 2  # one request per sample (one replay round: every call known)
    assert all(MARK not in payload and "assert" not in payload for payload in fake_lambda.payloads)


@pytest.mark.parametrize("mode", ["throttle", "missing"])
@pytest.mark.slow
def test_an_executor_that_cannot_run_fails_the_invocation(fake_lambda: Any, mode: str) -> None:
    fake_lambda.mode = mode
    with pytest.raises(ExecutorUnavailable, match="TooManyRequestsException|ResourceNotFoundException"):
        scorer().score_event([code_sample("a", ADD, ADD_IO), code_sample("b", ADD, ADD_IO)])


def test_an_executor_that_dies_on_one_sample_is_that_samples_reason(fake_lambda: Any) -> None:
    fake_lambda.mode = "function_error"  # e.g. its program killed the executor
    result = scorer(format_score=0.1).score_event([code_sample("a", ADD, ADD_IO)])
    assert reasons(result.outputs) == {"a": "code_executor_error"}
    assert result.values[AGGREGATE] == [0.0]  # never format credit for a sample that did not run
    # The dashboard reads the reason from the kinds table (its executor series).
    from reward_kit.kinds import GRADER_KINDS
    from reward_kit.reasons import CODE_EXECUTOR_ERROR

    assert GRADER_KINDS["code"].executor_failures == (CODE_EXECUTOR_ERROR,) == ("code_executor_error",)
    assert all(kind.executor_failures == () for name, kind in GRADER_KINDS.items() if name != "code")


def test_in_lambda_a_missing_executor_setting_fails_every_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(names.CODE_EXECUTOR_FUNCTION_ENV, raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "code-tests")
    grader = build(validate_spec({"grader": "code"}))
    with pytest.raises(ExecutorUnavailable, match="CODE_EXECUTOR_FUNCTION is not set"):
        Scorer({"grader": "code"}, grader=grader).score_event([code_sample("a", ADD, ADD_IO)])
    # Samples that never reach the executor still score: no_code, invalid_reference.
    result = Scorer({"grader": "code"}, grader=grader).score_event([code_sample("x", ADD, {"tests": []})])
    assert reasons(result.outputs) == {"x": "invalid_reference"}


def test_without_namespaces_local_mode_fails_loudly_never_unisolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no unshare, setpriv, mount
    grader = build(validate_spec({"grader": "code"}), executor=LocalExecutor())
    with pytest.raises(ExecutorUnavailable, match="needs util-linux"):
        Scorer({"grader": "code"}, grader=grader).score_event([code_sample("a", ADD, ADD_ASSERTS)])
    broken = build(validate_spec({"grader": "code"}), executor=LocalExecutor("/nonexistent/python3"))
    monkeypatch.undo()
    with pytest.raises(ExecutorUnavailable, match="cannot start"):
        Scorer({"grader": "code"}, grader=broken).score_event([code_sample("a", ADD, ADD_IO)])


def test_the_executor_setting_chooses_the_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(executor_from_env({names.CODE_EXECUTOR_FUNCTION_ENV: FUNCTION}), LambdaExecutor)
    assert isinstance(executor_from_env({}), LocalExecutor)
    assert names.CODE_EXECUTOR_FUNCTION_ENV == "CODE_EXECUTOR_FUNCTION"


@pytest.mark.slow
def test_honest_multi_code_and_math_takes_the_time_its_parts_need() -> None:
    # The math workers (killable processes forked by reward_kit.isolation) and the local
    # executor's launches run side by side; neither waits on a pipe end the other inherited.
    spec = {"grader": "multi", "graders": {"tests": {"grader": "code"}, "answer": {"grader": "math"}},
            "weights": {"tests": 0.5, "answer": 0.5}}
    sample = code_sample("s", ADD, ADD_IO)
    sample["metadata"]["reference_answer"] = {**ADD_IO, "answer": "3"}
    sample["messages"][-1]["content"] += "\nThe answer is \\boxed{3}."
    spec["graders"]["answer"]["reference_key"] = "answer"
    multi = Scorer(spec)
    for _ in range(3):
        events = [json.loads(json.dumps(sample)) for _ in range(6)]
        for i, event in enumerate(events):
            event["id"] = f"s{i}"
        result = multi.score_event(events, deadline=time.monotonic() + 60)
        assert result.values[AGGREGATE] == [1.0] * 6
        assert all(reason is None for reason in reasons(result.outputs).values())


def test_the_handler_fails_the_invocation_and_says_why(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from tests.lambdas.helpers import fresh_handler, parse_lines

    monkeypatch.delenv(names.CODE_EXECUTOR_FUNCTION_ENV, raising=False)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "code-tests")
    for module in fresh_handler("code_grader.handler", {"grader": "code"}, monkeypatch):
        with pytest.raises(ExecutorUnavailable):
            module.handler([code_sample("a", ADD, ADD_IO)], None)
        logs, _ = parse_lines(capsys.readouterr().out)
        assert [(log["level"], log["message"]) for log in logs] == [("ERROR", "grader cannot run")]
        assert "CODE_EXECUTOR_FUNCTION is not set" in logs[0]["error"]


def test_processes_forked_during_a_launch_cannot_hold_the_grader_up() -> None:
    # The multi{code, math} bug: math workers forked while a sandbox thread was inside
    # subprocess.Popen inherited its exec-status pipe, and Popen waited for them. Here a thread
    # forks children that keep every descriptor they inherit (pipe ends of launches in flight
    # included) for 60 s while samples are graded; grading must not wait for them.
    import os
    import signal

    holders: list[int] = []
    stop = threading.Event()

    def fork_holders() -> None:
        while not stop.is_set() and len(holders) < 40:
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            holders.append(pid)
            time.sleep(0.005)

    forker = threading.Thread(target=fork_holders)
    forker.start()
    try:
        result = scorer().score_event([code_sample(f"s{i}", ADD, ADD_IO) for i in range(8)],
                                      deadline=time.monotonic() + 50)
        stop.set()
        forker.join()
        # Every holder is still alive: the scores did not wait for any of them to exit.
        assert all(os.waitpid(pid, os.WNOHANG) == (0, 0) for pid in holders)
        assert result.values[AGGREGATE] == [1.0] * 8
    finally:
        stop.set()
        forker.join()
        for pid in holders:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def test_a_grader_process_with_many_open_descriptors_still_grades() -> None:
    # select.select raises for a descriptor numbered 1024 or more: a long-lived process (a
    # test session, a dry run beside other work) that holds many files made every sample a
    # grader_error. The executor's pipes must work whatever their numbers.
    import os
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1200
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"the hard descriptor limit ({hard}) is below {wanted}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted) if soft != resource.RLIM_INFINITY else soft, hard))
    held = []
    try:
        while not held or held[-1] < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        result = scorer().score_event([code_sample("s", ADD, ADD_IO)], deadline=time.monotonic() + 50)
        assert reasons(result.outputs) == {"s": None}
        assert result.values[AGGREGATE] == [1.0]
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_checkout_under_tmp_still_runs_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    # The executor mounts a private /tmp: a package dir under /tmp (a clone in /tmp, as a CI
    # runner may make) vanished under it and every request timed out ("cannot start").
    import os
    import shutil
    import tempfile

    from reward_kit import code_executor

    checkout = tempfile.mkdtemp(prefix="checkout-", dir="/tmp")
    try:
        os.chmod(checkout, 0o755)  # the executor runs as uid 65534 when the grader is root
        lambdas = os.path.join(checkout, "lambdas")
        shutil.copytree(os.path.join(ROOT, "lambdas", "code_sandbox"), os.path.join(lambdas, "code_sandbox"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        monkeypatch.setattr(code_executor, "_sandbox_package_dir", lambda: lambdas)
        monkeypatch.setattr(LocalExecutor, "_probed", {})
        result = scorer().score_event([code_sample("s", ADD, ADD_IO)], deadline=time.monotonic() + 50)
        assert reasons(result.outputs) == {"s": None}
        assert result.values[AGGREGATE] == [1.0]
    finally:
        shutil.rmtree(checkout)


def test_a_dry_run_where_the_executor_cannot_start_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import io

    from reward_kit import dryrun

    data = tmp_path / "samples.jsonl"
    data.write_text(json.dumps(code_sample("a", ADD, ADD_IO)) + "\n")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"grader": "code", "timeout_seconds": 2}))
    monkeypatch.setattr(LocalExecutor, "_probed", {})
    monkeypatch.setenv("PATH", "/nonexistent")
    out, err = io.StringIO(), io.StringIO()
    assert dryrun.main(["--data", str(data), "--spec", str(spec)], stdout=out, stderr=err) == 1
    assert err.getvalue().startswith("error: local code executor needs util-linux")
