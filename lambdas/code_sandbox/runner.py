"""Run one sample's runs: each in a fresh child process with limits, killed as a whole afterwards.

Every run is a child forked from the executor (which holds this one sample's request and
nothing else: no expected output, no other sample, no grader code). Before the program's
first line the child:
- starts a new session (its own process group, killed with SIGKILL when the run ends);
- drops to uid 65534 when the executor runs as root (RLIMIT_NPROC binds below root only);
- gets its own working directory (0700) under the request's scratch root, stdin and stdout
  on files there, stderr on /dev/null, every other descriptor closed but its result pipe;
- sets RLIMIT_CPU, RLIMIT_AS (what it already maps + ``memory_mb``), RLIMIT_FSIZE,
  RLIMIT_NOFILE, RLIMIT_CORE 0 and RLIMIT_NPROC 0 (no process, no thread), and an empty
  environment.

Run kinds: ``stdin`` (the program runs as ``__main__`` on that input; its stdout comes back,
capped) and ``calls`` (the program runs as module ``solution``, then each call in order: a
top-level function, or a method of ``class Solution`` as LeetCode harnesses call them; each
result comes back as plain data, ``code_sandbox.plain_data``, on the result pipe). Each
phase (loading the program, each call) has ``seconds`` of wall time, the whole run at most
what is left of the request's budget. Standard library only.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import math
import os
import resource
import select
import signal
import stat
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from code_sandbox import plain_data

# Run statuses.
OK = "ok"
SYNTAX_ERROR = "syntax_error"
TIMEOUT = "timeout"
MEMORY_LIMIT = "memory_limit"
OUTPUT_LIMIT = "output_limit"
FILE_LIMIT = "file_limit"
CRASH = "crash"
DEADLINE = "deadline"  # cut short by the request's time budget
# Call statuses besides OK, TIMEOUT, MEMORY_LIMIT, OUTPUT_LIMIT, CRASH, DEADLINE.
ERROR = "error"  # the call raised; "error" names the exception if it is a builtin one
NOT_PLAIN = "not_plain"  # the call returned something that is not plain data
NOT_RUN = "not_run"  # the run ended before this call started
NO_FUNCTION = "no_function"  # the program defines no such function (nor Solution method)

_CALL_STATUSES = frozenset({OK, ERROR, NOT_PLAIN, NO_FUNCTION})  # what a child may report itself
_EXIT_SYNTAX, _EXIT_MEMORY, _EXIT_FILE, _EXIT_SETUP = 70, 71, 72, 75
NOBODY = 65534
MIN_RUN_SECONDS = 0.05  # less than this before the budget ends: not worth a process
RESPONSE_BUDGET_BYTES = 5 * 1024 * 1024  # Lambda's synchronous response limit is 6 MB
_BUILTIN_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
)


@dataclass(frozen=True)
class Limits:
    seconds: float = 2.0  # wall time per phase (CPU: rounded up)
    memory_mb: int = 256  # address space the program may add
    output_bytes: int = 65_536  # stdout (and each call's value) carried back
    file_bytes: int = 1 << 20  # largest file the program may write, stdout included
    open_files: int = 32


@dataclass
class _Child:
    index: int
    pid: int
    run: dict[str, Any]
    stdout_fd: int
    result_fd: int | None
    pidfd: int | None
    phase_deadline: float
    run_deadline: float
    cut_by_budget: bool
    started: float
    buffer: bytes = b""
    results: list[dict[str, Any]] = field(default_factory=list)
    loaded: bool = False
    killed: str | None = None  # TIMEOUT / DEADLINE when we killed it
    result_eof: bool = False  # its result pipe is closed (a program may close it and go on running)


def run_all(
    prelude: Any, program: Any, runs: list[dict[str, Any]], limits: Limits, until: float, scratch: str,
    parallel: int, drop_to: int | None,
) -> list[dict[str, Any]]:
    """Raw results of ``runs`` (compiled ``prelude`` and ``program``), in order."""
    results: list[dict[str, Any] | None] = [None] * len(runs)
    waiting = list(range(len(runs)))
    active: dict[int, _Child] = {}
    budget = [RESPONSE_BUDGET_BYTES]
    sys.stdout.flush()
    sys.stderr.flush()
    while waiting or active:
        while waiting and len(active) < parallel:
            index = waiting.pop(0)
            now = time.monotonic()
            if until - now < MIN_RUN_SECONDS:
                results[index] = _not_started(runs[index], DEADLINE)
                continue
            child = _start(index, runs[index], prelude, program, limits, now, until, scratch, drop_to)
            active[child.pid] = child
        if not active:
            continue
        _wait_for_events(active)
        now = time.monotonic()
        for pid, child in list(active.items()):
            _read_results(child, limits, now)
            if _exited(child):
                del active[pid]
                results[child.index] = _finish(child, limits, budget)
            elif now >= child.phase_deadline:
                child.killed = DEADLINE if child.cut_by_budget and now >= child.run_deadline else TIMEOUT
                _kill_group(pid)
    return [r if r is not None else _not_started({}, DEADLINE) for r in results]


def _not_started(run: dict[str, Any], status: str) -> dict[str, Any]:
    result: dict[str, Any] = {"status": status, "seconds": 0.0}
    if "calls" in run:
        result["calls"] = [{"status": NOT_RUN} for _ in run["calls"]]
    return result


def _start(
    index: int, run: dict[str, Any], prelude: Any, program: Any, limits: Limits, now: float, until: float,
    scratch: str, drop_to: int | None,
) -> _Child:
    workdir = os.path.join(scratch, f"run-{index}")
    os.mkdir(workdir, 0o700)
    stdin_path, stdout_path = os.path.join(scratch, f"in-{index}"), os.path.join(scratch, f"out-{index}")
    stdin_fd = os.open(stdin_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    stdout_fd = os.open(stdout_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.unlink(stdin_path)
    os.unlink(stdout_path)
    data = run.get("stdin", "").encode("utf-8", "surrogatepass")
    view = memoryview(data)
    while view:
        view = view[os.write(stdin_fd, view):]
    os.lseek(stdin_fd, 0, os.SEEK_SET)
    if drop_to is not None:
        os.chown(workdir, drop_to, drop_to)
        os.fchown(stdout_fd, drop_to, drop_to)
    calls = run.get("calls")
    read_end, write_end = os.pipe() if calls is not None else (None, None)
    phases = 1 + (len(calls) if calls is not None else 0)
    cpu = max(1, int(limits.seconds * phases + 0.999))
    pid = os.fork()
    if pid == 0:  # the child: never returns
        _child(workdir, stdin_fd, stdout_fd, write_end, prelude, program, calls, limits, cpu, drop_to)
    os.close(stdin_fd)
    if write_end is not None:
        os.close(write_end)
        os.set_blocking(read_end, False)  # type: ignore[arg-type]
    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            pidfd = None
    run_deadline = min(until, now + limits.seconds * phases)
    return _Child(index, pid, run, stdout_fd, read_end, pidfd, min(run_deadline, now + limits.seconds),
                  run_deadline, until < now + limits.seconds * phases, now)


def _wait_for_events(active: dict[int, _Child]) -> None:
    now = time.monotonic()
    timeout = max(0.0, min(child.phase_deadline for child in active.values()) - now)
    fds = [c.result_fd for c in active.values() if c.result_fd is not None and not c.result_eof]
    pidfds = [c.pidfd for c in active.values() if c.pidfd is not None]
    if len(pidfds) < len(active):
        timeout = min(timeout, 0.002)  # no pidfd: poll for exits
    poller = select.poll()  # not select.select: it cannot take a descriptor numbered 1024 or more
    for fd in fds + pidfds:
        poller.register(fd, select.POLLIN)
    try:
        poller.poll(math.ceil(timeout * 1000))
    except InterruptedError:
        pass


def _read_results(child: _Child, limits: Limits, now: float) -> None:
    if child.result_fd is None or child.killed in (OUTPUT_LIMIT, CRASH):
        return  # after a line it could not use, nothing more from this child is trusted
    while True:
        try:
            chunk = os.read(child.result_fd, 65536)
        except BlockingIOError:
            break
        except OSError:
            break
        if not chunk:
            child.result_eof = True
            break
        child.buffer += chunk
        if len(child.buffer) > limits.output_bytes + 256 and b"\n" not in child.buffer:
            child.buffer = b""
            child.killed = OUTPUT_LIMIT
            _kill_group(child.pid)
            return
    while b"\n" in child.buffer:
        line, child.buffer = child.buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):  # the program may write anything on its result pipe
            message = None
        if not isinstance(message, dict):
            child.killed = CRASH
            _kill_group(child.pid)
            return
        if message.get("loaded") is True and not child.loaded:
            child.loaded = True
        else:
            child.results.append(message)
        child.phase_deadline = min(child.run_deadline, now + limits.seconds)


def _exited(child: _Child) -> bool:
    try:
        return os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _finish(child: _Child, limits: Limits, budget: list[int]) -> dict[str, Any]:
    # The leader is an unreaped zombie: its group id cannot have been reused yet.
    _kill_group(child.pid)
    _, status = os.waitpid(child.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    for fd in (child.pidfd,):
        if fd is not None:
            os.close(fd)
    if child.result_fd is not None:
        _read_results(child, limits, time.monotonic())
        os.close(child.result_fd)
    seconds = round(time.monotonic() - child.started, 4)
    size = os.fstat(child.stdout_fd).st_size
    os.lseek(child.stdout_fd, 0, os.SEEK_SET)
    output = os.read(child.stdout_fd, limits.output_bytes + 1) if "calls" not in child.run else b""
    os.close(child.stdout_fd)
    status_name = child.killed or _status(code, size, limits)
    if status_name == OK and len(output) > limits.output_bytes:
        status_name = OUTPUT_LIMIT
    result: dict[str, Any] = {"status": status_name, "seconds": seconds}
    if "calls" in child.run:
        result["calls"] = _call_results(child, status_name, budget)
        if status_name == OK and not child.loaded:
            result["status"] = CRASH
    elif status_name == OK:
        text = output.decode("utf-8", "replace")
        if len(text) > budget[0]:
            result["status"] = OUTPUT_LIMIT
        else:
            budget[0] -= len(text)
            result["stdout"] = text
    return result


def _call_results(child: _Child, run_status: str, budget: list[int]) -> list[dict[str, Any]]:
    calls = child.run["calls"]
    out: list[dict[str, Any]] = []
    if not child.loaded:  # the program itself did not load: every call shares its fate
        return [{"status": run_status if run_status != OK else CRASH} for _ in calls]
    for message in child.results[: len(calls)]:
        status = message.get("status")
        entry: dict[str, Any] = {"status": status if status in _CALL_STATUSES else CRASH}
        if entry["status"] == OK:
            try:
                plain_data.decode(message.get("value"))  # what a program wrote itself must be plain too
                size = len(json.dumps(message.get("value")))
            except (plain_data.NotPlain, ValueError, RecursionError):
                out.append({"status": NOT_PLAIN})
                continue
            if size > budget[0]:
                entry = {"status": OUTPUT_LIMIT}
            else:
                budget[0] -= size
                entry["value"] = message.get("value")
        elif entry["status"] == ERROR and isinstance(message.get("error"), str):
            entry["error"] = message["error"] if message["error"] in _BUILTIN_EXCEPTIONS else "Exception"
        out.append(entry)
    if len(out) < len(calls):
        # The call running when the child ended takes the run's status; the rest never ran.
        out.append({"status": run_status if run_status != OK else CRASH})
        while len(out) < len(calls):
            out.append({"status": NOT_RUN})
    return out


def _status(code: int, stdout_size: int, limits: Limits) -> str:
    if code == 0:
        return OK
    if code == _EXIT_SYNTAX:
        return SYNTAX_ERROR
    if code == _EXIT_MEMORY:
        return MEMORY_LIMIT
    if code == _EXIT_FILE or code == -signal.SIGXFSZ:
        return OUTPUT_LIMIT if stdout_size >= limits.file_bytes else FILE_LIMIT
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return TIMEOUT
    return CRASH


# --- the child ------------------------------------------------------------------------------


def _child(
    workdir: str, stdin_fd: int, stdout_fd: int, result_fd: int | None, prelude: Any, program: Any,
    calls: list[dict[str, Any]] | None, limits: Limits, cpu: int, drop_to: int | None,
) -> None:
    try:
        os.setsid()
        os.chdir(workdir)
        for signum in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGXFSZ):
            signal.signal(signum, signal.SIG_DFL)
        os.dup2(stdin_fd, 0)
        os.dup2(stdout_fd, 1)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        if result_fd is not None:
            os.dup2(result_fd, 3)
        os.closerange(4 if result_fd is not None else 3, 1 << 16)
        if drop_to is not None:
            os.setgroups([])
            os.setgid(drop_to)
            os.setuid(drop_to)
        mapped = _mapped_bytes()
        for name, soft, hard in (
            (resource.RLIMIT_CPU, cpu, cpu + 1),
            (resource.RLIMIT_AS, mapped + (limits.memory_mb << 20), mapped + (limits.memory_mb << 20)),
            (resource.RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes),
            (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
            (resource.RLIMIT_CORE, 0, 0),
            (resource.RLIMIT_NPROC, 0, 0),
        ):
            resource.setrlimit(name, (soft, hard))
        os.environ.clear()
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8",
                                     errors="surrogateescape")
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8",
                                      errors="surrogateescape")
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="replace")
        sys.argv = ["solution.py"]
        # site's exit and quit, which -S leaves out; programs call them
        builtins.__dict__["exit"] = sys.exit
        builtins.__dict__["quit"] = sys.exit
    except BaseException:  # noqa: BLE001 - never run a program without its limits
        os._exit(_EXIT_SETUP)
    try:
        _program(prelude, program, calls)
    except BaseException:  # noqa: BLE001
        os._exit(1)
    os._exit(0)


def _mapped_bytes() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def _stop(code: int) -> None:
    try:
        sys.stdout.flush()
    except MemoryError:
        os._exit(_EXIT_MEMORY)
    except OSError as exc:
        os._exit(_EXIT_FILE if exc.errno == errno.EFBIG else 1)
    os._exit(code)


def _exec(code: Any, namespace: dict[str, Any]) -> None:
    try:
        exec(code, namespace)
    except SystemExit as exc:
        value = exc.code
        _stop(0 if value is None else value if isinstance(value, int) and 0 <= value < 256 else 1)
    except MemoryError:
        os._exit(_EXIT_MEMORY)
    except OSError as exc:
        os._exit(_EXIT_FILE if exc.errno == errno.EFBIG else 1)
    except BaseException:  # noqa: BLE001 - the program's own failure
        os._exit(1)


def _program(prelude: Any, program: Any, calls: list[dict[str, Any]] | None) -> None:
    import types

    name = "__main__" if calls is None else "solution"
    module = types.ModuleType(name)
    module.__dict__["__builtins__"] = builtins
    sys.modules[name] = module
    if calls is None:
        _exec(prelude, module.__dict__)
        _exec(program, module.__dict__)
        _stop(0)
    try:
        exec(prelude, module.__dict__)
        exec(program, module.__dict__)
    except MemoryError:
        os._exit(_EXIT_MEMORY)
    except BaseException:  # noqa: BLE001 - a program that fails to load, or exits while loading
        os._exit(1)
    _send({"loaded": True})
    namespace = module.__dict__
    for call in calls or ():
        _send(_call(namespace, call))
    os._exit(0)


def _send(message: dict[str, Any]) -> None:
    try:
        data = (json.dumps(message, allow_nan=False) + "\n").encode("utf-8", "surrogatepass")
    except (ValueError, TypeError, RecursionError):
        data = b'{"status": "not_plain"}\n'
    view = memoryview(data)
    while view:
        view = view[os.write(3, view):]


def _call(namespace: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
    name = call.get("function")
    function = namespace.get(name) if isinstance(name, str) else None
    try:
        if not callable(function):
            owner = namespace.get("Solution")  # LeetCode: a method of class Solution
            if isinstance(owner, type) and isinstance(name, str) and callable(getattr(owner, name, None)):
                function = getattr(owner(), name)
            else:
                return {"status": NO_FUNCTION}
        args = plain_data.decode(call.get("args", []))
        kwargs = plain_data.decode(call.get("kwargs", {}))
        value = function(*args, **kwargs)
    except MemoryError:
        os._exit(_EXIT_MEMORY)
    except SystemExit:
        os._exit(1)
    except BaseException as exc:  # noqa: BLE001 - reported by name, builtin exceptions only
        kind = type(exc).__name__ if type(exc).__name__ in _BUILTIN_EXCEPTIONS else "Exception"
        return {"status": ERROR, "error": kind}
    try:
        return {"status": OK, "value": plain_data.encode(value)}
    except (plain_data.NotPlain, ValueError, RecursionError):
        return {"status": NOT_PLAIN}
    except MemoryError:
        os._exit(_EXIT_MEMORY)


# --- cleaning up ------------------------------------------------------------------------------


def remove_tree(path: str) -> None:
    """Remove ``path`` even when a program made parts of it unreadable or read-only; never
    follows a symbolic link (as root, a chmod through a link would change its target)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return
    _make_writable(path)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        _empty_directory(fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _make_writable(path: str, dir_fd: int | None = None) -> None:
    try:
        info = os.lstat(path, dir_fd=dir_fd)
        if stat.S_ISDIR(info.st_mode):
            os.chmod(path, stat.S_IRWXU, dir_fd=dir_fd)
    except OSError:
        pass


def _empty_directory(fd: int) -> None:
    """Remove everything inside the open directory ``fd`` (entries by descriptor: no link followed)."""
    for name in os.listdir(fd):
        try:
            info = os.lstat(name, dir_fd=fd)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(info.st_mode):
            _make_writable(name, fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            try:
                _empty_directory(inner)
            finally:
                os.close(inner)
            os.rmdir(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)


def empty_directory(path: str) -> bool:
    """Remove everything under ``path`` (kept itself); True when it is empty afterwards."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        try:
            _empty_directory(fd)
        except OSError:
            pass
        return not os.listdir(fd)
    finally:
        os.close(fd)


def kill_strays() -> None:
    """SIGKILL every process this one can signal but itself and its ancestors (in Lambda: what
    a program may have left; in the local namespace: everything but the executor)."""
    keep = set()
    pid = os.getpid()
    while pid > 0:
        keep.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                pid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    for _ in range(3):  # a process may appear while we look: a few passes
        found = False
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in keep:
                try:
                    os.kill(int(entry), signal.SIGKILL)
                    found = True
                except (ProcessLookupError, PermissionError):
                    pass
        if not found:
            break
        _reap()


def _reap() -> None:
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.002)
