"""The processes behind ``reward_kit.isolation.WorkerPool``: the fork server, the workers it
forks, and the parent's side of their protocol (``ForkServerOwner``: start, restart and stop
the fork server, spawn a worker through it, retire one).

The fork server is forked from the warm handler process before any thread of the handler
exists; it never runs a thread and closes every inherited descriptor but its control pipe, so
the workers it forks are safe whatever threads the parent runs later. It answers two requests
on its pipe: ``spawn`` (fork a worker on the pipe end sent with it) and ``reap`` (kill and reap
one). A worker sets its address-space limit, says it is ready, then grades what arrives.

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
from multiprocessing.connection import Connection, Pipe
from multiprocessing.reduction import recv_handle, send_handle
from typing import Any

from reward_kit.deadline import run_with_deadline

# Address space a worker may add to what it inherited, split between the workers: half of the
# function's memory (Lambda sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE), at least this much each.
DEFAULT_MEMORY_MB = 2048
MIN_WORKER_MEMORY_MB = 64  # math-verify on real answers needs well under 48 MB more
# The fork server answers a spawn request in milliseconds (one fork); past this it is broken.
SPAWN_TIMEOUT_SECONDS = 5.0

# Outcomes of one isolated call (besides a GradeResult).
TIMED_OUT = "timed_out"
CRASHED = "crashed"

# key -> grader, inherited by the fork server (and so by every worker) when it is forked.
# Weak: a dropped Scorer frees its graders.
_REGISTRY: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_NEXT_KEY = iter(range(1, 1 << 62))
_REGISTRY_LOCK = threading.Lock()


def register_grader(grader: Any) -> int:
    """Register ``grader`` for the fork servers forked from now on; its key for a call."""
    with _REGISTRY_LOCK:
        key = next(_NEXT_KEY)
        _REGISTRY[key] = grader
    return key


def _memory_limit_bytes(workers: int) -> int:
    try:
        total_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "") or DEFAULT_MEMORY_MB)
    except ValueError:
        total_mb = DEFAULT_MEMORY_MB
    return max(MIN_WORKER_MEMORY_MB, total_mb // (2 * max(1, workers))) * 1024 * 1024


class ForkServerProcess:
    """The single-threaded process that forks the workers (this process's child)."""

    __slots__ = ("pid", "conn", "generation", "dead")

    def __init__(self, pid: int, conn: Connection, generation: int) -> None:
        self.pid = pid
        self.conn = conn
        self.generation = generation
        self.dead = False  # exited and reaped: its workers' pids may belong to others now


class WorkerProcess:
    """One worker: its pid, its pipe, the fork server that forked it, the samples it served."""

    __slots__ = ("pid", "conn", "server", "served")

    def __init__(self, pid: int, conn: Connection, server: ForkServerProcess) -> None:
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


def _alive(pid: int) -> bool:
    """Whether our child ``pid`` is still running (an exited one is reaped here)."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == 0
    except ChildProcessError:
        return False


# --- in the handler's process --------------------------------------------------------------------


class ForkServerOwner:
    """The parent's side of the fork server, for ``WorkerPool`` (which holds its state; these
    methods run with its lock held)."""

    max_workers: int
    spawned: int
    _generation: int
    _server: ForkServerProcess | None
    _idle: list[WorkerProcess]
    _busy: set[WorkerProcess]

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
        self._server = ForkServerProcess(pid, parent_end, self._generation)

    def _spawn(self) -> WorkerProcess:
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
        return WorkerProcess(pid, parent_end, server)

    def _retire(self, worker: WorkerProcess, *, close: bool = True) -> None:
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
