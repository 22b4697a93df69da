"""Run one sample's runs: each in a fresh child process with limits, killed as a whole afterwards.

Every run is a child forked from the executor (which holds this one sample's request and
nothing else: no expected output, no other sample, no grader code); what the child does
before and while it runs the program (its session, uid, directory, descriptors, rlimits) is
``code_sandbox.child``. This module is the parent's side: ``run_all`` starts at most
``parallel`` children at once, waits on their result pipes and exits, kills a process group
at its phase deadline, and reads each child's exit code and result lines into the run's
result (``code_sandbox.statuses``).

Run kinds: ``stdin`` (the program runs as ``__main__`` on that input; its stdout comes back,
capped) and ``calls`` (the program runs as module ``solution``, then each call in order: a
top-level function, or a method of ``class Solution`` as LeetCode harnesses call them; each
result comes back as plain data, ``code_sandbox.plain_data``, on the result pipe). Each
phase (loading the program, each call) has ``seconds`` of wall time, the whole run at most
what is left of the request's budget. Standard library only.
"""

from __future__ import annotations

import json
import math
import os
import select
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from code_sandbox import plain_data
from code_sandbox.child import run_child
from code_sandbox.statuses import (
    BUILTIN_EXCEPTIONS,
    CRASH,
    DEADLINE,
    ERROR,
    EXIT_FILE,
    EXIT_MEMORY,
    EXIT_SYNTAX,
    FILE_LIMIT,
    MEMORY_LIMIT,
    NOT_PLAIN,
    NOT_RUN,
    NO_FUNCTION,
    OK,
    OUTPUT_LIMIT,
    SYNTAX_ERROR,
    TIMEOUT,
)

_CALL_STATUSES = frozenset({OK, ERROR, NOT_PLAIN, NO_FUNCTION})  # what a child may report itself
NOBODY = 65534
MIN_RUN_SECONDS = 0.05  # less than this before the budget ends: not worth a process
RESPONSE_BUDGET_BYTES = 5 * 1024 * 1024  # Lambda's synchronous response limit is 6 MB


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
        run_child(workdir, stdin_fd, stdout_fd, write_end, prelude, program, calls, limits, cpu, drop_to)
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
            entry["error"] = message["error"] if message["error"] in BUILTIN_EXCEPTIONS else "Exception"
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
    if code == EXIT_SYNTAX:
        return SYNTAX_ERROR
    if code == EXIT_MEMORY:
        return MEMORY_LIMIT
    if code == EXIT_FILE or code == -signal.SIGXFSZ:
        return OUTPUT_LIMIT if stdout_size >= limits.file_bytes else FILE_LIMIT
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return TIMEOUT
    return CRASH

