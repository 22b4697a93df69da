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

Killing by pid is safe: a worker is the fork server's child, and the fork server reaps a
worker only when told to (after the kill), so a worker's pid cannot be reused while this
process may still signal it.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
import warnings
import weakref
from contextlib import contextmanager
from dataclasses import replace
from multiprocessing.connection import Connection, Pipe
from multiprocessing.reduction import recv_handle, send_handle
from typing import Any, Iterator

from reward_kit.deadline import remaining_seconds, run_with_deadline
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
# Address space a worker may add to what it inherited, split between the workers: half of the
# function's memory (Lambda sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE), at least this much each.
DEFAULT_MEMORY_MB = 2048
MIN_WORKER_MEMORY_MB = 64  # math-verify on real answers needs well under 48 MB more
# The fork server answers a spawn request in milliseconds (one fork); past this it is broken.
SPAWN_TIMEOUT_SECONDS = 5.0
# A replacement is forked when an event ends only with this much time left before its deadline.
TOP_UP_RESERVE_SECONDS = 0.25

# Outcomes of one isolated call (besides a GradeResult).
TIMED_OUT = "timed_out"
CRASHED = "crashed"

# key -> grader, inherited by the fork server (and so by every worker) when it is forked.
# Weak: a dropped Scorer frees its graders.
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


class _ForkServer:
    """The single-threaded process that forks the workers (this process's child)."""

    __slots__ = ("pid", "conn", "generation", "dead")

    def __init__(self, pid: int, conn: Connection, generation: int) -> None:
        self.pid = pid
        self.conn = conn
        self.generation = generation
        self.dead = False  # exited and reaped: its workers' pids may belong to others now


class _Worker:
    __slots__ = ("pid", "conn", "server", "served")

    def __init__(self, pid: int, conn: Connection, server: _ForkServer) -> None:
        self.pid = pid
        self.conn = conn
        self.server = server
        self.served = 0


# --- in the fork server and the workers ----------------------------------------------------------


def _close_inherited_fds(keep: set[int]) -> None:
    """Close every file descriptor but ``keep`` and stdio (right after fork, in the child)."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc (macOS dry runs)
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass  # the listing's own descriptor, already gone


def _fork_server_main(conn: Connection) -> None:
    """The fork server's loop: fork a worker per ``spawn``, kill and reap one per ``reap``."""
    # What it inherited from a parent that may run threads: another thread's descriptors
    # (Popen's exec-status pipe) must not live on in the workers.
    _close_inherited_fds({conn.fileno()})
    # Inherited objects are never collected here or in the workers: no finalizer closes a
    # descriptor number that now means something else, and no page is copied for GC marks.
    gc.freeze()
    die_with_parent = _parent_death_signal()
    children: set[int] = set()
    try:
        while True:
            request = conn.recv()
            if request[0] == "spawn":
                child_fd = recv_handle(conn)
                pid = os.fork()
                if pid == 0:  # a worker
                    code = 1
                    try:
                        die_with_parent()  # a worker never outlives its fork server
                        conn.close()
                        _serve(Connection(child_fd), request[1])
                        code = 0
                    finally:
                        os._exit(code)
                os.close(child_fd)
                children.add(pid)
                conn.send(pid)
            elif request[0] == "reap" and request[1] in children:
                children.discard(request[1])
                _kill_and_reap(request[1])
    except (EOFError, OSError, RuntimeError):
        pass  # the parent is gone or shut the pool down
    finally:
        for pid in children:
            _kill_and_reap(pid)


def _parent_death_signal() -> Any:
    """A function that makes the calling process get SIGKILL when its parent dies (Linux
    prctl PR_SET_PDEATHSIG); a no-op elsewhere."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (ImportError, OSError, AttributeError):
        return lambda: None
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)


def _serve(conn: Connection, extra_memory: int) -> None:
    """The worker's loop: grade what arrives until the pipe closes."""
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as statm:
            inherited = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = inherited + extra_memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, ValueError):
        pass  # no /proc or no rlimit (macOS dry runs): the time limit still holds
    conn.send_bytes(b"")  # ready: from here on it only waits on the pipe
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


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


# --- in the handler's process --------------------------------------------------------------------


class WorkerPool:
    """Grading workers shared by every isolated grader of this process, kept between calls."""

    def __init__(self, max_workers: int = 2) -> None:
        self.max_workers = max_workers
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._sessions = 0
        self._generation = 0  # bumped by register(): an older fork server lacks the new grader
        self._server: _ForkServer | None = None
        self._target = 0  # idle workers to keep ready between events (start())
        self.spawned = 0  # workers forked so far (by every fork server of this pool)

    # --- registration and start (parent) ---------------------------------------------------------

    def register(self, grader: Any) -> int:
        with _REGISTRY_LOCK:
            key = next(_NEXT_KEY)
            _REGISTRY[key] = grader
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

    def _checkout(self, wait_until: float | None) -> _Worker | None:
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

    def _checkin(self, worker: _Worker, keep: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            worker.served += 1
            current = worker.server is self._server and worker.pid > 0
            if keep and current and worker.served < MAX_SAMPLES_PER_WORKER and len(self._idle) < self.max_workers:
                self._idle.append(worker)
            else:
                self._retire(worker)
            self._lock.notify()

    def _ensure_server(self) -> None:
        """A live fork server that knows every registered grader: start (or restart) it."""
        server = self._server
        if server is not None and server.generation == self._generation and self._server_alive():
            return
        self._stop_server()
        parent_end, server_end = Pipe(duplex=True)
        with warnings.catch_warnings():
            # Python 3.12+ warns after fork() when other threads exist; a warning filter that
            # turns it into an error would raise here with the child already running. The
            # child closes what it inherited at once and never runs a thread (see the module
            # docstring).
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the fork server: never returns into the caller's code
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                _fork_server_main(server_end)
                code = 0
            finally:
                os._exit(code)
        server_end.close()
        self._server = _ForkServer(pid, parent_end, self._generation)

    def _spawn(self) -> _Worker:
        """One more worker, forked by the fork server (raises OSError if it cannot)."""
        server = self._server
        assert server is not None
        parent_end, child_end = Pipe(duplex=True)
        try:
            server.conn.send(("spawn", _memory_limit_bytes(self.max_workers)))
            send_handle(server.conn, child_end.fileno(), server.pid)
            if not server.conn.poll(SPAWN_TIMEOUT_SECONDS):
                raise OSError("the fork server did not answer")
            pid = server.conn.recv()
            # Set up and waiting on its pipe before any caller (or the handler's return) goes on.
            if not parent_end.poll(SPAWN_TIMEOUT_SECONDS):
                raise OSError("the new worker did not start")
            parent_end.recv_bytes()
        except BaseException:
            parent_end.close()
            self._stop_server()  # broken: the next call starts a new one
            raise
        finally:
            child_end.close()
        self.spawned += 1
        return _Worker(pid, parent_end, server)

    def _retire(self, worker: _Worker, *, close: bool = True) -> None:
        """SIGKILL a worker (instant: no cleanup runs in it) and have its fork server reap it."""
        pid, worker.pid = worker.pid, 0
        if close:
            try:
                worker.conn.close()
            except OSError:
                pass
        server = worker.server
        if pid <= 0 or server is not self._server or server.dead:
            return  # already retired, or its fork server is gone (it, or its death, killed it)
        try:
            os.kill(pid, signal.SIGKILL)  # not reaped yet: the pid is still this worker's
        except ProcessLookupError:
            pass
        try:
            server.conn.send(("reap", pid))
        except (OSError, ValueError):
            pass  # it has exited: the next call finds it dead and starts another

    def _server_alive(self) -> bool:
        server = self._server
        if server is None or server.dead:
            return False
        if not _alive(server.pid):
            server.dead = True  # reaped just now; its workers got SIGKILL when it died
        return not server.dead

    def _stop_server(self) -> None:
        """Kill every worker and the fork server, and reap the fork server (it reaps its workers)."""
        self._server_alive()  # a dead one's worker pids must not be signalled
        for worker in self._idle:
            self._retire(worker)
        self._idle.clear()
        # A busy worker's caller is waiting on its pipe: the kill wakes it (end of file), and
        # it closes the pipe itself (closing it here would not wake its poll()).
        for worker in list(self._busy):
            self._retire(worker, close=False)
        server, self._server = self._server, None
        if server is None or server.dead:
            return
        try:
            server.conn.close()  # end of file: it kills and reaps its workers, then exits
        except OSError:
            pass
        until = time.monotonic() + 1.0
        while time.monotonic() < until:
            try:
                if os.waitpid(server.pid, os.WNOHANG)[0]:
                    return
            except ChildProcessError:
                return
            time.sleep(0.002)
        _kill_and_reap(server.pid)

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


def _alive(pid: int) -> bool:
    """Whether our child ``pid`` is still running (an exited one is reaped here)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == 0
    except ChildProcessError:
        return False


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
