"""Grading workers outlive the invocation, idle (reward_kit.isolation).

A warm invocation reuses its worker and forks nothing; after the handler returns the workers
exist but compute nothing; a worker killed or recycled mid-batch is replaced (from the fork
server, never by forking the handler's process) and the replacement stays for the next
event; replacing workers while another thread is inside ``subprocess.Popen`` never blocks
Popen. Nothing here asserts how fast anything is (``make bench`` measures that).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time

import pytest

from reward_kit import isolation
from reward_kit.graders.base import GradeInput, GradeResult, GraderTraits, Isolation, with_traits
from reward_kit.scoring import Scorer
from tests.lambdas import processes
from tests.lambdas.helpers import make_sample

MATH = {"grader": "math", "timeout_seconds": 60}
GIL_HOLDING = "\\boxed{9^{9^{9}}}"


class Context:
    aws_request_id = "req-warm"

    def __init__(self, remaining_ms: int = 3000) -> None:
        self.started = time.monotonic()
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_ms - (time.monotonic() - self.started) * 1000)


def _pid_grader(sample: GradeInput) -> GradeResult:
    """Reports the pid of the process that graded it; sleeps on the response "slow"."""
    if sample.response == "slow":
        time.sleep(60)
    return GradeResult(score=1.0, rewards={"math": 1.0}, metrics={"pid": float(os.getpid())})


def isolated(grader, limit: float = 5.0) -> isolation.IsolatedGrader:
    timed_out, died = GradeResult(0.0, reason="grader_timeout"), GradeResult(0.0, reason="grader_error")
    return isolation.IsolatedGrader(with_traits(grader, GraderTraits(isolation=Isolation(limit, lambda: timed_out, lambda: died))))


def pids(result) -> list[int | None]:
    """The grading pid of each output (None: not graded by _pid_grader)."""
    found = []
    for output in result.outputs:
        metrics = {m["name"]: m["value"] for m in output.get("metrics_list", ())}
        found.append(int(metrics["pid"]) if "pid" in metrics else None)
    return found


_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _children_before_the_test():
    """Children this process had before the test (jsii's node runtime, other tests' leftovers)."""
    _BEFORE.clear()
    _BEFORE.update(processes.child_pids())
    yield


def nothing_burns_cpu() -> dict[int, processes.Proc]:
    return processes.assert_nothing_burns_cpu(exclude=_BEFORE)


@pytest.fixture
def forks(monkeypatch):
    """Every os.fork() this (the handler's) process makes from now on."""
    calls: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        calls.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counting_fork)
    return calls


def test_a_warm_invocation_reuses_its_worker_and_forks_nothing(monkeypatch):
    scorer = Scorer(MATH, grader=isolated(_pid_grader))
    first = pids(scorer.score_event([make_sample("a", "x", "1")]))
    calls: list[int] = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: calls.append(1) or real_fork())
    second = pids(scorer.score_event([make_sample("b", "x", "1")]))
    third = pids(scorer.score_event([make_sample("c", "x", "1"), make_sample("d", "x", "1")]))
    assert first == second and third == first * 2 and first[0] != os.getpid()
    assert calls == []  # no fork at all, in this process, for a warm invocation


def test_the_handler_forks_its_workers_from_a_fork_server_when_it_builds_its_scorer(load, capsys, forks):
    module = load("rlvr.handler", MATH)
    # The first invocation builds the grader (imports math-verify): a generous deadline.
    outputs = module.handler([make_sample("a", "\\boxed{\\frac{1}{2}}", "0.5")], Context(60_000))
    assert outputs[0]["aggregate_reward_score"] == 1.0
    server, workers = isolation.POOL.server_pid, isolation.POOL.worker_pids
    assert server and len(workers) == 1
    # The handler's process forked once (the fork server), the fork server forked the worker.
    assert len(forks) == 1
    assert processes.read_proc(server).ppid == os.getpid()  # type: ignore[union-attr]
    assert processes.read_proc(workers[0]).ppid == server  # type: ignore[union-attr]
    spawned = isolation.POOL.spawned
    for number in range(3):
        outputs = module.handler([make_sample(f"w{number}", f"\\boxed{{{number}}}", str(number))], Context())
        assert outputs[0]["aggregate_reward_score"] == 1.0
    capsys.readouterr()
    assert len(forks) == 1 and isolation.POOL.spawned == spawned  # warm invocations fork nothing
    assert isolation.POOL.worker_pids == workers and isolation.POOL.server_pid == server


@pytest.mark.slow
def test_after_the_handler_returns_the_workers_stay_and_compute_nothing(load, capsys):
    module = load("rlvr.handler", MATH)
    module.handler([make_sample("cold", "\\boxed{1}", "1")], Context(60_000))  # builds the grader
    # A runaway sample killed at the deadline, then an ordinary one.
    outputs = module.handler([make_sample("ok", "\\boxed{2}", "2"), make_sample("slow", GIL_HOLDING, "2")],
                             Context(1500))
    assert [o["aggregate_reward_score"] for o in outputs] == [1.0, 0.0]
    kept = isolation.POOL.worker_pids
    assert kept, "the worker killed at the deadline was replaced before the handler returned"
    left = nothing_burns_cpu()
    assert set(kept) | {isolation.POOL.server_pid} == {pid for pid, p in left.items() if p.state != "Z"}
    spawned = isolation.POOL.spawned
    outputs = module.handler([make_sample("next", "\\boxed{3}", "3")], Context())
    capsys.readouterr()
    assert outputs[0]["aggregate_reward_score"] == 1.0
    assert isolation.POOL.spawned == spawned and isolation.POOL.worker_pids == kept
    nothing_burns_cpu()


def test_a_worker_killed_mid_batch_is_replaced_and_the_replacement_stays(forks):
    scorer = Scorer(MATH, grader=isolated(_pid_grader, limit=0.5))
    first = scorer.score_event([make_sample("a", "x", "1"), make_sample("slow", "slow", "1"), make_sample("b", "x", "1")])
    assert first.failures == {"grader_timeout": 1}
    before, _, after = pids(first)
    assert before != after and after is not None  # killed on "slow", replaced for "b"
    assert processes.read_proc(before) is None  # type: ignore[arg-type]  # killed and reaped
    assert pids(scorer.score_event([make_sample("c", "x", "1")])) == [after]
    assert len(forks) == 1  # the fork server, once; workers come from it


def test_a_worker_recycled_mid_batch_is_replaced(monkeypatch):
    monkeypatch.setattr(isolation, "MAX_SAMPLES_PER_WORKER", 2)
    scorer = Scorer(MATH, grader=isolated(_pid_grader))
    graded = pids(scorer.score_event([make_sample(str(i), "x", "1") for i in range(5)]))
    assert graded[0] == graded[1] != graded[2] == graded[3] != graded[4]
    assert pids(scorer.score_event([make_sample("next", "x", "1")])) == [graded[4]]


def test_a_worker_holds_no_descriptor_but_stdio_and_its_pipe():
    # Whatever this process has open (pytest's files, sockets, another thread's pipes), a
    # worker holds none of it: a pipe inherited from a thread inside Popen would block Popen.
    read_end, write_end = os.pipe()
    try:
        with isolation.session(1):
            pid = int(isolated(_pid_grader)(GradeInput("x", "1", {})).metrics["pid"])
            fds = {int(fd): os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    finally:
        os.close(read_end)
        os.close(write_end)
    extra = {fd: target for fd, target in fds.items() if fd > 2}
    assert len(extra) == 1 and next(iter(extra.values())).startswith("socket:"), fds


@pytest.mark.slow
def test_replacing_workers_while_another_thread_is_in_popen_never_blocks_popen():
    # The hazard of issue 18: a worker forked while the code grader's thread is inside
    # subprocess.Popen inherits Popen's exec-status pipe, and Popen waits for as long as the
    # worker lives; idle workers live on. Here 8 callers at once each lose their worker to a
    # timeout and get a replacement, while another thread launches children without pause.
    slow, fast = isolated(_pid_grader, limit=0.3), isolated(_pid_grader)
    stop, launched, graded_by = threading.Event(), [], []

    def launch() -> None:
        while not stop.is_set():
            child = subprocess.Popen([sys.executable, "-S", "-c", "pass"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            child.wait()
            launched.append(child.pid)

    def caller() -> None:
        for _ in range(3):
            assert slow(GradeInput("slow", "1", {})).reason == "grader_timeout"
            graded_by.append(fast(GradeInput("x", "1", {})).metrics["pid"])

    launcher = threading.Thread(target=launch, daemon=True)
    with isolation.session(isolation.MAX_WORKERS):
        launcher.start()
        callers = [threading.Thread(target=caller) for _ in range(isolation.MAX_WORKERS)]
        for thread in callers:
            thread.start()
        for thread in callers:
            thread.join(60)
        # Every slow call cost its worker (a timeout): the fast calls ran in replacements.
        assert len(graded_by) == 3 * isolation.MAX_WORKERS and len(set(graded_by)) > isolation.MAX_WORKERS
        stop.set()
        # Still inside the session, every replacement alive and idle: Popen must not be stuck.
        launcher.join(20)
        stuck = launcher.is_alive()
    launcher.join(20)
    assert not stuck, "subprocess.Popen blocked while grading workers were alive"
    assert len(launched) > 0
    nothing_burns_cpu()


def test_a_pipe_another_thread_holds_while_workers_are_replaced_reaches_end_of_file():
    # What Popen waits on, without the race: the write end of an O_CLOEXEC pipe (Popen's
    # exec-status pipe) is open in this process while workers are forked and replaced, then
    # closed. Its read end must see end of file, with every replacement alive and idle.
    slow, fast = isolated(_pid_grader, limit=0.2), isolated(_pid_grader)
    read_end, write_end = os.pipe()  # non-inheritable (O_CLOEXEC), as Popen's
    with isolation.session(2):
        for _ in range(3):
            assert slow(GradeInput("slow", "1", {})).reason == "grader_timeout"
            assert fast(GradeInput("x", "1", {})).score == 1.0
        assert isolation.POOL.worker_pids  # alive, idle
        os.close(write_end)
        ready, _, _ = select.select([read_end], [], [], 10)
        held = not ready
    os.close(read_end)
    assert not held, "a grading worker holds another thread's pipe open"


def test_a_fork_server_that_dies_takes_its_workers_and_the_next_call_starts_another():
    scorer = Scorer(MATH, grader=isolated(_pid_grader))
    (worker,) = pids(scorer.score_event([make_sample("a", "x", "1")]))
    server = isolation.POOL.server_pid
    assert server is not None
    os.kill(server, 9)
    until = time.monotonic() + 10
    while processes.read_proc(worker) not in (None,) and processes.read_proc(worker).state != "Z" and time.monotonic() < until:  # type: ignore[union-attr]
        time.sleep(0.01)
    assert processes.read_proc(worker) is None or processes.read_proc(worker).state == "Z"  # type: ignore[union-attr]
    (replacement,) = pids(scorer.score_event([make_sample("b", "x", "1")]))
    assert replacement != worker and isolation.POOL.server_pid not in (None, server)
    nothing_burns_cpu()


def test_workers_that_cannot_start_cost_the_samples_not_the_invocation(load, capsys, monkeypatch):
    def no_fork() -> int:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    module = load("rlvr.handler", MATH)
    outputs = module.handler([make_sample("a", "\\boxed{1}", "1"), make_sample("b", "\\boxed{2}", "2")], Context(60_000))
    assert [o["aggregate_reward_score"] for o in outputs] == [0.0, 0.0]
    assert all(o["metrics_list"][-1]["name"] == "failure_grader_error" for o in outputs)
    assert "grading workers could not start" in capsys.readouterr().out
