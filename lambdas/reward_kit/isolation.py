"""Killable grading: graders whose cost the input controls run in worker processes.

A thread cannot be stopped, and a signal handler never runs while C code holds the GIL
(sympy computing ``9^{9^{9}}``), so the only limit that always holds is killing a process.
Graders whose traits carry an ``Isolation`` (math, costly JSON schemas; see
``reward_kit.graders.build_grader``) are wrapped in an ``IsolatedGrader``: each call is sent
over a pipe to an idle worker process, and the caller waits at most the sample's budget, the
smaller of the grader's own time limit and the time left before the invocation's deadline
(``reward_kit.deadline``). A worker that does not answer in time is killed (SIGKILL) and the
sample gets the grader's timeout result.

Why pipes and not ``multiprocessing.Pool``: Lambda has no ``/dev/shm``, so Pool, Queue and the
locks behind them fail there; ``os.fork`` and socket pairs work (Lambda's Python runtime).

Lifecycle. Workers outlive the invocation, idle:

- ``IsolatedGrader`` warms its grader once in this process (``Isolation.warmup``: math-verify
  builds its parsers on the first parse), so every process forked afterwards starts warm.
- ``WorkerPool.start()`` (the Lambda runtime calls it when it builds its Scorer, before any
  thread of the handler exists) forks a *fork server* from this warm process, and the fork
  server forks the workers. The fork server never runs a thread and holds no file descriptor
  but its control pipe and stdio (it closes every inherited one at once), so the workers it
  forks are safe to fork whatever threads this process runs later. Forking a worker straight
  from this process while another thread is inside ``subprocess.Popen`` (the code grader's)
  would hand the worker Popen's exec-status pipe, and Popen would block for as long as the
  worker lives.
- An idle worker blocks on its pipe: it costs no CPU, and Lambda freezes the whole sandbox
  between invocations. A warm invocation forks nothing.
- A worker is killed only when it overruns its budget, dies, answers garbage, or has served
  ``MAX_SAMPLES_PER_WORKER`` samples (caches inside sympy only grow); the next call gets a
  replacement from the fork server, and when the event ends (``session()``) the pool is
  topped up to the workers ``start()`` asked for if time is left, so the next invocation
  forks nothing either. Workers still busy when the outermost session ends (a call abandoned
  at the deadline) are killed then, and a new worker reports ready before a spawn returns:
  nothing computes after the handler returns. A grader registered after the fork server
  started (another spec) restarts it.
- Each worker lives under an address-space limit (``resource.setrlimit(RLIMIT_AS)``): a grader
  that allocates without bound gets a MemoryError (its grader_error) instead of taking the
  whole Lambda down.

The fork server and the workers are ``reward_kit.fork_server``.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Iterator

from reward_kit.deadline import remaining_seconds
from reward_kit.fork_server import (
    CRASHED,
    TIMED_OUT,
    ForkServerOwner,
    ForkServerProcess,
    WorkerProcess,
    register_grader,
)
from reward_kit.graders.base import GradeInput, GradeResult, Grader, Isolation, traits_of, with_traits

__all__ = ["IsolatedGrader", "WorkerPool", "POOL", "available", "session"]

# A worker is replaced after this many samples: caches inside sympy and friends only grow.
MAX_SAMPLES_PER_WORKER = 500
# Workers per process at most. A caller never waits behind another's runaway sample while
# fewer callers than this run at once (the judge's threads): one worker per caller.
MAX_WORKERS = 8
# The child stops itself (its grader's own timer) this long before the parent kills it, so a
# well-behaved timeout comes back as the grader's own result rather than a kill.
SOFT_LIMIT_LEAD_SECONDS = 0.05
# A replacement is forked when an event ends only with this much time left before its deadline.
TOP_UP_RESERVE_SECONDS = 0.25


def available() -> bool:
    """Whether graders can be isolated here (fork exists: Linux, macOS; not Windows)."""
    return hasattr(os, "fork")


# --- in the handler's process --------------------------------------------------------------------


class WorkerPool(ForkServerOwner):
    """Grading workers shared by every isolated grader of this process, kept between calls."""

    def __init__(self, max_workers: int = 2) -> None:
        self.max_workers = max_workers
        self._lock = threading.Condition()
        self._idle: list[WorkerProcess] = []
        self._busy: set[WorkerProcess] = set()
        self._sessions = 0
        self._generation = 0  # bumped by register(): an older fork server lacks the new grader
        self._server: ForkServerProcess | None = None
        self._target = 0  # idle workers to keep ready between events (start())
        self.spawned = 0  # workers forked so far (by every fork server of this pool)

    # --- registration and start (parent) ---------------------------------------------------------

    def register(self, grader: Any) -> int:
        key = register_grader(grader)
        with self._lock:
            self._generation += 1
        return key

    def start(self, workers: int = 1) -> None:
        """Fork the fork server now (from this warm process, before the handler starts any
        thread) and ``workers`` idle workers. Idempotent; without it the first call starts them.
        Raises OSError when they cannot be started (calls then try again, sample by sample)."""
        workers = max(1, min(MAX_WORKERS, workers))
        with self._lock:
            self.max_workers = max(self.max_workers, workers)
            self._target = workers
            try:
                self._ensure_server()
                self._top_up(None)
            except (EOFError, ValueError, RuntimeError) as exc:
                raise OSError(f"grading workers could not start: {exc}") from exc

    # --- one call --------------------------------------------------------------------------------

    def call(self, key: int, sample: GradeInput, limit_seconds: float) -> GradeResult | str:
        """Grade ``sample`` with the registered grader ``key`` in a worker.

        Returns the grader's result, or ``TIMED_OUT`` (budget spent: the worker was killed)
        or ``CRASHED`` (the worker died or the call could not be sent or answered).
        """
        remaining = remaining_seconds()
        if remaining is not None and remaining <= 0:
            return TIMED_OUT
        wait_until = None if remaining is None else time.monotonic() + remaining
        try:
            worker = self._checkout(wait_until)
        except (OSError, EOFError, ValueError, RuntimeError):
            return CRASHED  # no fork server and none could be started
        if worker is None:
            return TIMED_OUT
        keep = False
        try:
            started = time.monotonic()
            budget = limit_seconds if wait_until is None else min(limit_seconds, wait_until - started)
            if budget <= 0:
                keep = True
                return TIMED_OUT
            hard_deadline = started + budget
            worker.conn.send((key, sample, hard_deadline - min(SOFT_LIMIT_LEAD_SECONDS, budget / 2)))
            if not worker.conn.poll(max(0.0, hard_deadline - time.monotonic())):
                return TIMED_OUT
            status, result = worker.conn.recv()
            keep = True
            return result if status == "ok" and isinstance(result, GradeResult) else CRASHED
        except (EOFError, OSError, ValueError, TypeError, RecursionError, AttributeError):
            return CRASHED  # pickling or pipe trouble: costs this sample only
        except Exception:  # noqa: BLE001 - e.g. PicklingError: same
            return CRASHED
        finally:
            self._checkin(worker, keep)

    # --- workers (called with the lock held) -----------------------------------------------------

    def _checkout(self, wait_until: float | None) -> WorkerProcess | None:
        with self._lock:
            while True:
                self._ensure_server()
                if self._idle:
                    worker = self._idle.pop()
                    self._busy.add(worker)
                    return worker
                if len(self._busy) < self.max_workers:
                    # A replacement (or a new worker for one more concurrent caller): one fork
                    # in the fork server, the only one a call ever waits for.
                    worker = self._spawn()
                    self._busy.add(worker)
                    return worker
                timeout = None if wait_until is None else wait_until - time.monotonic()
                if timeout is not None and timeout <= 0:
                    return None
                self._lock.wait(timeout)

    def _checkin(self, worker: WorkerProcess, keep: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            worker.served += 1
            current = worker.server is self._server and worker.pid > 0
            if keep and current and worker.served < MAX_SAMPLES_PER_WORKER and len(self._idle) < self.max_workers:
                self._idle.append(worker)
            else:
                self._retire(worker)
            self._lock.notify()

    def _top_up(self, deadline: float | None) -> None:
        """Fork workers (in the fork server) until ``_target`` exist, while time is left: a
        worker killed or recycled in this event is replaced now, not in the next one."""
        while len(self._idle) + len(self._busy) < self._target:
            if deadline is not None and time.monotonic() + TOP_UP_RESERVE_SECONDS > deadline:
                return
            self._idle.append(self._spawn())

    # --- process lifetime ------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Kill and reap every worker, idle or busy (a busy caller then sees a crashed call),
        and the fork server. Tests use it; a Lambda never needs to (workers die with it)."""
        with self._lock:
            self._stop_server()
            self._lock.notify_all()

    @property
    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in (*self._idle, *self._busy) if w.pid > 0]

    @property
    def server_pid(self) -> int | None:
        with self._lock:
            return None if self._server is None else self._server.pid

    @contextmanager
    def session(self, max_workers: int | None = None, deadline: float | None = None) -> Iterator[None]:
        """One scored event (the Scorer wraps each): when the outermost session ends, workers
        still busy (calls abandoned at the deadline) are killed, idle ones stay for the next
        event, and workers killed or recycled during it are replaced if ``deadline`` (a
        ``time.monotonic()`` value) leaves time for it."""
        with self._lock:
            self._sessions += 1
            if max_workers is not None:
                self.max_workers = max(1, min(MAX_WORKERS, max_workers))  # the caller's concurrency
        try:
            yield
        finally:
            with self._lock:
                self._sessions -= 1
                if self._sessions == 0:
                    for worker in list(self._busy):
                        self._retire(worker, close=False)
                    self._lock.notify_all()
                    server = self._server
                    if server is not None and server.generation == self._generation:
                        try:
                            self._top_up(deadline)
                        except (OSError, EOFError, ValueError, RuntimeError):
                            pass  # the next call starts a new fork server


POOL = WorkerPool()
session = POOL.session


class IsolatedGrader:
    """A grader that runs in ``POOL``'s workers, bounded by its time limit and the deadline.

    Built by ``build_grader`` for a grader whose traits carry an ``Isolation`` (its limit and
    its results for a sample out of time or a dead worker); its own traits are the grader's,
    marked ``isolated`` so the Scorer wraps every event in a session. The grader is warmed
    here, once, on ``Isolation.warmup``: every worker forked later inherits the warm state.
    """

    def __init__(self, grader: Grader, pool: WorkerPool = POOL) -> None:
        traits = traits_of(grader)
        if traits.isolation is None:
            raise ValueError("IsolatedGrader needs a grader whose traits carry an Isolation")
        self.grader = grader
        self.isolation: Isolation = traits.isolation
        self.pool = pool
        if self.isolation.warmup is not None:
            try:
                grader(self.isolation.warmup)
            except Exception:  # noqa: BLE001 - warming is an optimization; grading reports errors
                pass
        self.key = pool.register(grader)
        with_traits(self, replace(traits, isolation=None, isolated=True))

    def __call__(self, sample: GradeInput) -> GradeResult:
        outcome = self.pool.call(self.key, sample, self.isolation.time_limit)
        if outcome == TIMED_OUT:
            return self.isolation.timeout_result()
        if outcome == CRASHED or not isinstance(outcome, GradeResult):
            return self.isolation.error_result()
        return outcome
