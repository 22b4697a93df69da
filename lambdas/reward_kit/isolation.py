"""Killable grading: graders whose cost the input controls run in forked worker processes.

A thread cannot be stopped, and a signal handler never runs while C code holds the GIL
(sympy computing ``9^{9^{9}}``), so the only limit that always holds is killing a process.
Graders whose traits carry an ``Isolation`` (math, costly JSON schemas; see
``reward_kit.graders.build_grader``) are wrapped in an ``IsolatedGrader``: each call is sent over a pipe to a worker process forked from this one
(so it already holds the built grader and its imports), and the caller waits at most the
sample's budget, the smaller of the grader's own time limit and the time left before the
invocation's deadline (``reward_kit.deadline``). A worker that does not answer in time is
killed (SIGKILL) and the sample gets the grader's timeout result.

Why fork + ``multiprocessing.connection.Pipe`` and not ``multiprocessing.Pool``: Lambda has no
``/dev/shm``, so Pool, Queue and the locks behind them fail there; a forked child and a
socket pair work (AWS-FACTS.md section 5).

Lifecycle: workers are forked on first use and re-used for up to ``MAX_SAMPLES_PER_WORKER``
samples; a killed or crashed worker is replaced on the next call. ``session()`` (the Scorer
wraps every event in one) kills and reaps every worker when the outermost session ends, so
nothing keeps running, or even exists, after the handler returns. Each worker lives under an
address-space limit (``resource.setrlimit(RLIMIT_AS)``): a grader that allocates without
bound gets a MemoryError (its grader_error) instead of taking the whole Lambda down.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
import weakref
from contextlib import contextmanager
from dataclasses import replace
from multiprocessing.connection import Connection, Pipe
from typing import Any, Iterator

from reward_kit.deadline import remaining_seconds, run_with_deadline
from reward_kit.graders.base import GradeInput, GradeResult, Grader, Isolation, traits_of, with_traits

__all__ = ["IsolatedGrader", "WorkerPool", "POOL", "available", "keep_workers", "session"]

# A worker is replaced after this many samples: caches inside sympy and friends only grow.
MAX_SAMPLES_PER_WORKER = 500
# Workers per process at most. A caller never waits behind another's runaway sample while
# fewer callers than this run at once (the judge's threads): one worker per caller.
MAX_WORKERS = 8
# The child stops itself (its grader's own timer) this long before the parent kills it, so a
# well-behaved timeout comes back as the grader's own result rather than a kill.
SOFT_LIMIT_LEAD_SECONDS = 0.05
# Address space a worker may add to what it inherited, split between the workers: half of the
# function's memory (Lambda sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE), at least this much each.
DEFAULT_MEMORY_MB = 2048
MIN_WORKER_MEMORY_MB = 64  # math-verify on real answers needs well under 48 MB more

# Outcomes of one isolated call (besides a GradeResult).
TIMED_OUT = "timed_out"
CRASHED = "crashed"

# fork() from a process with other threads (the judge's pool) warns on 3.12+. The child only
# runs the grader loop (_serve): it never touches locks other threads could have held (the
# import lock and logging's locks are reset by CPython's fork hooks). Silenced in _spawn.

# key -> grader, inherited by every worker at fork. Weak: a dropped Scorer frees its graders.
_REGISTRY: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_NEXT_KEY = iter(range(1, 1 << 62))
_REGISTRY_LOCK = threading.Lock()


def available() -> bool:
    """Whether graders can be isolated here (fork exists: Linux, macOS; not Windows)."""
    return hasattr(os, "fork")


def _memory_limit_bytes(workers: int) -> int:
    try:
        total_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "") or DEFAULT_MEMORY_MB)
    except ValueError:
        total_mb = DEFAULT_MEMORY_MB
    return max(MIN_WORKER_MEMORY_MB, total_mb // (2 * max(1, workers))) * 1024 * 1024


class _Worker:
    __slots__ = ("pid", "conn", "generation", "served")

    def __init__(self, pid: int, conn: Connection, generation: int) -> None:
        self.pid = pid
        self.conn = conn
        self.generation = generation
        self.served = 0


def _serve(conn: Connection, extra_memory: int) -> None:
    """The worker's loop (in the child): grade what arrives until the pipe closes."""
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as statm:
            inherited = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = inherited + extra_memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, ValueError):
        pass  # no /proc or no rlimit (macOS dry runs): the time limit still holds
    while True:
        try:
            key, sample, soft_deadline = conn.recv()
        except (EOFError, OSError):
            return
        grader = _REGISTRY.get(key)
        try:
            if grader is None:
                raise LookupError("grader not registered in this worker")
            reply: tuple[str, Any] = ("ok", run_with_deadline(soft_deadline, grader, sample))
        except BaseException:  # noqa: BLE001 - MemoryError included: report, keep serving
            reply = (CRASHED, None)
        try:
            conn.send(reply)
        except Exception:  # noqa: BLE001 - an unpicklable result is a crashed call
            conn.send((CRASHED, None))


class WorkerPool:
    """Forked grading workers shared by every isolated grader of this process."""

    def __init__(self, max_workers: int = 2) -> None:
        self.max_workers = max_workers
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._sessions = 0
        self._kept = False  # keep_workers() was called
        self._generation = 0  # bumped by register(): older workers lack the new grader

    # --- registration (parent) ---------------------------------------------------------------

    def register(self, grader: Any) -> int:
        with _REGISTRY_LOCK:
            key = next(_NEXT_KEY)
            _REGISTRY[key] = grader
        with self._lock:
            self._generation += 1
        return key

    # --- one call ----------------------------------------------------------------------------

    def call(self, key: int, sample: GradeInput, limit_seconds: float) -> GradeResult | str:
        """Grade ``sample`` with the registered grader ``key`` in a worker.

        Returns the grader's result, or ``TIMED_OUT`` (budget spent: the worker was killed)
        or ``CRASHED`` (the worker died or the call could not be sent or answered).
        """
        remaining = remaining_seconds()
        if remaining is not None and remaining <= 0:
            return TIMED_OUT
        wait_until = None if remaining is None else time.monotonic() + remaining
        worker = self._checkout(wait_until)
        if worker is None:
            return TIMED_OUT
        keep = False
        try:
            started = time.monotonic()
            budget = limit_seconds if remaining is None else min(limit_seconds, wait_until - started)  # type: ignore[operator]
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

    # --- workers -----------------------------------------------------------------------------

    def _checkout(self, wait_until: float | None) -> _Worker | None:
        with self._lock:
            while True:
                while self._idle:
                    worker = self._idle.pop()
                    if worker.generation == self._generation:
                        self._busy.add(worker)
                        return worker
                    _kill(worker)  # forked before a grader it may be asked for was registered
                if len(self._busy) < self.max_workers:
                    worker = self._spawn()
                    self._busy.add(worker)
                    return worker
                timeout = None if wait_until is None else wait_until - time.monotonic()
                if timeout is not None and timeout <= 0:
                    return None
                self._lock.wait(timeout)

    def _checkin(self, worker: _Worker, keep: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            worker.served += 1
            if keep and worker.served < MAX_SAMPLES_PER_WORKER and worker.pid > 0:
                self._idle.append(worker)
            else:
                _kill(worker)
            self._lock.notify()

    def _spawn(self) -> _Worker:
        """Fork one worker (called with the lock held)."""
        parent_end, child_end = Pipe(duplex=True)
        extra_memory = _memory_limit_bytes(self.max_workers)
        others = [w.conn for w in (*self._idle, *self._busy)]
        with warnings.catch_warnings():
            # Python 3.12+ warns after fork() when other threads exist (the judge's pool); a
            # warning filter that turns it into an error would raise in the parent with the
            # child already running. The child only runs _serve (see the filter above).
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never returns into the caller's code
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                parent_end.close()
                for conn in others:  # other workers' pipes: only the parent may hold them
                    try:
                        conn.close()
                    except OSError:
                        pass
                _serve(child_end, extra_memory)
                code = 0
            finally:
                os._exit(code)
        child_end.close()
        return _Worker(pid, parent_end, self._generation)

    def shutdown(self) -> None:
        """Kill and reap every worker, idle or busy (a busy caller then sees a crashed call)."""
        with self._lock:
            for worker in self._idle:
                _kill(worker)
            self._idle.clear()
            # A busy worker's caller is waiting on its pipe: the kill wakes it (end of file),
            # and it closes the pipe itself (closing it here would not wake its poll()).
            for worker in self._busy:
                _kill(worker, close=False)
            self._lock.notify_all()

    def keep_workers(self) -> None:
        """Keep workers between calls for the rest of this process (trainer adapters that grade
        one sample per call, where a fork per call would dominate). A worker whose parent
        exits sees its pipe close and exits too. Never used by the Lambda handlers."""
        with self._lock:
            if not self._kept:
                self._kept = True
                self._sessions += 1

    def release_workers(self) -> None:
        """Undo ``keep_workers()``: reap the workers now unless a session is open."""
        with self._lock:
            if not self._kept:
                return
            self._kept = False
            self._sessions -= 1
            last = self._sessions == 0
        if last:
            self.shutdown()

    @property
    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in (*self._idle, *self._busy) if w.pid > 0]

    @contextmanager
    def session(self, max_workers: int | None = None) -> Iterator[None]:
        """Reap every worker when the outermost session ends (the Scorer wraps each event)."""
        with self._lock:
            self._sessions += 1
            if max_workers is not None:
                self.max_workers = max(1, min(MAX_WORKERS, max_workers))  # the caller's concurrency
        try:
            yield
        finally:
            with self._lock:
                self._sessions -= 1
                last = self._sessions == 0
            if last:
                self.shutdown()


def _kill(worker: _Worker, *, close: bool = True) -> None:
    """SIGKILL and reap (instant: no cleanup runs in the child); closes the pipe."""
    pid, worker.pid = worker.pid, 0
    if close:
        try:
            worker.conn.close()
        except OSError:
            pass
    if pid > 0:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


POOL = WorkerPool()
session = POOL.session
keep_workers = POOL.keep_workers


class IsolatedGrader:
    """A grader that runs in ``POOL``'s workers, bounded by its time limit and the deadline.

    Built by ``build_grader`` for a grader whose traits carry an ``Isolation`` (its limit and
    its results for a sample out of time or a dead worker); its own traits are the grader's,
    marked ``isolated`` so the Scorer reaps the workers after every event.
    """

    def __init__(self, grader: Grader, pool: WorkerPool = POOL) -> None:
        traits = traits_of(grader)
        if traits.isolation is None:
            raise ValueError("IsolatedGrader needs a grader whose traits carry an Isolation")
        self.grader = grader
        self.isolation: Isolation = traits.isolation
        self.pool = pool
        self.key = pool.register(grader)
        with_traits(self, replace(traits, isolation=None, isolated=True))

    def __call__(self, sample: GradeInput) -> GradeResult:
        if self.pool._sessions == 0:
            # Called outside a Scorer event (a script, a test): reap the worker right away.
            with self.pool.session():
                return self._call(sample)
        return self._call(sample)

    def _call(self, sample: GradeInput) -> GradeResult:
        outcome = self.pool.call(self.key, sample, self.isolation.time_limit)
        if outcome == TIMED_OUT:
            return self.isolation.timeout_result()
        if outcome == CRASHED or not isinstance(outcome, GradeResult):
            return self.isolation.error_result()
        return outcome
