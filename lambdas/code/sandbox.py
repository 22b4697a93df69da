"""The in-Lambda sandbox: run one untrusted Python program in a fresh, limited child process.

Each run gets:
- a fresh interpreter (``python -I -S -B -X utf8``: isolated mode, no site-packages, no
  bytecode files, UTF-8 streams) started with ``subprocess`` (never ``fork`` of the handler,
  which holds the spec, the references and the Lambda's state);
- an EMPTY environment: no AWS credentials or other variables are passed;
- its own temporary working directory (mode 0700), removed afterwards whatever the program
  did to it;
- resource limits set by the bootstrap before the program's first line runs: CPU seconds,
  address space, size of any file written (stdout included), open files, no core dumps and
  no new processes or threads (RLIMIT_NPROC 0: binding for every uid but root; as root the
  child drops to an unprivileged uid first, see ``unprivileged_user``);
- a new session (its own process group), killed as a whole with SIGKILL after the run,
  on timeout or not;
- a wall-clock timeout: the smaller of the per-run limit and the time left before the
  invocation's deadline;
- stdin (script mode) and stdout on anonymous files, stdout capped by the file-size limit
  and read back up to ``output_bytes``; stderr discarded (outputs never echo program text);
  in tests mode the test and the verdict nonce arrive through a pipe the bootstrap drains
  before the program runs, and live only in a function's locals.

What this layer does NOT stop (all code in a Lambda runs as one OS user): a program can read
whatever the handler can read, including ``/proc/<handler pid>/environ`` (the function's
credentials), the function's code and other children's files in ``/tmp``. That is why the
function's role can do nothing but write its own logs and the function has no network route
(``stacks/code_sandbox``): the credentials lead nowhere and nothing can leave.

Outcomes (``RunResult.status``): ``ok`` (exited 0), and the failures in ``FAILURES``.
Standard library only.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Sequence

__all__ = [
    "CRASH",
    "DEADLINE",
    "FAILURES",
    "FILE_LIMIT",
    "MEMORY_LIMIT",
    "OK",
    "OUTPUT_LIMIT",
    "SANDBOX_ERROR",
    "SYNTAX_ERROR",
    "TIMEOUT",
    "WRONG_ANSWER",
    "Limits",
    "RunResult",
    "run_program",
    "unprivileged_user",
]

OK = "ok"
WRONG_ANSWER = "wrong_answer"  # tests mode: the test's assertion failed (script mode: the grader compares)
SYNTAX_ERROR = "syntax_error"  # the program does not compile
TIMEOUT = "timeout"  # wall or CPU time limit
MEMORY_LIMIT = "memory_limit"  # MemoryError under the address-space limit
OUTPUT_LIMIT = "output_limit"  # stdout beyond the cap
FILE_LIMIT = "file_limit"  # a file beyond the file-size limit
CRASH = "crash"  # an exception, a signal, a non-zero exit, or no verdict (tests mode)
DEADLINE = "deadline"  # cut short by the invocation's deadline (not the program's fault)
SANDBOX_ERROR = "sandbox_error"  # the sandbox itself could not run the program
FAILURES = (WRONG_ANSWER, SYNTAX_ERROR, TIMEOUT, MEMORY_LIMIT, OUTPUT_LIMIT, FILE_LIMIT, CRASH, DEADLINE, SANDBOX_ERROR)

# Exit codes the bootstrap uses to tell the parent why the program stopped. A program can
# exit with them itself, but only to report one of its own failures.
_EXIT_SYNTAX, _EXIT_MEMORY, _EXIT_FILE, _EXIT_ASSERTION, _EXIT_NO_LIMITS = 70, 71, 72, 73, 75
_NOBODY = 65534
# Anything shorter than this before the deadline is not worth starting a process for.
MIN_RUN_SECONDS = 0.05

# Runs in the child before the program: limits first, then the program, then (tests mode)
# the test and the verdict. argv: mode, cpu s, address space bytes, file bytes, open files.
BOOTSTRAP = r"""
import builtins, errno, os, resource, sys, types
_mode, _cpu, _as, _fsize, _nofile = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
_job = sys.stdin.buffer.read() if _mode == "tests" else b""
if _mode == "tests":
    _fd = os.open(os.devnull, os.O_RDONLY); os.dup2(_fd, 0); os.close(_fd)
for _name, _soft, _hard in ((resource.RLIMIT_CPU, _cpu, _cpu + 1), (resource.RLIMIT_AS, _as, _as),
                            (resource.RLIMIT_FSIZE, _fsize, _fsize), (resource.RLIMIT_NOFILE, _nofile, _nofile),
                            (resource.RLIMIT_CORE, 0, 0), (resource.RLIMIT_NPROC, 0, 0)):
    try:
        resource.setrlimit(_name, (_soft, _hard))
    except (ValueError, OSError):
        if _name != resource.RLIMIT_CORE:
            os._exit(75)  # never run a program without its limits
builtins.exit = builtins.quit = sys.exit  # -S leaves them out; programs use them
sys.argv = ["solution.py"]
def _stop(code):
    try:
        sys.stdout.flush()
    except MemoryError:
        os._exit(71)
    except OSError as e:
        os._exit(72 if e.errno == errno.EFBIG else 1)
    os._exit(code)
def _run(code, namespace, failed_assertion=1):
    try:
        exec(code, namespace)
    except SystemExit as e:
        c = e.code
        _stop(0 if c is None else c if isinstance(c, int) and 0 <= c < 256 else 1)
    except MemoryError:
        os._exit(71)
    except OSError as e:
        os._exit(72 if e.errno == errno.EFBIG else 1)
    except AssertionError:
        os._exit(failed_assertion)
    except BaseException:
        os._exit(1)
_NUMBERS, _SCALARS = (int, float, complex, bool), (str, bytes, type(None), int, float, complex, bool)
def _plain_keys(items, _type=type, _all=all):
    return _all(_type(k) in _SCALARS or (_type(k) is tuple and _plain_keys(k)) for k in items)
def _strict_equal(a, b, _type=type, _len=len, _zip=zip, _all=all):
    # == on builtin values, without letting a program's object decide (e.g. __eq__ always True).
    ta, tb = _type(a), _type(b)
    if ta in _NUMBERS and tb in _NUMBERS:
        return a == b
    if ta is not tb:
        return False
    if ta in _SCALARS:
        return a == b
    if ta is list or ta is tuple:
        return _len(a) == _len(b) and _all(_strict_equal(x, y) for x, y in _zip(a, b))
    if ta is dict:
        if _len(a) != _len(b) or not (_plain_keys(a) and _plain_keys(b)):
            return False
        return _all(k in b and _strict_equal(v, b[k]) for k, v in a.items())
    if ta is set or ta is frozenset:
        return _plain_keys(a) and _plain_keys(b) and a == b
    return a == b  # the program's own type on both sides
try:
    with open("solution.py", "rb") as _f:
        _code = compile(_f.read(), "solution.py", "exec")
except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
    os._exit(70)
def _tests(job):
    # Locals only: the nonce is not a global of any module the program can import.
    import json
    job = json.loads(job)
    nonce, test = job["nonce"].encode(), compile(job["test"], "test.py", "exec")
    del job
    module = types.ModuleType("solution")
    sys.modules["solution"] = sys.modules["__main__"] = module
    _run(_code, module.__dict__)
    # The test sees the program's names, and the strict equality its == became (code.grader).
    namespace = dict(module.__dict__)
    namespace["__reward_kit_equal__"] = _strict_equal
    _run(test, namespace, failed_assertion=73)
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(b"\n" + nonce + b"\n")
    except MemoryError:
        os._exit(71)
    except OSError as e:
        os._exit(72 if e.errno == errno.EFBIG else 1)
    _stop(0)
if _mode == "tests":
    _tests(globals().pop("_job"))
_main = types.ModuleType("__main__")
sys.modules["__main__"] = _main
_run(_code, _main.__dict__)
_stop(0)
"""


@dataclass(frozen=True)
class Limits:
    """Per-run limits (defaults and bounds are the ``code`` spec's, in reward_kit.spec)."""

    wall_seconds: float = 2.0
    memory_mb: int = 256  # address space (virtual memory) of the child
    file_bytes: int = 1 << 20  # largest file the child may write, stdout included
    output_bytes: int = 1 << 16  # stdout read back and compared
    open_files: int = 32

    @property
    def cpu_seconds(self) -> int:
        return max(1, int(self.wall_seconds + 0.999))


@dataclass(frozen=True, slots=True)
class RunResult:
    status: str  # OK or one of FAILURES
    stdout: bytes = b""  # at most Limits.output_bytes
    seconds: float = 0.0


def unprivileged_user() -> int | None:
    """The uid (and gid) children run as: None (the caller's) unless the caller is root.

    Root ignores RLIMIT_NPROC, so a fork bomb would be unbounded; dropping to ``nobody``
    makes the limit bind (Lambda never runs as root: this is for containers and dev boxes).
    """
    return _NOBODY if hasattr(os, "geteuid") and os.geteuid() == 0 else None


def run_program(
    program: str,
    *,
    stdin: bytes = b"",
    test: str | None = None,
    nonce: str | None = None,
    limits: Limits = Limits(),
    deadline: float | None = None,
    python: str | None = None,
    user: int | None = None,
) -> RunResult:
    """Run ``program`` once in a fresh sandboxed child; never raises for anything the program does.

    ``test`` (with ``nonce``): tests mode; the program is executed as module ``solution``,
    then ``test`` in its namespace, then the bootstrap prints ``nonce``, which the program
    never saw: a program that exits early (``os._exit(0)``) or prints a fake verdict fails.
    Otherwise script mode: the program is ``__main__`` and reads ``stdin``.
    ``deadline``: a ``time.monotonic()`` value the run must not outlive.
    """
    wall = limits.wall_seconds
    cut_by_deadline = False
    if deadline is not None:
        left = deadline - time.monotonic()
        if left < MIN_RUN_SECONDS:
            return RunResult(DEADLINE)
        if left < wall:
            wall, cut_by_deadline = left, True
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="reward-code-")
    try:
        return _run_in(workdir, program, stdin, test, nonce, limits, wall, cut_by_deadline,
                       python or sys.executable, user, started)
    except OSError:
        return RunResult(SANDBOX_ERROR, seconds=time.monotonic() - started)
    finally:
        remove_tree(workdir)


def _run_in(
    workdir: str, program: str, stdin: bytes, test: str | None, nonce: str | None, limits: Limits,
    wall: float, cut_by_deadline: bool, python: str, user: int | None, started: float,
) -> RunResult:
    with open(os.path.join(workdir, "solution.py"), "w", encoding="utf-8", errors="surrogatepass") as f:
        f.write(program)
    if user is not None:
        for path in (workdir, os.path.join(workdir, "solution.py")):
            os.chown(path, user, user)
    tests_mode = test is not None
    command: Sequence[str] = [
        python, "-I", "-S", "-B", "-X", "utf8", "-c", BOOTSTRAP,
        "tests" if tests_mode else "script", str(limits.cpu_seconds), str(limits.memory_mb << 20),
        str(limits.file_bytes), str(limits.open_files),
    ]
    extra = {"user": user, "group": user, "extra_groups": []} if user is not None else {}
    with tempfile.TemporaryFile() as stdin_file, tempfile.TemporaryFile() as stdout_file:
        if tests_mode:
            # The job (nonce, test) goes through a pipe the bootstrap drains before the program
            # runs: no file or descriptor left to read it from.
            read_end, write_end = os.pipe()
            stdin_source: int | IO[bytes] = read_end
        else:
            stdin_file.write(stdin)
            stdin_file.seek(0)
            stdin_source = stdin_file
        try:
            process = subprocess.Popen(
                command, stdin=stdin_source, stdout=stdout_file, stderr=subprocess.DEVNULL, cwd=workdir,
                env={}, start_new_session=True, close_fds=True, **extra,  # type: ignore[call-overload]
            )
        except BaseException:
            if tests_mode:
                os.close(write_end)
            raise
        finally:
            if tests_mode:
                os.close(read_end)
        if tests_mode:
            _send(write_end, json.dumps({"nonce": nonce, "test": test}).encode(), time.monotonic() + wall)
        try:
            exited = _wait_unreaped(process.pid, wall)
        finally:
            # The exited leader stays a zombie until reaped, so its group id cannot have been
            # reused: whatever it left behind in its group goes too.
            _kill_group(process.pid)
            process.wait()
        timed_out = not exited
        seconds = time.monotonic() - started
        stdout_file.seek(0)
        output = stdout_file.read(limits.output_bytes + 1)
        stdout_size = os.fstat(stdout_file.fileno()).st_size
    if timed_out:
        return RunResult(DEADLINE if cut_by_deadline else TIMEOUT, seconds=seconds)
    status = _status(process.returncode, stdout_size, limits)
    if status == OK and len(output) > limits.output_bytes:
        status = OUTPUT_LIMIT
    if status == OK and tests_mode and not output.rstrip().endswith(b"\n" + (nonce or "").encode()):
        status = CRASH  # exited "successfully" without the bootstrap's verdict
    return RunResult(status, output[: limits.output_bytes] if status == OK else b"", seconds)


def _status(code: int, stdout_size: int, limits: Limits) -> str:
    if code == 0:
        return OK
    if code == _EXIT_SYNTAX:
        return SYNTAX_ERROR
    if code == _EXIT_ASSERTION:
        return WRONG_ANSWER
    if code == _EXIT_NO_LIMITS:
        return SANDBOX_ERROR
    if code == _EXIT_MEMORY:
        return MEMORY_LIMIT
    if code == _EXIT_FILE or code == -signal.SIGXFSZ:
        return OUTPUT_LIMIT if stdout_size >= limits.file_bytes else FILE_LIMIT
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return TIMEOUT  # CPU limit (soft: SIGXCPU, hard: SIGKILL)
    return CRASH


def _send(fd: int, data: bytes, until: float) -> None:
    """Write ``data`` to a pipe and close it, giving up at ``until`` (a child that never reads,
    or died first, just gets less and fails its run)."""
    try:
        os.set_blocking(fd, False)
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                left = until - time.monotonic()
                if left <= 0:
                    return
                select.select([], [fd], [], left)
    except OSError:
        pass
    finally:
        os.close(fd)


def _wait_unreaped(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` s for ``pid`` to exit, without reaping it; True when it exited."""
    end = time.monotonic() + timeout
    delay = 0.0005
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return True
        left = end - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.01)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def remove_tree(path: str) -> None:
    """Remove ``path`` even when the program made parts of it unreadable or read-only."""

    def retry(function: object, target: str, _info: object) -> None:
        parent = os.path.dirname(target)
        for item in (parent, target):
            try:
                os.chmod(item, stat.S_IRWXU)
            except OSError:
                pass
        try:
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target, ignore_errors=True)
            else:
                os.unlink(target)
        except OSError:
            pass

    try:
        os.chmod(path, stat.S_IRWXU)
    except OSError:
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)
