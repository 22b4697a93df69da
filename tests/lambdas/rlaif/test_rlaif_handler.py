"""The RLAIF Lambda handler: the shared runtime with a judge spec, against the fake Bedrock."""

from __future__ import annotations

import json
import time

import pytest

from reward_kit import names
from reward_kit.graders.judge import JudgeConfigError
from tests.lambdas.fake_bedrock import Error, _bedrock_server, bedrock  # noqa: F401 - fixtures
from tests.lambdas.helpers import fresh_handler, make_sample, metric_values, parse_lines, summary

JUDGE_SPEC = {"grader": "judge", "rubric": "Reward polite, correct answers.", "name": "quality"}
MULTI_SPEC = {
    "grader": "multi",
    "graders": {"quality": {"grader": "judge", "rubric": "Reward polite, correct answers."},
                "format": {"grader": "regex", "pattern": "Answer:", "target": "response"}},
    "weights": {"quality": 0.8, "format": 0.2},
}
SECRET_RESPONSE = "Answer: TOP-SECRET-RESPONSE-4d2e"
SECRET_REASON = "SECRET-JUDGE-REASON-77"
SECRET_PROMPT = "SECRET-USER-PROMPT-91"


class Context:
    aws_request_id = "req-rlaif"

    def __init__(self, remaining_ms: int = 900_000) -> None:
        self.remaining_ms = remaining_ms
        self.started = time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_ms - (time.monotonic() - self.started) * 1000)


@pytest.fixture
def rlaif(bedrock, monkeypatch):
    yield from fresh_handler("rlaif.handler", JUDGE_SPEC, monkeypatch)


def run(module, event, capsys, context=None):
    outputs = module.handler(event, context if context is not None else Context())
    captured = capsys.readouterr()
    return outputs, captured.out, captured.err


def test_judge_spec_scores_with_summary_and_metrics(rlaif, bedrock, capsys):
    bedrock.responder = lambda index, body: json.dumps({"score": 8, "reason": SECRET_REASON})
    event = [make_sample(f"s-{i}", f"{SECRET_RESPONSE} {i}", None) for i in range(30)] + ["junk"]
    outputs, out, err = run(rlaif, event, capsys)
    assert [o["id"] for o in outputs] == [f"s-{i}" for i in range(30)] + ["missing-id-30"]
    assert [o["aggregate_reward_score"] for o in outputs] == [0.8] * 30 + [0.0]
    assert outputs[0]["metrics_list"] == [{"name": "quality", "value": 0.8, "type": "Reward"}]
    assert bedrock.count == 30
    logs, blobs = parse_lines(out)
    assert logs == [] and len(blobs) == 1  # one record per invocation
    record = summary(blobs)
    assert record[names.METRIC_SAMPLES] == 31 and record["failures"] == {"not_an_object": 1}
    values = metric_values(blobs)
    assert values[names.METRIC_AGGREGATE_REWARD] == [0.8] * 30 + [0]
    # Neither the response, nor the judge's reason, in logs or outputs.
    for text in (out, err, json.dumps(outputs)):
        assert "TOP-SECRET-RESPONSE" not in text and SECRET_REASON not in text


def test_multi_spec_with_a_judge_component(rlaif, bedrock, capsys, monkeypatch):
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(MULTI_SPEC))
    bedrock.responder = lambda index, body: '{"score": 5}'
    outputs, out, _ = run(rlaif, [make_sample("a", SECRET_RESPONSE, "ref"), make_sample("b", "no format", None)], capsys)
    assert [o["aggregate_reward_score"] for o in outputs] == [0.6, 0.4]  # 0.8*0.5 + 0.2*{1, 0}
    assert outputs[0]["metrics_list"][:2] == [
        {"name": "quality", "value": 0.5, "type": "Reward"},
        {"name": "format", "value": 1.0, "type": "Reward"},
    ]
    assert rlaif.get_scorer().concurrency == 16
    assert "TOP-SECRET-RESPONSE" not in out


def test_deadline_returns_in_time_with_judge_timeout(rlaif, bedrock, capsys):
    bedrock.delay_seconds = 10.0
    started = time.monotonic()
    # 4 s left: the handler stops at its deadline (3.6 s, a 10% margin) while the fake judge
    # would answer after 10 s; what matters is returning before Lambda's timeout, not how fast.
    outputs, out, _ = run(rlaif, [make_sample(f"t-{i}", "text") for i in range(20)], capsys, Context(remaining_ms=4000))
    assert time.monotonic() - started < 4.0  # before the (fake) Lambda timeout
    assert [o["id"] for o in outputs] == [f"t-{i}" for i in range(20)]
    assert all(o["metrics_list"][-1]["name"] == "failure_judge_timeout" for o in outputs)
    logs, blobs = parse_lines(out)
    assert summary(blobs)["failures"] == {"judge_timeout": 20}
    assert metric_values(blobs)[names.failure_metric_name("judge_timeout")] == [20]


def test_a_context_without_remaining_time_means_no_deadline(rlaif, bedrock, capsys):
    class Bare:
        aws_request_id = "req-bare"

    outputs, _, _ = run(rlaif, [make_sample("a")], capsys, Bare())
    assert outputs[0]["aggregate_reward_score"] == 0.7


def test_access_denied_is_one_structured_error_line(rlaif, bedrock, capsys):
    bedrock.responder = lambda index, body: Error(403, "AccessDeniedException", "not authorized to perform bedrock:InvokeModel")
    run(rlaif, [make_sample(str(i), SECRET_RESPONSE) for i in range(5)], capsys)
    outputs, out, err = run(rlaif, [make_sample("again", SECRET_RESPONSE)], capsys)
    assert outputs[0]["metrics_list"][-1]["name"] == "failure_judge_error"
    assert "TOP-SECRET-RESPONSE" not in out + err
    # Logged once for the process (first invocation), not per sample or per invocation;
    # counted every invocation (JudgeError_AccessDeniedException).
    logs, blobs = parse_lines(out)
    assert "AccessDeniedException" not in json.dumps(logs) + err
    assert metric_values(blobs)[names.judge_error_metric_name("AccessDeniedException")] == [1]


def test_access_denied_error_line_is_json_with_the_code(rlaif, bedrock, capsys):
    bedrock.responder = lambda index, body: Error(403, "AccessDeniedException", "not authorized")
    _, out, err = run(rlaif, [make_sample(str(i), SECRET_RESPONSE) for i in range(5)], capsys)
    logs, _ = parse_lines(out)
    errors = [record for record in logs if record["level"] == "ERROR"]
    assert len(errors) == 1, (out, err)
    assert errors[0]["error_code"] == "AccessDeniedException" and errors[0]["http_status"] == 403
    assert "TOP-SECRET-RESPONSE" not in out + err


def test_missing_model_id_fails_the_invocation_clearly(rlaif, monkeypatch):
    monkeypatch.delenv(names.ENV_JUDGE_MODEL_ID)
    with pytest.raises(JudgeConfigError, match=r"^JUDGE_MODEL_ID: not set"):
        rlaif.handler([make_sample("a")], Context())


def test_a_spec_without_a_judge_still_works_but_warns(rlaif, capsys, monkeypatch):
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps({"grader": "regex", "pattern": "x", "target": "response"}))
    outputs, out, _ = run(rlaif, [make_sample("a", "x")], capsys)
    assert outputs[0]["aggregate_reward_score"] == 1.0
    logs, blobs = parse_lines(out)
    assert [r["level"] for r in logs] == ["WARNING"] and len(blobs) == 1
    assert logs[0]["message"] == "rlaif function with a spec for a rlvr function"


def test_sample_text_debug_flag_still_works(rlaif, capsys, monkeypatch):
    monkeypatch.setenv(names.ENV_LOG_SAMPLE_TEXT, "true")
    _, out, _ = run(rlaif, [make_sample("a", SECRET_RESPONSE, user=SECRET_PROMPT)], capsys)
    assert "TOP-SECRET-RESPONSE" in out and SECRET_PROMPT in out


def test_the_prompt_reaches_the_judge_but_never_logs_or_outputs(rlaif, bedrock, capsys):
    outputs, out, err = run(rlaif, [make_sample("a", SECRET_RESPONSE, user=SECRET_PROMPT)], capsys)
    assert outputs[0]["aggregate_reward_score"] == 0.7
    assert f"<user_prompt>\n{SECRET_PROMPT}\n</user_prompt>" in bedrock.user_text(0)
    for text in (out, err, json.dumps(outputs)):
        assert SECRET_PROMPT not in text
