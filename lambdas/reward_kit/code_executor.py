"""How the ``code`` grader reaches the code executor: one request per sample, one response.

- In Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set) the executor is the environment's executor
  function, named by ``CODE_EXECUTOR_FUNCTION`` (a function ARN or name that
  ``lambda:InvokeFunction`` accepts); unset there is a configuration error and the
  invocation raises.
- Anywhere else (tests, ``make dryrun``) it is ``code_sandbox.local`` started in new PID,
  network, mount, IPC and UTS namespaces (util-linux ``unshare``) with a private tmpfs /tmp,
  as another user: uid 65534 through ``setpriv`` when the grader is root, the
  capability-less root of a user namespace otherwise. When that cannot start, the
  invocation raises: there is no fallback to an unisolated run.

``ExecutorUnavailable`` (the executor cannot run at all: throttled, missing, denied,
misconfigured, namespaces unavailable) propagates out of the Scorer: the invocation fails,
the training job retries and the errors alarm sees it. A failure that concerns one sample
only (its executor died, hung or answered nonsense, which a hostile program can cause)
comes back as a response ``{"status": "executor_error"}`` for that sample alone.

The local launch uses ``os.posix_spawn`` (no exec-status pipe, close-on-exec pipes) and
length-prefixed frames: a process forked elsewhere in the grader (math workers) that
inherits a copy of a pipe end cannot make either side wait for an end of file.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import select
import shlex
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any, Mapping, Protocol

from reward_kit import names
from reward_kit.graders.base import InfrastructureError
from reward_kit.settings import CODE_EXECUTOR_FUNCTION, CODE_SANDBOX_PYTHON

__all__ = [
    "Executor",
    "ExecutorUnavailable",
    "LambdaExecutor",
    "LocalExecutor",
    "executor_error",
    "executor_from_env",
]

NOBODY = 65534
LOCAL_TMP_MB = 256  # the private /tmp of one local executor
RESPONSE_MARGIN_SECONDS = 5.0  # beyond the request's budget: start-up and the executor's own work
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
LOCAL_MAIN = "import sys; sys.path.insert(0, sys.argv[1]); from code_sandbox.local import main; main()"


class ExecutorUnavailable(InfrastructureError):
    """The code executor cannot run at all: the invocation must fail, not score zeros."""


class Executor(Protocol):
    def execute(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        """The executor's response; ``{"status": "executor_error"}`` for a per-sample failure;
        raises ExecutorUnavailable."""
        ...


def executor_error(message: str) -> dict[str, Any]:
    return {"version": 1, "status": "executor_error", "error": message}


def executor_from_env(environ: Mapping[str, str] | None = None) -> Executor:
    env = os.environ if environ is None else environ
    function = CODE_EXECUTOR_FUNCTION.read(env)
    if function:
        return LambdaExecutor(function)
    if env.get("AWS_LAMBDA_FUNCTION_NAME"):
        return _Misconfigured(f"{names.CODE_EXECUTOR_FUNCTION_ENV} is not set: this code function has no executor")
    return LocalExecutor(CODE_SANDBOX_PYTHON.read(env))


class _Misconfigured:
    def __init__(self, message: str) -> None:
        self.message = message

    def execute(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        raise ExecutorUnavailable(self.message)


# --- AWS: the executor function -----------------------------------------------------------------

# Errors that say the executor cannot be invoked at all (Lambda API reference: Invoke, Errors).
_PER_SAMPLE_ERRORS = frozenset({"RequestTooLargeException"})


class LambdaExecutor:
    def __init__(self, function: str) -> None:
        self.function = function
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import boto3  # the Lambda runtime's own; loaded only by a code function in AWS
                from botocore.config import Config

                self._client = boto3.client("lambda", config=Config(
                    connect_timeout=5, read_timeout=900, max_pool_connections=64,
                    retries={"mode": "standard", "max_attempts": 3}))
            return self._client

    def execute(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

        try:
            response = self.client().invoke(FunctionName=self.function, InvocationType="RequestResponse",
                                            Payload=json.dumps(request).encode("utf-8", "surrogatepass"))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            if code in _PER_SAMPLE_ERRORS:
                return executor_error(code)
            raise ExecutorUnavailable(f"code executor {self.function}: {code}") from None
        except ReadTimeoutError:
            return executor_error("no response in time")  # e.g. the program stopped its executor
        except BotoCoreError as exc:
            raise ExecutorUnavailable(f"code executor {self.function}: {type(exc).__name__}") from None
        if response.get("FunctionError"):
            # The executor crashed or timed out on this request (a program can kill its executor).
            return executor_error(f"executor {response['FunctionError']} error")
        try:
            body = json.loads(response["Payload"].read())
        except (ValueError, RecursionError):
            return executor_error("unreadable response")
        return body if isinstance(body, dict) else executor_error("unreadable response")


# --- local: the same executor in namespaces -----------------------------------------------------


def _sandbox_package_dir() -> str | None:
    spec = importlib.util.find_spec("code_sandbox")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


# Where a package dir under /tmp is bound inside the executor's mount namespace (hidden there only).
_PACKAGE_MOUNT_POINTS = ("/mnt", "/media", "/srv", "/opt")


def _private_tmp_script(package_dir: str) -> tuple[str, str]:
    """The shell step that gives the executor a private, empty /tmp, and where the package dir is
    then. A package dir under /tmp (a checkout in /tmp) would vanish under the new /tmp: it is
    opened first and bound through that descriptor (``--no-canonicalize``: the kernel resolves
    the link) onto a directory outside /tmp, hidden in this mount namespace only."""
    mount = f"mount -t tmpfs -o size={LOCAL_TMP_MB}m,mode=1777,nosuid,nodev tmpfs /tmp"
    if package_dir != "/tmp" and not package_dir.startswith("/tmp/"):
        return mount, package_dir
    point = next((p for p in _PACKAGE_MOUNT_POINTS if os.path.isdir(p) and not os.path.islink(p)), None)
    if point is None:
        raise ExecutorUnavailable(f"local code executor: {package_dir} is under /tmp and none of "
                                  f"{', '.join(_PACKAGE_MOUNT_POINTS)} exists to bind it to")
    return (f"exec 3<{shlex.quote(package_dir)} && {mount}"
            f" && mount --no-canonicalize --bind /proc/self/fd/3 {point} && exec 3<&-"), point


class LocalExecutor:
    """``code_sandbox.local`` in namespaces, one process tree per request."""

    PROBE = {"version": 1, "program": "print(6 * 7)", "limits": {"seconds": 5}, "budget_seconds": 10,
             "runs": [{"stdin": ""}]}

    # (configured python, euid) -> the interpreter that passed the probe, or why none did:
    # probed once per process, not once per grader.
    _probed: dict[tuple[str | None, int], tuple[str | None, str | None]] = {}
    _lock = threading.Lock()

    def __init__(self, python: str | None = None) -> None:
        self.python = python

    def command(self, python: str, package_dir: str) -> list[str]:
        tools = {name: shutil.which(name) for name in ("unshare", "setpriv", "sh", "mount")}
        missing = [name for name, path in tools.items() if path is None]
        if missing:
            raise ExecutorUnavailable(f"local code executor needs util-linux: {', '.join(missing)} not found")
        root = os.geteuid() == 0
        private_tmp, package_dir = _private_tmp_script(os.path.realpath(package_dir))
        mount = private_tmp + ' && exec "$0" "$@"'
        command = [str(tools["unshare"])]
        if not root:
            command += ["--user", "--map-root-user"]
        command += ["--pid", "--net", "--mount", "--ipc", "--uts", "--fork", "--mount-proc", "--kill-child",
                    str(tools["sh"]), "-c", mount, str(tools["setpriv"])]
        if root:
            command += [f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        command += ["--no-new-privs", "--bounding-set=-all", "--inh-caps=-all",
                    python, "-I", "-S", "-B", "-c", LOCAL_MAIN, package_dir]
        return command

    def _candidates(self) -> list[str]:
        if self.python:
            return [self.python]
        import sys

        found = [sys.executable]
        # As root the executor runs as uid 65534, which cannot run an interpreter under /root (pyenv).
        system = shutil.which("python3", path="/usr/bin:/usr/local/bin")
        if os.geteuid() == 0 and system and system not in found:
            found.append(system)
        return found

    def ready(self) -> str:
        """The interpreter to run; probes once (a trivial program) and raises ExecutorUnavailable
        when the sandbox cannot run here."""
        key = (self.python, os.geteuid())
        with self._lock:
            ready, failure = self._probed.get(key, (None, None))
            if ready is None and failure is None:
                ready, failure = self._probe()
                self._probed[key] = (ready, failure)
        if ready is None:
            raise ExecutorUnavailable(failure or "local code executor cannot start")
        return ready

    def _probe(self) -> tuple[str | None, str | None]:
        package_dir = _sandbox_package_dir()
        if package_dir is None:
            return None, "local code executor: the code_sandbox package is not importable"
        problems = []
        for python in self._candidates():
            response, detail = self._spawn(self.command(python, package_dir), self.PROBE, 30.0)
            runs = response.get("runs") or [{}]
            if response.get("status") == "ok" and runs[0].get("stdout") == "42\n":
                return python, None
            problems.append(f"{python}: {detail or response.get('error') or response.get('status')}")
        return None, "local code executor cannot start (Linux namespaces unavailable?): " + "; ".join(problems)

    def execute(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        python = self.ready()
        package_dir = _sandbox_package_dir()
        assert package_dir is not None  # checked by ready()
        response, detail = self._spawn(self.command(python, package_dir), request, timeout)
        if detail:
            return executor_error(detail)
        return response

    @staticmethod
    def _spawn(command: list[str], request: Mapping[str, Any], timeout: float) -> tuple[dict[str, Any], str | None]:
        """(response, None), or ({}, what went wrong)."""
        data = json.dumps(request).encode("utf-8", "surrogatepass")
        stdin_read, stdin_write = os.pipe()
        stdout_read, stdout_write = os.pipe()
        deadline = time.monotonic() + timeout
        try:
            pid = os.posix_spawn(command[0], command, {"PATH": "/usr/bin:/bin"}, file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_read, 0),
                (os.POSIX_SPAWN_DUP2, stdout_write, 1),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ], setsid=True)
        except OSError as exc:
            for fd in (stdin_read, stdin_write, stdout_read, stdout_write):
                os.close(fd)
            return {}, f"cannot start: {exc.strerror}"
        os.close(stdin_read)
        os.close(stdout_write)
        try:
            sent = _write_all(stdin_write, b"%d\n" % len(data) + data, deadline)
            os.close(stdin_write)
            stdin_write = -1
            body = _read_frame(stdout_read, deadline) if sent else None
        finally:
            if stdin_write >= 0:
                os.close(stdin_write)
            os.close(stdout_read)
            try:
                os.killpg(pid, signal.SIGKILL)  # the namespace goes with its first process
            except (ProcessLookupError, PermissionError):
                pass
            os.waitpid(pid, 0)
        if body is None:
            return {}, "no response in time"
        try:
            response = json.loads(body)
        except (ValueError, RecursionError):
            return {}, "unreadable response"
        return (response, None) if isinstance(response, dict) else ({}, "unreadable response")


def _wait(fd: int, events: int, seconds: float) -> bool:
    """True when ``fd`` is ready (or hung up) within ``seconds``. poll, not select: select
    raises for a descriptor numbered 1024 or more, which a busy process may well hand out."""
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(max(0, math.ceil(seconds * 1000))))


def _write_all(fd: int, data: bytes, deadline: float) -> bool:
    os.set_blocking(fd, False)
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _wait(fd, select.POLLOUT, left)
        except OSError:
            return False
    return True


def _read_frame(fd: int, deadline: float) -> bytes | None:
    os.set_blocking(fd, False)
    buffer = b""
    size: int | None = None
    while True:
        if size is None and b"\n" in buffer:
            header, buffer = buffer.split(b"\n", 1)
            if not header.isdigit() or int(header) > MAX_RESPONSE_BYTES:
                return None
            size = int(header)
        if size is not None and len(buffer) >= size:
            return buffer[:size]
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if not _wait(fd, select.POLLIN, left):
            return None
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:
            continue
        if not chunk:
            return None  # the executor died before answering
        buffer += chunk
        if len(buffer) > MAX_RESPONSE_BYTES + 32:
            return None
