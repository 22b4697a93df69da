"""Assert-style tests replayed in the grader (reward_kit.code_replay) against a stand-in executor.

The stand-in runs each request's calls in this process on a trusted program (no isolation:
these tests are about the replay, the real executor is tested elsewhere) and answers in the
executor's format, counting requests.
"""

from __future__ import annotations

from typing import Any, Mapping

import pytest

from reward_kit import plain_data
from reward_kit.graders.code import build
from reward_kit.scoring import AGGREGATE, Scorer
from reward_kit.spec import validate_spec
from tests.lambdas.code_helpers import code_sample, metrics, reasons


class InProcessExecutor:
    def __init__(self) -> None:
        self.requests: list[Mapping[str, Any]] = []

    def execute(self, request: Mapping[str, Any], timeout: float) -> dict[str, Any]:
        self.requests.append(request)
        runs = []
        for run in request["runs"]:
            namespace: dict[str, Any] = {}
            exec(request["prelude"] + "\n" + request["program"], namespace)
            calls = []
            for call in run["calls"]:
                function = namespace.get(call["function"]) or getattr(namespace["Solution"](), call["function"])
                try:
                    value = function(*plain_data.decode(call["args"]), **plain_data.decode(call["kwargs"]))
                except Exception as exc:  # noqa: BLE001
                    calls.append({"status": "error", "error": type(exc).__name__})
                    continue
                if type(value) is str and value == "LOOP":  # stands for a call the executor had to kill
                    calls.append({"status": "timeout"})
                    continue
                try:
                    calls.append({"status": "ok", "value": plain_data.encode(value)})
                except plain_data.NotPlain:
                    calls.append({"status": "not_plain"})
            runs.append({"status": "ok", "seconds": 0.0, "calls": calls})
        return {"version": 1, "status": "ok", "runs": runs}


def grade(program: str, reference: Any, **spec: Any) -> tuple[float, str | None, dict[str, float], int]:
    executor = InProcessExecutor()
    validated = validate_spec({"grader": "code", **spec})
    scorer = Scorer(validated, grader=build(validated, executor=executor))
    result = scorer.score_event([code_sample("s", program, reference)])
    return (result.values[AGGREGATE][0], reasons(result.outputs)["s"], metrics(result.outputs[0]),
            len(executor.requests))


ADD = "def add(a, b):\n    return a + b"


def test_calls_that_depend_on_earlier_results_take_rounds() -> None:
    # HumanEval/32's shape: the second call needs the first one's value.
    program = "def poly(xs, x):\n    return sum(c * x ** i for i, c in enumerate(xs))\ndef find_zero(xs):\n    return -xs[0] / xs[1]"
    test = ("def check(candidate):\n    import math, random\n    rng = random.Random(3)\n    for _ in range(20):\n"
            "        coeffs = [rng.randint(1, 9), rng.randint(1, 9)]\n        solution = candidate(coeffs)\n"
            "        assert math.fabs(poly(coeffs, solution)) < 1e-4\n")
    score, reason, _, requests = grade(program, {"test": test, "entry_point": "find_zero"})
    assert (score, reason, requests) == (1.0, None, 2)


def test_the_random_module_is_seeded_alike_in_every_round() -> None:
    test = "import random\nfor i in range(30):\n    x, y = random.randint(0, 99), random.randint(0, 99)\n    assert add(x, y) == x + y"
    assert grade(ADD, {"test_code": test})[0] == 1.0


def test_program_exceptions_crash_and_pytest_raises_catches_them() -> None:
    program = "def inv(x):\n    if x == 0:\n        raise ZeroDivisionError('no')\n    return 1 / x"
    assert grade(program, {"test_code": "assert inv(0) == 0"})[:2] == (0.0, "code_crash")
    reference = {"test_code": "import pytest\ndef test_zero():\n    with pytest.raises(ZeroDivisionError):\n"
                              "        inv(0)\ndef test_half():\n    assert inv(2) == pytest.approx(0.5)\n"}
    assert grade(program, reference)[0] == 1.0
    # A test that expects another exception, or none, fails.
    assert grade(program, {"test_code": "import pytest\ndef test_x():\n    with pytest.raises(KeyError):\n"
                                        "        inv(0)\n"})[0] == 0.0


def test_a_timeout_cannot_be_swallowed_by_the_test_code() -> None:
    program = "def slow(x):\n    return 'LOOP'"  # the stand-in reports a timeout
    test = "def test_it():\n    try:\n        slow(1)\n    except Exception:\n        pass\n"
    assert grade(program, {"test_code": test})[:2] == (0.0, "code_timeout")
    bare = "def test_it():\n    try:\n        slow(1)\n    except:\n        pass\n    assert True\n"
    assert grade(program, {"test_code": bare})[:2] == (0.0, "code_timeout")


def test_leetcode_solution_classes_and_call_based_references() -> None:
    program = "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n" \
              "        seen = {}\n        for i, n in enumerate(nums):\n            if target - n in seen:\n" \
              "                return [seen[target - n], i]\n            seen[n] = i"
    assert grade(program, {"test_code": "assert Solution().twoSum([2, 7, 11, 15], 9) == [0, 1]"})[0] == 1.0


def test_a_test_that_never_calls_the_program_earns_nothing() -> None:
    test = "def test_trivial():\n    x = 1\n    assert x == 1\ndef test_real():\n    assert add(1, 1) == 2\n"
    score, _, found, _ = grade(ADD, {"test_code": test})
    assert score == 0.5 and found["tests_total"] == 2


@pytest.mark.hostile
def test_program_values_never_decide_a_comparison() -> None:
    # The stand-in encodes like the executor: objects are not plain data, so every trick fails.
    trick = ("class T:\n    def __eq__(self, o): return True\n    def __lt__(self, o): return True\n"
             "    def __gt__(self, o): return True\n    def __contains__(self, o): return True\n"
             "    def __float__(self): return 0.3\n    __hash__ = object.__hash__\ndef f(*a):\n    return T()")
    for test in ("assert f() == 1", "assert f() in [1]", "assert 1 in f()", "assert 0 < f() < 2",
                 "assert abs(f() - 0.3) < 1e-9", "import math\nassert math.isclose(f(), 0.3)",
                 "assert f()", "assert [f()] == [1]", "def check(candidate):\n    assert candidate() == 1\ncheck(f)"):
        assert grade(trick, {"test_code": test})[:2] == (0.0, "code_not_plain"), test


@pytest.mark.hostile
def test_program_proxies_are_not_values() -> None:
    # `candidate == candidate` or truthiness of the function itself says nothing about the program.
    for test in ("assert add == add", "assert add", "assert str(add)", "assert add is not None and add(1, 1) == 2"):
        score, _, _, _ = grade(ADD, {"test_code": test})
        assert score == (1.0 if "is not None" in test else 0.0), test


def test_a_program_with_many_rounds_stops_at_the_round_limit() -> None:
    # Each call's argument is the previous call's value: one round per call, at most MAX_ROUNDS.
    program = "def step(x):\n    return x + 1"
    test = "x = 0\nfor _ in range(20):\n    x = step(x)\nassert x == 20"
    score, reason, _, requests = grade(program, {"test_code": test})
    assert (score, reason, requests) == (0.0, "code_crash", 6)


def test_a_program_function_named_like_a_builtin_is_the_programs() -> None:
    program = "def filter(xs):\n    return [x for x in xs if x > 0]"
    assert grade(program, {"test_code": "assert filter([-1, 2]) == [2]"})[0] == 1.0


def test_a_program_exception_outside_an_assert_stops_the_tests_after_it_as_a_crash() -> None:
    program = "def parse(s):\n    return int(s)"
    test = "x = parse('1')\nassert x == 1\ny = parse('a')\nassert y == 2\nassert parse('3') == 3"
    score, reason, found, _ = grade(program, {"test_code": test})
    assert score == pytest.approx(1 / 3) and found["tests_crash"] == 2 and reason is None
