"""Synth-time checks for bounded grading: grader time limits vs the function timeout, and regex
patterns compiled with the grader's own engines (RE2, else regex). Each failure is one line naming the keys."""

from __future__ import annotations

from typing import Any

import pytest

from reward_kit.deadline import grading_seconds
from stacks.config import parse_environments
from tests.stacks.config.test_config import error

FN = "environments.dev.reward_functions.f"


def raw(spec: dict[str, Any], timeout_seconds: int = 30) -> dict[str, Any]:
    return {
        "dev": {
            "training": {"bucket": "amzn-s3-demo-bucket", "data_prefix": "rft/train", "output_prefix": "rft/out"},
            "reward_functions": {
                "f": {
                    "kind": "rlvr",
                    "reward_spec": spec,
                    "timeout_seconds": timeout_seconds,
                    "target_evaluations_per_second": 10,
                    "expected_seconds_per_sample": 0.05,
                }
            },
        }
    }


def test_a_math_limit_longer_than_the_function_timeout_fails_naming_both():
    message = error(raw({"grader": "math", "timeout_seconds": 60}, timeout_seconds=30))
    assert message.startswith(f"{FN}.reward_spec.timeout_seconds: 60 s cannot fit in {FN}.timeout_seconds 30 ")
    assert "28 s" in message  # what is left for grading after the runtime's margin


def test_a_multi_component_limit_is_checked_too():
    spec = {"grader": "multi", "graders": {"label": {"grader": "label", "labels": ["a"]},
                                           "maths": {"grader": "math", "timeout_seconds": 29}}}
    message = error(raw(spec, timeout_seconds=30))
    component = f"{FN}.reward_spec.graders.maths.timeout_seconds"
    assert message.startswith(f"{component}: 29 s cannot fit in {FN}.timeout_seconds 30")


def test_a_limit_that_fits_passes():
    assert grading_seconds(30) == 28
    envs = parse_environments(raw({"grader": "math", "timeout_seconds": 28}, timeout_seconds=30))
    assert envs["dev"].function("f").timeout_seconds == 30


@pytest.mark.parametrize("pattern", ["(", "[z-a]", "a**", "x\\", "a{2,1}", "\\p{Nope}", "(?P=x)"])
def test_a_pattern_neither_engine_compiles_fails_at_synth_in_one_line(pattern):
    message = error(raw({"grader": "regex", "pattern": pattern}))
    assert message.startswith(f"{FN}.reward_spec.pattern: does not compile with RE2 ("), message
    assert "nor with the regex module (" in message, message


@pytest.mark.parametrize(
    "pattern", ["(?=yes)", "(a)\\1", "(?<!no )yes", "a{1001}", "^<think>(?!.*<think>)(.*?)</think>.*$"]
)
def test_a_pattern_only_the_regex_module_runs_passes_synth(pattern):
    """Lookaround and backreferences (TRL's and open-r1's format patterns): the regex module,
    in a killable worker, at run time."""
    envs = parse_environments(raw({"grader": "regex", "pattern": pattern, "flags": ["DOTALL"]}))
    assert envs["dev"].function("f").reward_spec["pattern"] == pattern


def test_a_catastrophic_python_pattern_is_fine_with_re2():
    envs = parse_environments(raw({"grader": "regex", "pattern": "(a+)+$", "flags": ["MULTILINE", "IGNORECASE"]}))
    assert envs["dev"].function("f").reward_spec["pattern"] == "(a+)+$"
