"""What this test process's descendants are doing, read from /proc (Linux).

Grading workers outlive the invocation, idle (``reward_kit.isolation``): after a handler
returns its descendants may exist, but none may be running or gaining CPU time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str  # R running, S sleeping, Z zombie, ...
    cpu_ticks: int  # user + system time, in clock ticks


def read_proc(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    return Proc(pid, int(fields[1]), fields[0], int(fields[11]) + int(fields[12]))


def all_procs() -> dict[int, Proc]:
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            proc = read_proc(int(entry))
            if proc is not None:
                procs[proc.pid] = proc
    return procs


def descendants(root: int | None = None, exclude: Collection[int] = ()) -> dict[int, Proc]:
    """Every process below ``root`` (default: this one), except those below ``exclude``."""
    procs = all_procs()
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found, stack = {}, list(children.get(os.getpid() if root is None else root, []))
    while stack:
        pid = stack.pop()
        if pid in exclude or pid not in procs:
            continue
        found[pid] = procs[pid]
        stack.extend(children.get(pid, []))
    return found


def child_pids(exclude: Collection[int] = ()) -> list[int]:
    """Direct children (live or unreaped) of this process."""
    return [pid for pid, proc in all_procs().items() if proc.ppid == os.getpid() and pid not in exclude]


def assert_nothing_burns_cpu(exclude: Collection[int] = (), window: float = 0.5) -> dict[int, Proc]:
    """No descendant gains CPU time over ``window`` seconds or is left running, no grading
    thread is left, and no thread of this process keeps computing. Returns the descendants."""
    grading = ("reward-grader", "math-verify")
    until = time.monotonic() + 2.0  # an abandoned judge call may take a moment to come back
    while any(t.name.startswith(grading) for t in threading.enumerate()) and time.monotonic() < until:
        time.sleep(0.05)
    assert [t.name for t in threading.enumerate() if t.name.startswith(grading)] == []
    before = descendants(exclude=exclude)
    cpu = time.process_time()
    time.sleep(window)
    assert time.process_time() - cpu < window / 2, "a thread of this process is still computing"
    after = descendants(exclude=exclude)
    for pid, proc in after.items():
        assert proc.state in ("S", "Z", "I"), f"process {pid} is {proc.state} after the handler returned"
        if pid in before:
            # A tick is 10 ms: a process that computes gains ~50 of them in the window.
            assert proc.cpu_ticks - before[pid].cpu_ticks <= 2, f"process {pid} is computing"
    return after
