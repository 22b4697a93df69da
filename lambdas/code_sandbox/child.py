"""What runs in a forked child of the executor: its limits, then the program (and its calls).

``run_child`` never returns. Before the program's first line the child:
- starts a new session (its own process group, killed with SIGKILL when the run ends);
- drops to uid 65534 when the executor runs as root (RLIMIT_NPROC binds below root only);
- gets its own working directory (0700) under the request's scratch root, stdin and stdout
  on files there, stderr on /dev/null, every other descriptor closed but its result pipe;
- sets RLIMIT_CPU, RLIMIT_AS (what it already maps + ``memory_mb``), RLIMIT_FSIZE,
  RLIMIT_NOFILE, RLIMIT_CORE 0 and RLIMIT_NPROC 0 (no process, no thread), and an empty
  environment.
A ``stdin`` run executes the program as ``__main__``; a ``calls`` run loads it as module
``solution``, then makes each call and writes one JSON line per call (its value as plain
data, ``code_sandbox.plain_data``) on the result pipe (descriptor 3). How it ended is its
exit code (``code_sandbox.statuses``). Standard library only.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import resource
import signal
import sys
from typing import TYPE_CHECKING, Any

from code_sandbox import plain_data
from code_sandbox.statuses import (
    BUILTIN_EXCEPTIONS,
    ERROR,
    EXIT_FILE,
    EXIT_MEMORY,
    EXIT_SETUP,
    NOT_PLAIN,
    NO_FUNCTION,
    OK,
)

if TYPE_CHECKING:
    from code_sandbox.runner import Limits

__all__ = ["run_child"]


def run_child(
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
        os._exit(EXIT_SETUP)
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
        os._exit(EXIT_MEMORY)
    except OSError as exc:
        os._exit(EXIT_FILE if exc.errno == errno.EFBIG else 1)
    os._exit(code)


def _exec(code: Any, namespace: dict[str, Any]) -> None:
    try:
        exec(code, namespace)
    except SystemExit as exc:
        value = exc.code
        _stop(0 if value is None else value if isinstance(value, int) and 0 <= value < 256 else 1)
    except MemoryError:
        os._exit(EXIT_MEMORY)
    except OSError as exc:
        os._exit(EXIT_FILE if exc.errno == errno.EFBIG else 1)
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
        os._exit(EXIT_MEMORY)
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
        os._exit(EXIT_MEMORY)
    except SystemExit:
        os._exit(1)
    except BaseException as exc:  # noqa: BLE001 - reported by name, builtin exceptions only
        kind = type(exc).__name__ if type(exc).__name__ in BUILTIN_EXCEPTIONS else "Exception"
        return {"status": ERROR, "error": kind}
    try:
        return {"status": OK, "value": plain_data.encode(value)}
    except (plain_data.NotPlain, ValueError, RecursionError):
        return {"status": NOT_PLAIN}
    except MemoryError:
        os._exit(EXIT_MEMORY)
