"""The code grader: program extraction, references, scoring, both test styles, the deadline.

Programs really run (in the sandbox's children); no timing is asserted except "returned
before the deadline" with a generous margin.
"""

from __future__ import annotations

import time

import pytest

from code.grader import extract_program, parallelism, parse_tests, same_output
from reward_kit.scoring import AGGREGATE, Scorer
from reward_kit.spec import SpecError, validate_spec

from .code_helpers import ADD_ASSERTS, ADD_IO, code_sample, metrics, reasons, use_child_python

ADD = "a, b = map(int, input().split())\nprint(a + b)"


@pytest.fixture
def scorer(monkeypatch: pytest.MonkeyPatch):
    use_child_python(monkeypatch)

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
    assert same_output(b"3  \n\n\n", "3\n")
    assert same_output(b"1 2\r\n3\t\n", "1 2\n3")
    assert not same_output(b" 3\n", "3\n")  # leading whitespace matters
    assert not same_output(b"3\n4\n", "3\n")  # extra output fails
    assert not same_output(b"", "3")


def test_references_in_both_styles_and_broken_ones() -> None:
    io = parse_tests(ADD_IO)
    assert io is not None and len(io) == 5 and io[0].stdin == b"1 2\n" and io[0].expected == "3\n"
    asserts = parse_tests({"test_code": "import math\nx = 2\nassert add(x, 1) == 3\ny = 5\nassert add(y, 1) == 6"})
    # == and != in assertions become the runner's strict equality (see the hack test below).
    assert asserts is not None and [t.code for t in asserts] == [
        "import math\nx = 2\nassert __reward_kit_equal__(add(x, 1), 3)",
        "import math\nx = 2\ny = 5\nassert __reward_kit_equal__(add(y, 1), 6)"]
    assert [t.code for t in parse_tests({"test_code": ["assert f() != 1", "f()"]}) or []] == [
        "assert not __reward_kit_equal__(f(), 1)", "f()"]
    assert parse_tests('{"tests": [{"input": "", "output": "1"}]}') is not None  # JSON text
    assert parse_tests({"answer": "x", "unit_tests": ADD_IO}, "unit_tests") == io  # reference_key
    assert parse_tests(ADD_IO, "unit_tests") is None
    for broken in (None, "text", {}, {"tests": []}, {"tests": [{"input": "1"}]}, {"tests": "x"},
                   {"test_code": "assert ("}, {"test_code": ""}, {"tests": [], "test_code": "x"},
                   {"tests": [{"input": "", "output": "1"}] * 101}):
        assert parse_tests(broken) is None, broken


def test_parallelism_fits_the_function_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODE_SANDBOX_MAX_PROCESSES", raising=False)
    assert parallelism(256, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}) == 1
    assert 1 <= parallelism(256, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048"}) <= 7
    assert parallelism(4096, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"}) == 1  # never 0
    assert parallelism(256, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "10240", "CODE_SANDBOX_MAX_PROCESSES": "3"}) == 3
    with pytest.raises(ValueError, match="CODE_SANDBOX_MAX_PROCESSES: '0' is not an integer in 1..64"):
        parallelism(256, {"CODE_SANDBOX_MAX_PROCESSES": "0"})


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


def test_samples_that_cannot_finish_before_the_deadline_get_the_minimum(scorer) -> None:
    slow = "import time\ntime.sleep(30)\nprint(3)"
    events = [code_sample(f"slow-{i}", slow, ADD_IO) for i in range(6)] + [code_sample("late", ADD, ADD_IO)]
    start = time.monotonic()
    deadline = start + 2.0
    result = scorer(timeout_seconds=30).score_event(events, deadline=deadline)
    assert time.monotonic() < deadline + 3.0  # generous: returned at the deadline, not after the sleeps
    assert len(result.outputs) == len(events)
    assert set(reasons(result.outputs).values()) == {"code_deadline"}
    assert result.values[AGGREGATE] == [0.0] * len(events)


def test_the_code_handler_scores_with_the_spec_and_warns_about_a_spec_for_another_kind(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from .helpers import fresh_handler, parse_lines

    use_child_python(monkeypatch)  # as root only: an interpreter `nobody` can run
    for module in fresh_handler("code.handler", {"grader": "code"}, monkeypatch):
        outputs = module.handler([code_sample("a", ADD, ADD_IO), {"messages": []}], None)
        assert [o["aggregate_reward_score"] for o in outputs] == [1.0, 0.0]
        logs, blobs = parse_lines(capsys.readouterr().out)
        assert logs == [] and len(blobs) == 1  # the invocation record only: no warning
    for module in fresh_handler("code.handler", {"grader": "numeric"}, monkeypatch):
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
    # The hacks pass only the != test (anything is unequal to 5): 1 of 5.
    assert result.values[AGGREGATE] == [1.0, 1.0, 0.2, 0.2, 0.2]
