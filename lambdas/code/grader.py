"""``code`` grader: run the program in the final answer against the reference's tests.

Spec: ``{"grader": "code", "language": "python", "timeout_seconds": 2, "memory_mb": 256,
"max_output_bytes": 65536, "all_or_nothing": false}`` (bounds in ``reward_kit.spec``).

Reference (a JSON object, or its JSON text; ``reference_key``: the key of the reference object
that holds it), one of:
- ``{"tests": [{"input": "1 2\\n", "output": "3\\n"}, ...]}``: stdin/stdout tests (competitive
  programming): the program runs as ``__main__`` with ``input`` on stdin; a test passes when
  it exits 0 and its stdout equals ``output`` up to trailing whitespace (each line's, and
  trailing blank lines). Extra output fails the test.
- ``{"test_code": "assert add(1, 2) == 3\\nassert add(2, 2) == 4"}`` (or a list of such
  strings): assertion tests: each top-level ``assert`` is one test, run after the other
  top-level statements before it (setup), in the program's namespace (module ``solution``).
  A list gives one test per string.

Program: the last fenced code block of the final answer (reasoning stripped, see
``reward_kit.extraction``), else the whole final answer. Every test runs in its own sandboxed
child (``code.sandbox``), the tests of a sample in parallel, bounded process-wide.

Score: share of tests passed (``all_or_nothing``: 1 only when all pass); ``format_score``
when the program runs but passes none. Metrics: ``tests_total``, ``tests_passed`` and
``tests_<failure>`` per failure seen (``wrong_answer``, ``timeout``, ``crash``, ...). Reason
(only when nothing passed, or the sample could not be finished): ``no_code``,
``invalid_reference``, ``code_syntax_error``, ``code_timeout``, ``code_memory_limit``,
``code_output_limit``, ``code_file_limit``, ``code_crash``, ``code_sandbox_error``, and
``code_deadline`` (tests cut short by the invocation's deadline: minimum score).
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Mapping

from reward_kit.deadline import remaining_seconds
from reward_kit.extraction import final_answer_region
from reward_kit.graders.base import GradeInput, GradeResult, Grader, GraderTraits, with_traits
from reward_kit.settings import CODE_SANDBOX_MAX_PROCESSES, CODE_SANDBOX_PYTHON

from . import sandbox
from .sandbox import Limits, RunResult, run_program, unprivileged_user

__all__ = ["DEADLINE_REASON", "build", "extract_program", "parse_tests", "parallelism", "same_output"]

DEADLINE_REASON = "code_deadline"
MAX_TESTS = 100  # per reference
MAX_PROCESSES_CAP = 16  # the derived default never exceeds this
MEMORY_RESERVE_MB = 256  # kept for the handler itself
# Failures that make a sample's reason when nothing passed, most telling first.
_SEVERITY = (
    sandbox.DEADLINE, sandbox.SANDBOX_ERROR, sandbox.SYNTAX_ERROR, sandbox.MEMORY_LIMIT, sandbox.TIMEOUT,
    sandbox.OUTPUT_LIMIT, sandbox.FILE_LIMIT, sandbox.CRASH,
)
_FENCE_RE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_OPEN_FENCE_RE = re.compile(r"```[^\n`]*\n")


@dataclass(frozen=True, slots=True)
class Test:
    stdin: bytes = b""
    expected: str | None = None  # stdin/stdout test
    code: str | None = None  # assertion test


def extract_program(response: Any) -> str:
    """The last fenced code block of the final answer, else the whole final answer."""
    region = final_answer_region(response)
    blocks = _FENCE_RE.findall(region)
    if blocks:
        return str(blocks[-1])
    opening = list(_OPEN_FENCE_RE.finditer(region))
    if opening:  # an unterminated last block (a truncated answer): what follows the fence
        return region[opening[-1].end():]
    return region


def normalize_output(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).rstrip("\n")


def same_output(actual: bytes, expected: str) -> bool:
    """Equal up to trailing whitespace on each line and trailing blank lines."""
    return normalize_output(actual.decode("utf-8", "replace")) == normalize_output(expected)


STRICT_EQUAL = "__reward_kit_equal__"  # defined by the sandbox's runner (code.sandbox)


class _StrictEquality(ast.NodeTransformer):
    """``a == b`` / ``a != b`` in assertions -> the runner's strict equality: builtin values
    compare by type and value, so an object whose ``__eq__`` always says True passes nothing."""

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            return node
        call: ast.expr = ast.Call(ast.Name(STRICT_EQUAL, ast.Load()), [node.left, node.comparators[0]], [])
        if isinstance(node.ops[0], ast.NotEq):
            call = ast.UnaryOp(ast.Not(), call)
        return ast.copy_location(call, node)


@lru_cache(maxsize=256)  # several rollouts of one prompt share a reference
def _split_test_code(source: str) -> tuple[str, ...] | None:
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    asserts = [i for i, node in enumerate(module.body) if isinstance(node, ast.Assert)]
    for i in asserts:
        module.body[i] = ast.fix_missing_locations(_StrictEquality().visit(module.body[i]))
    if not asserts:
        return (source,)
    tests = []
    for index in asserts:
        body = [node for node in module.body[:index] if not isinstance(node, ast.Assert)] + [module.body[index]]
        tests.append(ast.unparse(ast.Module(body=body, type_ignores=[])))
    return tuple(tests)


def parse_tests(reference: Any, reference_key: str | None = None) -> list[Test] | None:
    """The tests a reference carries (under ``reference_key`` when given), or None when it is
    unusable (``invalid_reference``)."""
    if isinstance(reference, str):
        try:
            reference = json.loads(reference)
        except (ValueError, RecursionError):
            return None
    if reference_key is not None:
        reference = reference.get(reference_key) if isinstance(reference, Mapping) else None
    if not isinstance(reference, Mapping) or ("tests" in reference) == ("test_code" in reference):
        return None
    tests: list[Test] = []
    if "tests" in reference:
        items = reference["tests"]
        if not isinstance(items, list) or not 0 < len(items) <= MAX_TESTS:
            return None
        for item in items:
            if not (isinstance(item, Mapping) and isinstance(item.get("input", ""), str)
                    and isinstance(item.get("output"), str)):
                return None
            tests.append(Test(stdin=item.get("input", "").encode("utf-8", "surrogatepass"), expected=item["output"]))
        return tests
    code = reference["test_code"]
    sources = [code] if isinstance(code, str) else code
    if not isinstance(sources, list) or not sources:
        return None
    for source in sources:
        if not isinstance(source, str) or not source.strip():
            return None
        split = _split_test_code(source)
        if split is None:
            return None
        tests += [Test(code=test) for test in split]
    return tests if len(tests) <= MAX_TESTS else None


def parallelism(child_memory_mb: int, environ: Mapping[str, str] | None = None) -> int:
    """Children run at once, process-wide: CODE_SANDBOX_MAX_PROCESSES, else what fits the
    function's memory (each child may use ``child_memory_mb``) and its CPUs."""
    env = os.environ if environ is None else environ
    if env.get(CODE_SANDBOX_MAX_PROCESSES.env, "").strip():
        return CODE_SANDBOX_MAX_PROCESSES.read(env)
    memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "").strip()
    total_mb = int(memory) if memory.isdigit() else _machine_memory_mb()
    by_memory = (total_mb - MEMORY_RESERVE_MB) // max(1, child_memory_mb)
    by_cpu = 2 * (os.cpu_count() or 1)  # children spend part of their life starting up
    return max(1, min(by_memory, by_cpu, MAX_PROCESSES_CAP))


def _machine_memory_mb() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20))
    except (ValueError, OSError, AttributeError):
        return 1024


_EXECUTORS: dict[int, ThreadPoolExecutor] = {}


def _executor(workers: int) -> ThreadPoolExecutor:
    """One process-wide pool per size: its workers are the only threads that start children."""
    executor = _EXECUTORS.get(workers)
    if executor is None:
        executor = _EXECUTORS.setdefault(workers, ThreadPoolExecutor(workers, thread_name_prefix="code-sandbox"))
    return executor


def build(spec: Mapping[str, Any]) -> Grader:
    name = spec.get("name") or spec["grader"]
    output_bytes = int(spec.get("max_output_bytes", Limits.output_bytes))
    limits = Limits(
        wall_seconds=float(spec.get("timeout_seconds", Limits.wall_seconds)),
        memory_mb=int(spec.get("memory_mb", Limits.memory_mb)),
        output_bytes=output_bytes,
        file_bytes=max(Limits.file_bytes, output_bytes + 1),
    )
    all_or_nothing = bool(spec.get("all_or_nothing", False))
    reference_key = spec.get("reference_key")
    format_score = float(spec.get("format_score", 0.0))
    workers = parallelism(limits.memory_mb)
    python = CODE_SANDBOX_PYTHON.read() or sys.executable
    user = unprivileged_user()
    executor = _executor(workers)

    def result(score: float, reason: str | None, metrics: dict[str, float]) -> GradeResult:
        return GradeResult(score=score, rewards={name: score}, metrics=metrics, reason=reason)

    def grade(sample: GradeInput) -> GradeResult:
        program = extract_program(sample.response)
        if not program.strip():
            return result(0.0, "no_code", {"tests_total": 0.0, "tests_passed": 0.0})
        tests = parse_tests(sample.reference, reference_key)
        if tests is None:
            return result(0.0, "invalid_reference", {"tests_total": 0.0, "tests_passed": 0.0})
        left = remaining_seconds()
        deadline = None if left is None else time.monotonic() + left
        run = partial(run_program, program, limits=limits, deadline=deadline, python=python, user=user)
        statuses = _run_tests(executor, run, tests)

        counts: dict[str, int] = {}
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
        passed = counts.pop(sandbox.OK, 0)
        metrics = {"tests_total": float(len(tests)), "tests_passed": float(passed)}
        metrics.update({f"tests_{status}": float(count) for status, count in sorted(counts.items())})
        if sandbox.DEADLINE in counts:
            return result(0.0, DEADLINE_REASON, metrics)
        if sandbox.SYNTAX_ERROR in counts:
            return result(0.0, "code_syntax_error", metrics)
        credit = (1.0 if passed == len(tests) else 0.0) if all_or_nothing else passed / len(tests)
        reason = None
        if passed == 0:
            reason = next((f"code_{status}" for status in _SEVERITY if status in counts), None)
            credit = format_score if reason != "code_sandbox_error" else 0.0
        return result(credit, reason, metrics)

    return with_traits(grade, GraderTraits(concurrency=workers, timeout_reason=DEADLINE_REASON))


def _run_tests(executor: ThreadPoolExecutor, run: Any, tests: list[Test]) -> list[str]:
    """Each test's status, in order; a program that does not compile stops the rest."""
    futures: dict[Future[RunResult], Test] = {}
    for test in tests:
        if test.code is None:
            futures[executor.submit(run, stdin=test.stdin)] = test
        else:
            futures[executor.submit(run, test=test.code, nonce=secrets.token_hex(16))] = test
    statuses: dict[Future[RunResult], str] = {}
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            if future.cancelled():  # after a syntax error
                statuses[future] = sandbox.SYNTAX_ERROR
                continue
            try:
                outcome = future.result()
            except Exception:  # noqa: BLE001 - the sandbox never raises; keep it that way for the sample
                statuses[future] = sandbox.SANDBOX_ERROR
                continue
            test = futures[future]
            status = outcome.status
            if status == sandbox.OK and test.expected is not None and not same_output(outcome.stdout, test.expected):
                status = sandbox.WRONG_ANSWER
            statuses[future] = status
            if status == sandbox.SYNTAX_ERROR:
                for other in pending:
                    other.cancel()
    return [statuses.get(future, sandbox.SYNTAX_ERROR) for future in futures]
