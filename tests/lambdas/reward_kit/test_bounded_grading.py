"""Bounded grading: no sample can make an invocation miss its deadline, nothing runs on after.

Inputs that hold the GIL (sympy computing a huge integer power), slow but interruptible ones
(long products), and catastrophic regexes, in single-grader and multi specs, with and without
a judge (the fake Bedrock), through the RLVR and the RLAIF handlers. Every invocation must
return before its (fake) Lambda deadline with one output per sample, and afterwards no process
but the grading pool's idle workers may exist, and neither they nor any thread may burn CPU.
Deadlines are several times what a normal batch needs; nothing here asserts how fast anything is.
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from reward_kit import isolation, names
from reward_kit.graders import build_grader
from reward_kit.graders.base import GradeInput, GradeResult, GraderTraits, Isolation, traits_of, with_traits
from reward_kit.response_limit import fit_response, response_size_bound
from reward_kit.scoring import Scorer
from reward_kit.spec import validate_spec
from tests import ROOT
from tests.lambdas import processes
from tests.lambdas.fake_bedrock import _bedrock_server, bedrock  # noqa: F401 - fixtures
from tests.lambdas.helpers import make_sample, metric_values, parse_lines

REMAINING_MS = 3000  # the fake Lambda's time left when the handler starts

GIL_HOLDING = "\\boxed{9^{9^{9}}}"  # one big-integer power inside sympy: never releases the GIL
LONG_PRODUCT = "\\boxed{\\prod_{k=1}^{5000}(x+k)}"  # slow, interruptible
NESTED_POWERS = "\\boxed{10^{10^{10^{10}}}}"
CATASTROPHIC_TEXT = "a" * 40 + "!"  # (a+)+$ backtracks 2^40 times in Python's re
SLOW_MATH = (GIL_HOLDING, LONG_PRODUCT, NESTED_POWERS)

MATH = {"grader": "math", "timeout_seconds": 60}  # the deadline, not the limit, must bind
CATASTROPHIC_REGEX = {"grader": "regex", "pattern": "(a+)+$", "target": "response"}
LABEL = {"grader": "label", "labels": ["yes", "no"]}
JUDGE = {"grader": "judge", "rubric": "Reward correct answers."}

SPECS = {
    "math": MATH,
    "regex": CATASTROPHIC_REGEX,
    "multi": {"grader": "multi", "graders": {"math": MATH, "format": CATASTROPHIC_REGEX, "label": LABEL}},
    "judge+math": {"grader": "multi", "graders": {"quality": JUDGE, "math": MATH}},
    "judge+regex": {"grader": "multi", "graders": {"quality": JUDGE, "format": CATASTROPHIC_REGEX}},
}


class Context:
    aws_request_id = "req-bounded"

    def __init__(self, remaining_ms: int = REMAINING_MS) -> None:
        self.deadline = time.monotonic() + remaining_ms / 1000
        self.remaining_ms = remaining_ms
        self.started = time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_ms - (time.monotonic() - self.started) * 1000)


_BEFORE: set[int] = set()


@pytest.fixture(autouse=True)
def _children_before_the_test():
    """Children this process had before the test (jsii's node runtime, from the infra tests)."""
    _BEFORE.clear()
    _BEFORE.update(processes.child_pids())
    yield


def child_pids() -> list[int]:
    """Child processes (live or unreaped) started since the test began."""
    return processes.child_pids(exclude=_BEFORE)


def pool_processes() -> set[int]:
    """The grading pool's processes: its fork server and its workers."""
    server = isolation.POOL.server_pid
    return set(isolation.POOL.worker_pids) | ({server} if server else set())


def assert_nothing_left_running() -> None:
    """No descendant process but the grading pool's idle ones, none of them computing; no
    grading thread left, and no thread burning CPU. Idle workers may stay (they are blocked
    on their pipes; Lambda freezes the sandbox between invocations)."""
    left = processes.assert_nothing_burns_cpu(exclude=_BEFORE)
    alive = {pid for pid, proc in left.items() if proc.state != "Z"}
    assert alive <= pool_processes(), f"processes other than the idle grading pool: {alive - pool_processes()}"


def slow_event(spec_name: str) -> tuple[list[dict], list[str]]:
    """Normal samples first (they must be scored), then the slow ones."""
    normal = [make_sample("ok-1", "\\boxed{2}", "2"), make_sample("ok-2", "yes \\boxed{2}", "2")]
    if spec_name in ("regex", "judge+regex"):
        slow = [make_sample(f"slow-{i}", CATASTROPHIC_TEXT, "2") for i in range(3)]
    elif spec_name == "multi":
        slow = [make_sample(f"slow-{i}", CATASTROPHIC_TEXT + " " + text, "2") for i, text in enumerate(SLOW_MATH)]
    else:
        slow = [make_sample(f"slow-{i}", text, "2") for i, text in enumerate(SLOW_MATH)]
    event = normal + slow
    return event, [sample["id"] for sample in event]


@pytest.mark.parametrize("handler_name", ["rlvr.handler", "rlaif.handler"])
@pytest.mark.parametrize("spec_name", list(SPECS))
@pytest.mark.slow
def test_every_invocation_returns_before_its_deadline(handler_name, spec_name, bedrock, load, capsys):
    bedrock.responder = lambda index, body: '{"score": 10}'
    module = load(handler_name, SPECS[spec_name])
    event, ids = slow_event(spec_name)
    context = Context()
    outputs = module.handler(event, context)
    returned = time.monotonic()
    capsys.readouterr()
    assert returned < context.deadline, f"returned {returned - context.deadline:.2f} s after the deadline"
    assert [o["id"] for o in outputs] == ids
    assert all(isinstance(o["aggregate_reward_score"], float) for o in outputs)
    by_id = {o["id"]: o for o in outputs}
    if spec_name in ("math", "judge+math"):
        assert by_id["ok-1"]["aggregate_reward_score"] == 1.0
        # The math component's own timeout, or (with a judge) the multi grader's for samples
        # still running at the deadline.
        stopped = {"failure_grader_timeout", "failure_grader_error", "failure_judge_timeout"}
        for sample_id in ids[2:]:
            reasons = {m["name"] for m in by_id[sample_id]["metrics_list"]} & stopped
            assert reasons, by_id[sample_id]["metrics_list"]
    if spec_name == "regex":
        # RE2 answers at once, and correctly: "a...a!" does not end in a run of a's.
        assert [by_id[i]["aggregate_reward_score"] for i in ids[2:]] == [0.0, 0.0, 0.0]
    assert_nothing_left_running()


@pytest.mark.slow
def test_each_sample_gets_the_smaller_of_its_limit_and_the_time_left(load, capsys):
    # 4 slow samples, a 1 s grader limit, 2.5 s left: the first ones stop at their limit, the
    # rest at the deadline; the invocation returns in time either way.
    module = load("rlvr.handler", {"grader": "math", "timeout_seconds": 1})
    context = Context(2500)
    event = [make_sample(f"s{i}", GIL_HOLDING, "2") for i in range(4)]
    started = time.monotonic()
    outputs = module.handler(event, context)
    capsys.readouterr()
    assert time.monotonic() < context.deadline
    assert [o["id"] for o in outputs] == ["s0", "s1", "s2", "s3"]
    assert all(o["metrics_list"][-1]["name"] == "failure_grader_timeout" for o in outputs)
    # The first sample used its own limit (about 1 s), not the whole invocation.
    assert time.monotonic() - started > 1.0
    assert_nothing_left_running()


@pytest.mark.slow
def test_a_schema_pattern_that_backtracks_costs_one_sample(load, capsys):
    backtracking = {"type": "string", "pattern": "^(a+)+$"}
    spec = {"grader": "json_schema", "schema": {"type": "object", "properties": {"x": backtracking}}}
    module = load("rlvr.handler", spec)
    context = Context()
    event = [make_sample("ok", '{"x": "aaa"}', "-"), make_sample("slow", json.dumps({"x": CATASTROPHIC_TEXT}), "-")]
    outputs = module.handler(event, context)
    capsys.readouterr()
    assert time.monotonic() < context.deadline
    assert [o["aggregate_reward_score"] for o in outputs] == [1.0, 0.0]
    assert outputs[1]["metrics_list"][-1]["name"] in ("failure_grader_timeout", "failure_grader_error")
    assert not Scorer({"grader": "json_schema", "schema": {"type": "object"}}).isolated  # plain schemas stay in-process
    assert_nothing_left_running()


def test_without_a_deadline_the_grader_limit_still_holds():
    scorer = Scorer({"grader": "math", "timeout_seconds": 0.5})
    result = scorer.score_event([make_sample("a", GIL_HOLDING, "2"), make_sample("b", "\\boxed{2}", "2")])
    assert [o["aggregate_reward_score"] for o in result.outputs] == [0.0, 1.0]
    assert result.failures == {"grader_timeout": 1}
    assert_nothing_left_running()


# --- the worker pool itself -------------------------------------------------------------------


def _pid_grader(sample: GradeInput) -> GradeResult:
    return GradeResult(score=float(os.getpid() % 1000) / 1000)


def _hungry_grader(sample: GradeInput) -> GradeResult:
    # 16 GB at once: past the worker's address-space limit, so it fails at once (without the
    # limit it would page in 16 GB and run out of time or take the machine's memory).
    return GradeResult(score=float(len(bytearray(16 << 30))))


def _sleepy_grader(sample: GradeInput) -> GradeResult:
    time.sleep(60)
    return GradeResult(score=1.0)


def isolated(grader, limit: float = 5.0) -> isolation.IsolatedGrader:
    timed_out, died = GradeResult(0.0, reason="grader_timeout"), GradeResult(0.0, reason="grader_error")
    traits = GraderTraits(isolation=Isolation(limit, lambda: timed_out, lambda: died))
    return isolation.IsolatedGrader(with_traits(grader, traits))


SAMPLE = GradeInput("response", "ref", {})


def test_workers_are_recycled_after_n_samples_and_stay_idle_after_the_session(monkeypatch):
    monkeypatch.setattr(isolation, "MAX_SAMPLES_PER_WORKER", 3)
    grader = isolated(_pid_grader)
    with isolation.session(1):
        scores = [grader(SAMPLE).score for _ in range(7)]
        assert len(isolation.POOL.worker_pids) == 1
    assert len(set(scores)) == 3  # pids a, a, a, b, b, b, c
    assert scores[0] == scores[2] != scores[3] == scores[5] != scores[6]
    assert_nothing_left_running()
    assert len(isolation.POOL.worker_pids) == 1  # c, idle


def test_a_worker_past_its_time_is_killed_and_replaced():
    slow, fast = isolated(_sleepy_grader, limit=0.3), isolated(_pid_grader)
    with isolation.session(1):
        first = fast(SAMPLE).score
        assert slow(SAMPLE).reason == "grader_timeout"
        assert fast(SAMPLE).score != first  # a new worker
    assert_nothing_left_running()


def test_memory_is_limited_per_worker():
    result = isolated(_hungry_grader)(SAMPLE)
    assert result.reason == "grader_error"
    assert_nothing_left_running()


def test_math_through_build_grader_is_isolated_and_multi_says_so():
    grader = build_grader(validate_spec(MATH))
    assert isinstance(grader, isolation.IsolatedGrader)
    multi = build_grader(validate_spec(SPECS["multi"]))
    assert traits_of(grader).isolated and traits_of(multi).isolated
    assert traits_of(grader).isolation is None  # the wrapper is what runs: nothing left to wrap
    assert Scorer(SPECS["multi"]).isolated and not Scorer(LABEL).isolated
    assert grader(GradeInput("\\boxed{\\frac{1}{2}}", "0.5", {})).score == 1.0
    assert_nothing_left_running()


def test_a_session_ended_from_another_thread_wakes_the_waiting_caller():
    grader = isolated(_sleepy_grader, limit=30)
    outcome: list[GradeResult] = []
    with isolation.session(1):
        caller = threading.Thread(target=lambda: outcome.append(grader(SAMPLE)))
        caller.start()
        time.sleep(0.3)
    caller.join(5)
    assert not caller.is_alive() and outcome[0].reason == "grader_error"
    assert_nothing_left_running()


def test_shutdown_kills_and_reaps_every_pool_process():
    scorer = Scorer(MATH)
    for _ in range(3):
        result = scorer.score_event([make_sample("a", "\\boxed{1/2}", json.dumps(0.5))])
        assert result.outputs[0]["aggregate_reward_score"] == 1.0
    assert isolation.POOL.worker_pids and isolation.POOL.server_pid
    isolation.POOL.shutdown()
    assert child_pids() == [] and processes.descendants(exclude=set(_BEFORE)) == {}


# --- responses that fit Lambda's 6 MB ---------------------------------------------------------

LAMBDA_MAX_BYTES = 6 * 1024 * 1024
# The prod sentiment spec as the project shipped it (the test fixture, not the team's cdk.json).
PROD_SENTIMENT_SPEC = json.loads((ROOT / "tests" / "fixtures" / "cdk.json").read_text(encoding="utf-8"))[
    "context"]["environments"]["prod"]["reward_functions"]["sentiment"]["reward_spec"]


def smallest_valid_event(max_bytes: int) -> tuple[list[dict], int]:
    """As many of the smallest valid samples as fit in ``max_bytes`` of compact JSON."""
    event, size, index = [], 1, 0  # "[" + "]" + a comma between samples
    while True:
        sample = {"id": index, "messages": [{"role": "assistant", "content": "a"}], "reference_answer": "x"}
        sample_size = len(json.dumps(sample, separators=(",", ":"))) + 1
        if size + sample_size > max_bytes:
            return event, size
        event.append(sample)
        size += sample_size
        index += 1


@pytest.mark.slow
def test_a_request_just_under_6_mb_gets_a_response_under_6_mb(load, capsys):
    module = load("rlvr.handler", PROD_SENTIMENT_SPEC)
    event, request_bytes = smallest_valid_event(LAMBDA_MAX_BYTES - 1024)
    assert request_bytes == len(json.dumps(event, separators=(",", ":"))) < LAMBDA_MAX_BYTES
    outputs = module.handler(event, None)
    out = capsys.readouterr().out
    response_bytes = len(json.dumps(outputs))  # the longest JSON spelling (ASCII escapes, spaces)
    assert response_bytes < LAMBDA_MAX_BYTES
    assert [o["id"] for o in outputs] == list(range(len(event)))
    assert all(o["aggregate_reward_score"] == 0.0 for o in outputs)
    # Diagnostics went first; some samples still carry their Reward entries.
    assert not any(m["type"] == "Metric" for o in outputs for m in o.get("metrics_list", ()))
    assert any("metrics_list" in o for o in outputs) and not all("metrics_list" in o for o in outputs)
    logs, blobs = parse_lines(out)
    (warning,) = [r for r in logs if r["level"] == "WARNING"]
    assert warning["dropped_diagnostics"] > 0 and warning["dropped_reward_entries"] > 0
    values = metric_values(blobs)
    assert values[names.METRIC_DROPPED_DIAGNOSTICS] == [warning["dropped_diagnostics"]]
    assert values[names.METRIC_DROPPED_REWARD_ENTRIES] == [warning["dropped_reward_entries"]]
    # The distributions still hold every sample, trimmed or not.
    assert len(values[names.METRIC_AGGREGATE_REWARD]) == len(event)


def test_a_normal_batch_is_not_trimmed(load, capsys):
    module = load("rlvr.handler", PROD_SENTIMENT_SPEC)
    outputs = module.handler([make_sample(str(i), "\\boxed{positive}", "positive") for i in range(1000)], None)
    logs, blobs = parse_lines(capsys.readouterr().out)
    assert all(len(o["metrics_list"]) == 5 for o in outputs)  # 2 rewards + 3 diagnostics: untouched
    assert logs == []  # no warning line: the invocation record is all it writes
    assert names.METRIC_DROPPED_DIAGNOSTICS not in metric_values(blobs)


def test_fit_response_drops_metrics_first_then_rewards_never_ids_or_aggregates():
    outputs = [
        {"id": f"s{i}", "aggregate_reward_score": 0.5,
         "metrics_list": [{"name": "r", "value": 0.5, "type": "Reward"}, {"name": "m", "value": 1.0, "type": "Metric"}]}
        for i in range(100)
    ]
    full = len(json.dumps(outputs))
    only_rewards = len(json.dumps([{**o, "metrics_list": o["metrics_list"][:1]} for o in outputs]))
    assert response_size_bound(outputs) >= full
    assert fit_response(outputs, full) == {}
    dropped = fit_response(outputs, only_rewards + 10)
    assert dropped == {"Metric": 100} and len(json.dumps(outputs)) <= only_rewards + 10
    dropped = fit_response(outputs, only_rewards - 500)
    assert dropped["Reward"] > 0 and len(json.dumps(outputs)) <= only_rewards - 500
    assert [(o["id"], o["aggregate_reward_score"]) for o in outputs] == [(f"s{i}", 0.5) for i in range(100)]
    # Cannot fit even without metrics_list: everything optional is gone, ids and aggregates stay.
    dropped = fit_response(outputs, 10)
    assert all(set(o) == {"id", "aggregate_reward_score"} for o in outputs)


def test_the_verl_adapter_keeps_its_workers_between_calls():
    from reward_kit.verl import compute_score

    assert compute_score("math", "\\boxed{\\frac{1}{2}}", "0.5") == 1.0
    pids = isolation.POOL.worker_pids
    assert compute_score("math", "\\boxed{3}", "0.5") == 0.0
    assert isolation.POOL.worker_pids == pids != []  # no fork per sample
    assert compute_score("math", GIL_HOLDING, "0.5", {"reward_spec": {"grader": "math", "timeout_seconds": 0.5}}) == 0.0
    assert_nothing_left_running()
