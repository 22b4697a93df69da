"""The code executor's entry point: one request (one sample's program and test inputs), one response.

``handler(event, context)`` is the Lambda handler; ``code_sandbox.local`` serves the same
``execute`` behind a pipe in a namespace sandbox on a developer machine or CI. The request
and response are documented in ``code_sandbox/__init__.py``.

Around every request the executor kills every process it can signal but itself (Lambda and
the local sandbox) and empties its scratch root (``/tmp`` there) before and after; when it
cannot (a file it cannot remove), it answers ``executor_error`` instead of running anything:
a dirty environment could change another sample's result. It makes itself non-dumpable so
its children cannot read its memory or descriptors through ``/proc``. Standard library only.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from typing import Any

from code_sandbox import cleanup, runner, statuses

__all__ = ["PROTOCOL_VERSION", "execute", "handler"]

PROTOCOL_VERSION = 1
MAX_RUNS = 200
MAX_CALLS = 2_000  # per request, all runs together
MAX_PROCESSES_CAP = 16  # derived from memory and CPUs: never above this
MAX_PROCESSES_SETTING = 64  # CODE_SANDBOX_MAX_PROCESSES: at most (reward_kit.settings says the same)
MEMORY_RESERVE_MB = 128  # the executor itself
# Environment variables (names from reward_kit.names; this package may not import it: a unit test
# keeps the two in step).
ENV_MAX_PROCESSES = "CODE_SANDBOX_MAX_PROCESSES"
ENV_LAMBDA_FUNCTION = "AWS_LAMBDA_FUNCTION_NAME"
ENV_LAMBDA_MEMORY = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
LAMBDA_SCRATCH = "/tmp"
_PR_SET_DUMPABLE = 4
EXECUTOR_ERROR = "executor_error"
INVALID_REQUEST = "invalid_request"


class InvalidRequest(ValueError):
    pass


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Lambda entry point. In Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set) the scratch root is /tmp;
    anywhere else a private temporary directory (a direct call must never empty the machine's /tmp)."""
    in_lambda = bool(os.environ.get(ENV_LAMBDA_FUNCTION))
    return execute(event, sandboxed=in_lambda)


def execute(request: Any, *, sandboxed: bool) -> dict[str, Any]:
    """Run one request. ``sandboxed``: this process owns the environment (Lambda, the local
    namespace): scratch is /tmp, emptied before and after, and stray processes are killed."""
    started = time.monotonic()
    try:
        parsed = _parse(request)
    except InvalidRequest as exc:
        return {"version": PROTOCOL_VERSION, "status": INVALID_REQUEST, "error": str(exc)}
    if sandboxed:
        _not_dumpable()
        cleanup.kill_strays()
        if not cleanup.empty_directory(LAMBDA_SCRATCH):
            return _error("dirty environment: /tmp could not be emptied before the request")
        scratch = tempfile.mkdtemp(prefix="sample-", dir=LAMBDA_SCRATCH)
    else:
        scratch = tempfile.mkdtemp(prefix="code-sandbox-")
    os.chmod(scratch, 0o711)  # children (maybe another uid) reach their own directories only
    try:
        runs = _run(parsed, started, scratch)
    finally:
        if sandboxed:
            cleanup.kill_strays()
            clean = cleanup.empty_directory(LAMBDA_SCRATCH)
        else:
            try:
                cleanup.remove_tree(scratch)
                clean = True
            except OSError:
                clean = False
    if not clean:
        return _error("dirty environment: scratch space could not be emptied after the request")
    return {"version": PROTOCOL_VERSION, "status": "ok", "runs": runs}


def _error(message: str) -> dict[str, Any]:
    return {"version": PROTOCOL_VERSION, "status": EXECUTOR_ERROR, "error": message}


def _run(parsed: dict[str, Any], started: float, scratch: str) -> list[dict[str, Any]]:
    limits: runner.Limits = parsed["limits"]
    runs: list[dict[str, Any]] = parsed["runs"]
    try:
        prelude = compile(parsed["prelude"], "prelude.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
        return [_syntax(run) for run in runs]
    try:
        program = compile(parsed["program"], "solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError):
        return [_syntax(run) for run in runs]
    until = started + parsed["budget_seconds"]
    drop_to = runner.NOBODY if os.geteuid() == 0 and _can_drop() else None
    parallel = min(parsed["max_processes"] or MAX_PROCESSES_CAP, parallelism(limits.memory_mb))
    return runner.run_all(prelude, program, runs, limits, until, scratch, parallel, drop_to)


def _syntax(run: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"status": statuses.SYNTAX_ERROR, "seconds": 0.0}
    if "calls" in run:
        result["calls"] = [{"status": statuses.SYNTAX_ERROR} for _ in run["calls"]]
    return result


def parallelism(memory_mb: int, environ: Any = None) -> int:
    """Children at once: CODE_SANDBOX_MAX_PROCESSES, else what fits the function's memory (each
    child may add ``memory_mb``) and its CPUs."""
    env = os.environ if environ is None else environ
    configured = env.get(ENV_MAX_PROCESSES, "").strip()
    if configured.isdigit() and int(configured) > 0:
        return min(int(configured), MAX_PROCESSES_SETTING)
    memory = env.get(ENV_LAMBDA_MEMORY, "").strip()
    total = int(memory) if memory.isdigit() else 2048
    by_memory = (total - MEMORY_RESERVE_MB) // max(1, memory_mb)
    by_cpu = 2 * (os.cpu_count() or 1)
    return max(1, min(by_memory, by_cpu, MAX_PROCESSES_CAP))


def _can_drop() -> bool:
    """Root with CAP_SETUID (a real root), not the capability-less root of a user namespace."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16) & (1 << 7) != 0  # CAP_SETUID
    except (OSError, ValueError):
        pass
    return False


def _not_dumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 0): /proc/<executor>/mem, environ and fd become unreadable to its
    children (same user); they are reset to dumpable when they exec, not when they fork."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


# --- the request ---------------------------------------------------------------------------------


def _parse(request: Any) -> dict[str, Any]:
    if not isinstance(request, dict):
        raise InvalidRequest("the request must be a JSON object")
    if request.get("version") != PROTOCOL_VERSION:
        raise InvalidRequest(f"version must be {PROTOCOL_VERSION}")
    program, prelude = request.get("program"), request.get("prelude", "")
    if not isinstance(program, str) or not isinstance(prelude, str):
        raise InvalidRequest("program and prelude must be strings")
    limits = _limits(request.get("limits", {}))
    budget = _number(request.get("budget_seconds", limits.seconds), "budget_seconds", 0.0, 900.0)
    max_processes = request.get("max_processes")
    if max_processes is not None and not (type(max_processes) is int and 1 <= max_processes <= 64):
        raise InvalidRequest("max_processes must be an integer in 1..64")
    runs = request.get("runs")
    if not isinstance(runs, list) or not 0 < len(runs) <= MAX_RUNS:
        raise InvalidRequest(f"runs must be a list of 1..{MAX_RUNS} runs")
    if sum(_calls_in(run) for run in runs) > MAX_CALLS:
        raise InvalidRequest(f"at most {MAX_CALLS} calls per request")
    return {"program": program, "prelude": prelude, "limits": limits, "budget_seconds": budget, "runs": runs,
            "max_processes": max_processes}


def _limits(raw: Any) -> runner.Limits:
    if not isinstance(raw, dict):
        raise InvalidRequest("limits must be an object")
    seconds = _number(raw.get("seconds", 2.0), "limits.seconds", 0.001, 900.0)
    memory_mb = int(_number(raw.get("memory_mb", 256), "limits.memory_mb", 16, 10_240))
    output_bytes = int(_number(raw.get("output_bytes", 65_536), "limits.output_bytes", 1, 5_000_000))
    file_bytes = max(int(_number(raw.get("file_bytes", 1 << 20), "limits.file_bytes", 1, 1 << 30)), output_bytes + 1)
    return runner.Limits(seconds=seconds, memory_mb=memory_mb, output_bytes=output_bytes, file_bytes=file_bytes)


def _calls_in(run: Any) -> int:
    """The calls of one valid run (0 for a stdin run); raises InvalidRequest for an invalid one."""
    if not isinstance(run, dict) or ("stdin" in run) == ("calls" in run):
        raise InvalidRequest("each run has either stdin or calls")
    if "stdin" in run:
        if not isinstance(run["stdin"], str):
            raise InvalidRequest("stdin must be a string")
        return 0
    calls = run["calls"]
    if not isinstance(calls, list) or not calls:
        raise InvalidRequest("calls must be a non-empty list")
    for call in calls:
        if not (isinstance(call, dict) and isinstance(call.get("function"), str)
                and isinstance(call.get("args", []), list) and isinstance(call.get("kwargs", {}), dict)):
            raise InvalidRequest("each call has a function name, args (list) and kwargs (object)")
    return len(calls)


def _number(value: Any, name: str, low: float, high: float) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or not low <= value <= high:
        raise InvalidRequest(f"{name} must be a number in {low:g}..{high:g}")
    return float(value)
