"""Patterns RE2 cannot compile (lookaround, backreferences) run with the ``regex`` module, in a
killable worker, under the sample's budget; RE2 stays the engine of every pattern it accepts.

Format patterns users bring from TRL and open-r1:
- TRL ``trl/rewards/format_rewards.py`` ``think_format_reward``: ``^<think>(?!.*<think>)(.*?)</think>.*$``
  with ``re.DOTALL`` (the completion must open with one reasoning block, not nested);
- open-r1 ``src/open_r1/rewards.py`` ``format_reward``:
  ``^<think>\\n.*?\\n</think>\\n<answer>\\n.*?\\n</answer>$`` with ``re.DOTALL | re.MULTILINE``
  (RE2 runs this one: it stays on RE2).
"""

from __future__ import annotations

import os
import time

import pytest

from reward_kit.graders import build_grader, traits_of
from reward_kit.patterns import RE2, REGEX, compile_pattern
from reward_kit.scoring import Scorer
from reward_kit.spec import validate_spec
from tests.lambdas.helpers import fresh_handler

TRL_THINK = r"^<think>(?!.*<think>)(.*?)</think>.*$"
OPEN_R1_FORMAT = r"^<think>\n.*?\n</think>\n<answer>\n.*?\n</answer>$"
THINK_SPEC = {"grader": "regex", "pattern": TRL_THINK, "flags": ["DOTALL"], "target": "response"}
# Lookahead over an alternation of equal branches: exponential backtracking on "aaaa...".
CATASTROPHIC = {"grader": "regex", "pattern": r"^(?=(a|a)*c)", "target": "response"}


def sample(sample_id: str, response: str) -> dict:
    return {"id": sample_id, "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": response}]}


def scores(outputs) -> dict:
    return {o["id"]: o["aggregate_reward_score"] for o in outputs}


def reasons(outputs) -> dict:
    return {o["id"]: [m["name"] for m in o["metrics_list"] if m["name"].startswith("failure_")] for o in outputs}


def test_re2_stays_the_engine_of_patterns_it_accepts():
    assert compile_pattern(OPEN_R1_FORMAT, ["DOTALL", "MULTILINE"]).engine == RE2
    assert compile_pattern(TRL_THINK, ["DOTALL"]).engine == REGEX
    assert compile_pattern(r"(\w+) \1").engine == REGEX
    # Only the backtracking engine needs the killable worker.
    assert traits_of(build_grader(validate_spec({"grader": "regex", "pattern": "a+"}))).isolated is False
    assert traits_of(build_grader(validate_spec(THINK_SPEC))).isolated is True


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("<think>\nThis is my reasoning.\n</think>\nThis is my answer.", 1.0),
        ("<think>\nThis is my reasoning.\nThis is my answer.", 0.0),  # never closed
        ("<think>\nThis is <think>my</think> reasoning.\n</think>\nThis is my answer.", 0.0),  # nested
        ("This is my answer.<think>\nlate\n</think>", 0.0),  # does not open with it
        ("<think></think>", 1.0),
    ],
)
def test_trls_think_format_pattern_scores_as_trl_does(response, expected):
    result = Scorer(THINK_SPEC).score_event([sample("s", response)])
    assert scores(result.outputs) == {"s": expected}
    assert not result.failures


def test_a_backreference_pattern_in_a_multi_spec():
    spec = {"grader": "multi", "graders": {
        "repeat": {"grader": "regex", "pattern": r"\b(\w+) \1\b", "target": "response"},
        "label": {"grader": "label", "labels": ["yes", "no"]},
    }}
    outputs = Scorer(spec).score_event([
        {**sample("a", "the the answer: yes"), "reference_answer": "yes"},
        {**sample("b", "the answer: yes"), "reference_answer": "yes"},
    ]).outputs
    rewards = {o["id"]: {m["name"]: m["value"] for m in o["metrics_list"] if m["type"] == "Reward"} for o in outputs}
    assert rewards == {"a": {"repeat": 1.0, "label": 1.0}, "b": {"repeat": 0.0, "label": 1.0}}


class Context:
    aws_request_id = "req-regex"

    def __init__(self, remaining_ms: int) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + remaining_ms / 1000
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_ms - (time.monotonic() - self.started) * 1000)


def children_cpu_ticks() -> int:
    """CPU ticks (user + system) of this process's live children, from /proc."""
    me, total = os.getpid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and fields[0] not in ("Z", "X"):
                total += int(fields[11]) + int(fields[12])
    return total


@pytest.fixture
def catastrophic_handler(monkeypatch):
    yield from fresh_handler("rlvr.handler", CATASTROPHIC, monkeypatch)


@pytest.mark.parametrize("remaining_ms", [1500, 6000])
def test_a_catastrophic_lookaround_costs_one_sample_and_the_invocation_ends_in_time(
    catastrophic_handler, capsys, remaining_ms
):
    """Under a short deadline the sample's budget is the time left; under a long one, the
    grader's 2 s limit. Either way the other samples are scored, the invocation returns before
    its deadline, and nothing is still computing afterwards."""
    event = [sample("ok", "aaac"), sample("no", "b"), sample("slow", "a" * 40)]
    context = Context(remaining_ms)
    outputs = catastrophic_handler.handler(event, context)
    returned = time.monotonic()
    capsys.readouterr()
    assert returned < context.deadline
    assert scores(outputs) == {"ok": 1.0, "slow": 0.0, "no": 0.0}
    assert reasons(outputs) == {"ok": [], "slow": ["failure_grader_timeout"], "no": []}
    ticks = children_cpu_ticks()
    time.sleep(0.5)
    assert children_cpu_ticks() - ticks <= 5, "a worker is still matching after the handler returned"
