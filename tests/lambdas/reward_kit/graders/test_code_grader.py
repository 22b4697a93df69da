"""The code grader: program extraction, references, scoring, the test styles, the deadline.

Programs really run (in the local executor: namespaces, another user); no timing is asserted
except "returned before the deadline" with a generous margin.
"""

from __future__ import annotations

import time

import pytest

from reward_kit.code_reference import AssertSuite, CallSuite, StdioSuite, parse_reference, same_output
from reward_kit.graders.code import extract_program
from reward_kit.scoring import AGGREGATE, Scorer
from reward_kit.spec import SpecError, validate_spec
from tests.lambdas.code_helpers import ADD, ADD_ASSERTS, ADD_IO, code_sample, metrics, reasons


@pytest.fixture
def scorer():
    def build(**spec):
        return Scorer({"grader": "code", "timeout_seconds": 2, **spec})

    return build


# --- pure parts ---------------------------------------------------------------------------------


def test_the_program_is_the_last_fenced_block_else_the_whole_answer() -> None:
    assert extract_program("Try:\n```python\nprint(1)\n```\nor better:\n```\nprint(2)\n```\nDone.") == "print(2)\n"
    assert extract_program("print(3)") == "print(3)"
    assert extract_program("<thinking>```python\nprint(0)\n```</thinking>\nprint(4)") == "print(4)"
    assert extract_program("```python\nprint(5)\n") == "print(5)"  # truncated: what follows the fence
    assert extract_program("<thinking>only thoughts") == ""


def test_output_comparison_tolerates_trailing_whitespace_only() -> None:
    assert same_output("3  \n\n\n", "3\n")
    assert same_output("1 2\r\n3\t\n", "1 2\n3")
    assert not same_output(" 3\n", "3\n")  # leading whitespace matters
    assert not same_output("3\n4\n", "3\n")  # extra output fails
    assert not same_output("", "3")


def test_references_in_every_supported_shape_and_broken_ones() -> None:
    io = parse_reference(ADD_IO)
    assert isinstance(io, StdioSuite) and io.size == 5 and io.cases[0] == ("1 2\n", "3\n")
    assert parse_reference('{"tests": [{"input": "", "output": "1"}]}') is not None  # JSON text
    assert parse_reference({"answer": "x", "unit_tests": ADD_IO}, "unit_tests") == io  # reference_key
    assert parse_reference(ADD_IO, "unit_tests") is None
    # APPS / TACO / verl prime_code: stdin/stdout without fn_name, call-based with it.
    apps = parse_reference({"inputs": ["1 2\n", ["3 4"]], "outputs": ["3\n", ["7"]]})
    assert isinstance(apps, StdioSuite) and apps.cases == (("1 2\n", "3\n"), ("3 4\n", "7\n"))
    calls = parse_reference({"fn_name": "add", "inputs": [[1, 2], [[1], [2]]], "outputs": [[3], [1, 2]]})
    assert isinstance(calls, CallSuite) and calls.function == "add" and calls.cases[0] == ([1, 2], [3], True)
    # LiveCodeBench: functional tests carry one JSON value per line.
    lcb = parse_reference({"func_name": "twoSum", "tests": [
        {"input": "[2,7,11,15]\n9", "output": "[0, 1]", "testtype": "functional"}]})
    assert isinstance(lcb, CallSuite) and lcb.cases == (([[2, 7, 11, 15], 9], [0, 1], False),)
    # Assert-based: top-level asserts, HumanEval's check(candidate), pytest-style functions.
    asserts = parse_reference({"test_code": "import math\nx = 2\nassert add(x, 1) == 3\nassert True\nassert add(1, 1) == 2"})
    assert isinstance(asserts, AssertSuite) and asserts.replay.units == ("a1", "a2")  # `assert True` tests nothing
    human_eval = parse_reference({"test": "def check(candidate):\n    assert candidate(1) == 2\n", "entry_point": "inc"})
    assert isinstance(human_eval, AssertSuite) and human_eval.replay.check_entry == "inc"
    pytest_style = parse_reference({"test_code": "from solution import f\ndef test_a():\n    assert f() == 1\n"
                                                 "    assert f() != 2\ndef test_b():\n    assert f() > 0\n"})
    assert isinstance(pytest_style, AssertSuite) and pytest_style.replay.units == ("f:test_a", "f:test_b")
    for broken in (None, "text", {}, {"tests": []}, {"tests": [{"input": "1"}]}, {"tests": "x"},
                   {"test_code": "assert ("}, {"test_code": ""}, {"tests": [], "test_code": "x"},
                   {"tests": [{"input": "", "output": "1"}] * 101},
                   # nothing runnable: never a pass
                   {"test_code": "def helper():\n    return 1\n"}, {"test_code": "assert True\nx = 1"},
                   {"test": "def check(candidate):\n    assert candidate(1) == 2\n"},  # no entry point
                   {"tests": [{"input": "1", "output": "1", "testtype": "functional"}]},  # no function name
                   {"fn_name": "f", "inputs": [[1]], "outputs": []},
                   {"fn_name": "not valid", "inputs": [[1]], "outputs": [1]}):
        assert parse_reference(broken) is None, broken


def test_spec_defaults_and_errors() -> None:
    spec = validate_spec({"grader": "code"})
    assert {k: spec[k] for k in ("language", "timeout_seconds", "memory_mb", "max_output_bytes", "all_or_nothing")} == {
        "language": "python", "timeout_seconds": 2.0, "memory_mb": 256, "max_output_bytes": 65536,
        "all_or_nothing": False}
    for bad, message in (
        ({"language": "rust"}, "REWARD_SPEC.language: must be one of ['python'], got 'rust'"),
        ({"timeout_seconds": 0}, "REWARD_SPEC.timeout_seconds: must be a finite number in (0, 30], got 0"),
        ({"memory_mb": 16}, "REWARD_SPEC.memory_mb: must be an integer in 64..4096, got 16"),
        ({"all_or_nothing": "yes"}, "REWARD_SPEC.all_or_nothing: must be true or false, got 'yes'"),
        ({"prelude": "def ("}, "REWARD_SPEC.prelude: must be valid Python, got a syntax error on line 1"),
        ({"prelude": 3}, "REWARD_SPEC.prelude: must be Python source of at most 20,000 characters, got 3"),
    ):
        with pytest.raises(SpecError) as info:
            validate_spec({"grader": "code", **bad})
        assert str(info.value).startswith(message)


# --- programs that run ----------------------------------------------------------------------------


def test_stdin_stdout_tests_correct_partial_wrong_extra_output(scorer) -> None:
    events = [
        code_sample("correct", ADD, ADD_IO),
        code_sample("partial", "a, b = map(int, input().split())\nprint(a + b if a < 10 else 0)", ADD_IO),
        code_sample("wrong", "print(42)", ADD_IO),
        code_sample("extra", "a, b = map(int, input().split())\nprint('The sum is', a + b)", ADD_IO),
        code_sample("debug", "a, b = map(int, input().split())\nprint(a + b)\nprint('done')", ADD_IO),
        code_sample("trailing", "a, b = map(int, input().split())\nprint(a + b, end='   \\n\\n')", ADD_IO),
        code_sample("unfenced", ADD, ADD_IO, fence=None),
        code_sample("exit0", "a, b = map(int, input().split())\nprint(a + b)\nexit(0)", ADD_IO),
    ]
    result = scorer().score_event(events)
    scores = dict(zip([e["id"] for e in events], result.values[AGGREGATE]))
    assert scores == {"correct": 1.0, "partial": 0.6, "wrong": 0.0, "extra": 0.0, "debug": 0.0, "trailing": 1.0,
                      "unfenced": 1.0, "exit0": 1.0}
    assert metrics(result.outputs[1])["tests_passed"] == 3 and metrics(result.outputs[1])["tests_wrong_answer"] == 2
    assert reasons(result.outputs)["wrong"] is None  # a wrong answer is a score, not a failure


def test_assertion_tests_correct_partial_wrong_and_early_exit(scorer) -> None:
    events = [
        code_sample("correct", "def add(a, b):\n    return a + b", ADD_ASSERTS),
        code_sample("partial", "def add(a, b):\n    return abs(a) + b", ADD_ASSERTS),
        code_sample("wrong", "def add(a, b):\n    return a * b + 7", ADD_ASSERTS),
        code_sample("missing", "def plus(a, b):\n    return a + b", ADD_ASSERTS),
        code_sample("exit", "import os\nos._exit(0)", ADD_ASSERTS),  # skips the asserts: not a pass
        code_sample("fake", "print('ok')\nimport sys\nsys.exit(0)", ADD_ASSERTS),
        code_sample("main", "def add(a, b):\n    return a + b\nif __name__ == '__main__':\n    print(add(int(input()), 1))",
                    ADD_ASSERTS),
    ]
    result = scorer().score_event(events)
    scores = dict(zip([e["id"] for e in events], result.values[AGGREGATE]))
    assert scores == {"correct": 1.0, "partial": 0.75, "wrong": 0.0, "missing": 0.0, "exit": 0.0, "fake": 0.0,
                      "main": 1.0}
    found = reasons(result.outputs)
    assert (found["wrong"], found["missing"], found["exit"], found["fake"]) == (None, "code_crash", "code_crash",
                                                                                "code_crash")


@pytest.mark.slow
def test_failure_reasons_are_distinct(scorer) -> None:
    events = [
        code_sample("syntax", "def f(:\n    pass", ADD_IO),
        code_sample("timeout", "while True:\n    pass", ADD_IO),
        code_sample("sleep", "import time\ntime.sleep(60)", ADD_IO),
        code_sample("crash", "raise ValueError('no')", ADD_IO),
        code_sample("memory", "x = bytearray(10 ** 10)", ADD_IO),
        code_sample("output", "while True:\n    print('y' * 1000)", ADD_IO),
        code_sample("file", "with open('big', 'wb') as f:\n    f.write(b'x' * 10 ** 8)", ADD_IO),
        code_sample("no_code", "<thinking>I would write a loop</thinking>", ADD_IO, fence=None),
        code_sample("bad_ref", ADD, {"tests": "nope"}),
    ]
    result = scorer(timeout_seconds=1).score_event(events)
    assert reasons(result.outputs) == {
        "syntax": "code_syntax_error", "timeout": "code_timeout", "sleep": "code_timeout", "crash": "code_crash",
        "memory": "code_memory_limit", "output": "code_output_limit", "file": "code_file_limit",
        "no_code": "no_code", "bad_ref": "invalid_reference"}
    assert result.values[AGGREGATE] == [0.0] * len(events)
    assert metrics(result.outputs[0])["tests_syntax_error"] == 5


def test_all_or_nothing_and_format_score(scorer) -> None:
    partial = code_sample("partial", "def add(a, b):\n    return abs(a) + b", ADD_ASSERTS)
    wrong = code_sample("wrong", "def add(a, b):\n    return 99", ADD_ASSERTS)
    syntax = code_sample("syntax", "def add(a, b) return", ADD_ASSERTS)
    result = scorer(all_or_nothing=True, format_score=0.1).score_event([partial, wrong, syntax])
    assert result.values[AGGREGATE] == [0.0, 0.1, 0.0]  # partial: a pass but not all; format credit needs 0 passes


def test_code_beside_a_format_check_in_multi(scorer, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = {"grader": "multi", "graders": {"tests": {"grader": "code"}, "format": {"grader": "regex",
                                                                                   "pattern": "```python\\n"}},
            "weights": {"tests": 0.8, "format": 0.2}}
    result = Scorer(spec).score_event([code_sample("ok", ADD, ADD_IO), code_sample("plain", ADD, ADD_IO, fence="")])
    assert result.values[AGGREGATE] == [1.0, 0.8]
    assert result.values["tests"] == [1.0, 1.0] and result.values["format"] == [1.0, 0.0]


@pytest.mark.slow
def test_samples_that_cannot_finish_before_the_deadline_get_the_minimum_and_cost_only_themselves(scorer) -> None:
    # Looping programs first in the batch: the correct one after them still gets its share of
    # the time (not a queue position behind them) and scores as if it ran alone.
    slow = "import time\ntime.sleep(30)\nprint(3)"
    events = [code_sample(f"slow-{i}", slow, ADD_IO) for i in range(6)] + [code_sample("late", ADD, ADD_IO)]
    start = time.monotonic()
    deadline = start + 4.0
    result = scorer(timeout_seconds=30).score_event(events, deadline=deadline)
    assert time.monotonic() < deadline + 3.0  # generous: returned at the deadline, not after the sleeps
    assert len(result.outputs) == len(events)
    assert reasons(result.outputs) == {**{f"slow-{i}": "code_deadline" for i in range(6)}, "late": None}
    assert result.values[AGGREGATE] == [0.0] * 6 + [1.0]


def test_the_code_handler_scores_with_the_spec_and_warns_about_a_spec_for_another_kind(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.lambdas.helpers import fresh_handler, parse_lines

    for module in fresh_handler("code_grader.handler", {"grader": "code"}, monkeypatch):
        outputs = module.handler([code_sample("a", ADD, ADD_IO), {"messages": []}], None)
        assert [o["aggregate_reward_score"] for o in outputs] == [1.0, 0.0]
        logs, blobs = parse_lines(capsys.readouterr().out)
        assert logs == [] and len(blobs) == 1  # the invocation record only: no warning
    for module in fresh_handler("code_grader.handler", {"grader": "numeric"}, monkeypatch):
        module.handler([], None)
        logs, _ = parse_lines(capsys.readouterr().out)
        assert logs[0]["message"] == "code function with a spec for a rlvr function"


def test_an_object_that_equals_everything_passes_no_assertion(scorer) -> None:
    always_equal = ("class Anything:\n    def __eq__(self, other):\n        return True\n"
                    "    def __ne__(self, other):\n        return False\n    __hash__ = object.__hash__\n")
    tests = {"test_code": "assert add(1, 2) == 3\nassert add(2, 2) != 5\nassert add([1], [2]) == [1, 2]\n"
                          "assert add({'a': 1}, {}) == {'a': 1}\nassert add('a', 'b') == 'ab'"}
    honest = ("def add(a, b):\n    if isinstance(a, dict):\n        return {**a, **b}\n    return a + b")
    events = [
        code_sample("honest", honest, tests),
        code_sample("floats", "def add(a, b):\n    r = a + b\n    return float(r) if isinstance(r, int) else r",
                    {"test_code": "assert add(1, 2) == 3\nassert add(0.5, 0.25) == 0.75"}),
        code_sample("anything", always_equal + "def add(a, b):\n    return Anything()", tests),
        code_sample("in_list", always_equal + "def add(a, b):\n    return [Anything(), Anything()]", tests),
        code_sample("int_subclass", "class Int(int):\n    def __eq__(self, other):\n        return True\n"
                    "    __hash__ = int.__hash__\ndef add(a, b):\n    return Int(0)", tests),
    ]
    result = scorer().score_event(events)
    # Their values are not plain data: they never reach a comparison, even the != one.
    assert result.values[AGGREGATE] == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert set(list(reasons(result.outputs).values())[2:]) == {"code_not_plain"}


@pytest.mark.slow
def test_without_a_deadline_every_test_gets_its_whole_limit(scorer) -> None:
    # Dry runs have no deadline: the request's budget covers every run at its limit, so slow
    # but correct programs are not cut short however many tests they have.
    slow = "import time\nx = input()\ntime.sleep(0.9)\nprint(x)"
    reference = {"tests": [{"input": str(i), "output": str(i)} for i in range(14)]}
    result = scorer(timeout_seconds=1).score_event([code_sample("slow", slow, reference)])
    assert result.values[AGGREGATE] == [1.0]


@pytest.mark.slow
def test_a_mixed_batch_scores_each_sample_as_if_it_ran_alone(scorer) -> None:
    honest = [
        code_sample("io", ADD, ADD_IO),
        code_sample("asserts", "def add(a, b):\n    return a + b", ADD_ASSERTS),
        code_sample("calls", "class Solution:\n    def add(self, a: int, b: int) -> int:\n        return a + b",
                    {"fn_name": "add", "inputs": [[1, 2], [3, 4]], "outputs": [[3], [7]]}),
        code_sample("check", "def add(a, b):\n    return a + b",
                    {"test": "def check(candidate):\n    assert candidate(2, 3) == 5\n", "entry_point": "add"}),
        code_sample("pytest", "def add(a, b):\n    return a + b",
                    {"test_code": "from solution import add\ndef test_add():\n    assert add(2, 2) == 4\n"}),
        code_sample("partial", "def add(a, b):\n    return abs(a) + b", ADD_ASSERTS),
    ]
    looping = [code_sample(f"loop-{i}", "while True:\n    pass", ADD_IO) for i in range(4)]
    alone = {o["id"]: o for o in scorer(timeout_seconds=1).score_event(honest, deadline=time.monotonic() + 60).outputs}
    mixed = scorer(timeout_seconds=1).score_event(looping + honest, deadline=time.monotonic() + 60).outputs
    assert {o["id"]: o for o in mixed if not o["id"].startswith("loop")} == alone
    assert [alone[s["id"]]["aggregate_reward_score"] for s in honest] == [1.0, 1.0, 1.0, 1.0, 1.0, 0.75]
    assert {reasons([o])[o["id"]] for o in mixed if o["id"].startswith("loop")} == {"code_timeout"}
