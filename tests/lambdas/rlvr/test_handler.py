"""The RLVR Lambda handler: outputs, one summary log line, EMF metrics, no sample text in logs."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import warnings

import pytest

from reward_kit import names
from reward_kit.contract import EventError
from reward_kit.spec import SpecError, parse_spec_json, spec_hash
from tests import ROOT
from tests.lambdas.helpers import (
    LABEL_SPEC,
    cold_start,
    fresh_handler,
    make_sample,
    metric_values,
    parse_lines,
    summary,
)

LAMBDAS = ROOT / "lambdas"
SECRET_RESPONSE = "TOP-SECRET-RESPONSE-7f3a \\boxed{positive}"
SECRET_REFERENCE = "positive"  # the label itself is short; the metadata secret below is not
SECRET_METADATA = "CONFIDENTIAL-METADATA-91bc"


@pytest.fixture
def handler_module(monkeypatch):
    yield from fresh_handler("rlvr.handler", LABEL_SPEC, monkeypatch)


def run(module, event, capsys, context=None):
    outputs = module.handler(event, context)
    return outputs, capsys.readouterr().out


def secret_sample(sample_id="s-1"):
    sample = make_sample(sample_id, SECRET_RESPONSE, SECRET_REFERENCE)
    sample["metadata"]["note"] = SECRET_METADATA
    return sample


def test_scores_with_only_reward_spec_and_no_context(handler_module, capsys):
    outputs, _ = run(handler_module, [make_sample("a", "\\boxed{positive}"), make_sample("b", "\\boxed{negative}")], capsys)
    assert [(o["id"], o["aggregate_reward_score"]) for o in outputs] == [("a", 1.0), ("b", 0.0)]
    assert outputs[0]["metrics_list"][0] == {"name": "label", "value": 1.0, "type": "Reward"}


def test_one_record_per_invocation_and_no_sample_text_by_default(handler_module, capsys):
    class Context:
        aws_request_id = "req-123"

    _, out = run(handler_module, [secret_sample(), make_sample("bad", "")], capsys, Context())
    assert "TOP-SECRET-RESPONSE" not in out
    assert SECRET_METADATA not in out
    logs, blobs = parse_lines(out)
    assert logs == [] and len(blobs) == 1 and out.count("\n") == 1
    record = summary(blobs)
    assert record[names.METRIC_SAMPLES] == 2
    assert record[names.METRIC_FAILED_SAMPLES] == 1
    assert record["failures"] == {"empty_response": 1}
    assert record[names.SUMMARY_MEAN] == 0.5
    assert record[names.METRIC_AGGREGATE_REWARD] == [1, 0]
    assert record["service"] == "reward"
    assert record[names.METRIC_BATCH_SECONDS] >= 0


def test_debug_level_adds_a_line_with_the_request_id(handler_module, capsys):
    from reward_kit.lambda_runtime import estimate_debug_line_bytes

    class Context:
        aws_request_id = "req-dbg"

    class UuidContext:
        aws_request_id = "3f9a2c1e-7b4d-4e8f-9a21-5c6d7e8f9a0b"

    handler_module.runtime.logger.setLevel("DEBUG")
    try:
        _, out = run(handler_module, [make_sample("a"), make_sample("b", "")], capsys, Context())
        _, one = run(handler_module, [make_sample("a")], capsys, UuidContext())
    finally:
        handler_module.runtime.logger.setLevel("INFO")
    logs, blobs = parse_lines(out)
    assert len(blobs) == 1
    (line,) = logs
    assert line["level"] == "DEBUG" and line["request_id"] == "req-dbg"
    assert line["failures"] == {"empty_response": 1} and line["samples"] == 2
    # The hash in the Lambda version's description and the dry run's report (reward_kit.spec.spec_hash).
    assert line[names.SUMMARY_SPEC_HASH] == spec_hash(parse_spec_json(os.environ[names.ENV_REWARD_SPEC]))
    # The cost model's estimate of this line, for one sample without failures.
    (debug_text,) = [text for text in one.splitlines() if '"level":"DEBUG"' in text]
    assert abs(len(debug_text.encode()) + 1 - estimate_debug_line_bytes("reward", 1)) <= 10


def test_errors_carry_the_request_id(handler_module, capsys):
    class Context:
        aws_request_id = "req-err"

    with pytest.raises(EventError):
        handler_module.handler("not a list", Context())
    logs, _ = parse_lines(capsys.readouterr().out)
    assert logs[0]["level"] == "ERROR" and logs[0]["request_id"] == "req-err"


def test_sample_text_is_logged_only_with_the_debug_flag(handler_module, capsys, monkeypatch):
    monkeypatch.setenv(names.ENV_LOG_SAMPLE_TEXT, "true")
    _, out = run(handler_module, [secret_sample()], capsys)
    assert "TOP-SECRET-RESPONSE" in out
    logs, _ = parse_lines(out)
    sample_lines = [r for r in logs if r["message"] == "sample text"]
    assert len(sample_lines) == 1 and sample_lines[0]["sample_id"] == "s-1"
    monkeypatch.setenv(names.ENV_LOG_SAMPLE_TEXT, "false")
    cold_start(handler_module)
    _, out = run(handler_module, [secret_sample()], capsys)
    assert "TOP-SECRET-RESPONSE" not in out


def test_outputs_never_echo_sample_text(handler_module, capsys):
    outputs, _ = run(handler_module, [secret_sample()], capsys)
    assert "TOP-SECRET-RESPONSE" not in json.dumps(outputs)
    assert SECRET_METADATA not in json.dumps(outputs)


def test_emf_blobs_carry_every_value_of_a_1500_sample_batch(handler_module, capsys):
    event = [make_sample(f"id-{i}", "\\boxed{positive}" if i % 3 else "\\boxed{negative}") for i in range(1500)]
    event[7] = make_sample("id-7", "")
    event[8] = "junk"
    outputs, out = run(handler_module, event, capsys)
    assert [o["id"] for o in outputs][:9] == [f"id-{i}" for i in range(8)] + ["missing-id-8"]
    assert len(outputs) == 1500
    _, blobs = parse_lines(out)
    values = metric_values(blobs)
    expected = [o["aggregate_reward_score"] for o in outputs]
    assert values[names.METRIC_AGGREGATE_REWARD] == expected
    # One dimension IS the aggregate: not written twice.
    assert names.reward_metric_name("label") not in values
    assert values[names.METRIC_SAMPLES] == [1500]
    assert values[names.METRIC_FAILED_SAMPLES] == [2]
    assert values[names.failure_metric_name("empty_response")] == [1]
    assert values[names.failure_metric_name("not_an_object")] == [1]
    assert len(values[names.METRIC_BATCH_SECONDS]) == 1
    # 15 records of 100 values; the counts and the summary only in the first.
    assert len(blobs) == 15
    assert all(names.METRIC_SAMPLES not in b and names.SUMMARY_MEAN not in b for b in blobs[1:])


def test_metric_values_are_rounded_in_the_spec_range(handler_module, capsys, monkeypatch):
    spec = {**LABEL_SPEC, "format_score": 0.123456789, "range": [-1, 1]}
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(spec))
    outputs, out = run(handler_module, [make_sample("w", "\\boxed{negative}"), "junk"], capsys)
    assert outputs[0]["aggregate_reward_score"] == pytest.approx(-0.753086, abs=1e-6)
    values = metric_values(parse_lines(out)[1])
    assert values[names.METRIC_AGGREGATE_REWARD] == [-0.7531, -1]


def test_a_signed_range_also_publishes_0_to_1_copies_for_percentiles(handler_module, capsys, monkeypatch):
    # CloudWatch has no percentiles for a metric with any negative value (CloudWatch user guide: CloudWatch statistics definitions).
    spec = {**LABEL_SPEC, "name": "label", "format_score": 0.5, "range": [-1, 1]}
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(spec))
    event = [make_sample("right"), make_sample("format-only", "\\boxed{negative}"), make_sample("none", "hmm"), "junk"]
    run(handler_module, event, capsys)  # cold start of this spec
    _, out = run(handler_module, event, capsys)
    values = metric_values(parse_lines(out)[1])
    aggregate = values[names.METRIC_AGGREGATE_REWARD]
    assert aggregate == [1, 0, -1, -1]
    assert values[names.normalized_metric_name(names.METRIC_AGGREGATE_REWARD)] == [1, 0.5, 0, 0]
    copies = {name for name in values if name.startswith(names.METRIC_NORMALIZED_PREFIX)}
    # One copy per distribution the record carries (a single grader: Reward only).
    assert copies == {names.normalized_metric_name(n) for n in names.distribution_metric_names(["label"])}


def test_a_signed_multi_spec_copies_every_dimension(handler_module, capsys, monkeypatch):
    spec = {"grader": "multi", "range": [-1, 1], "graders": {"a": LABEL_SPEC, "b": {**LABEL_SPEC, "format_score": 0.5}}}
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(spec))
    _, out = run(handler_module, [make_sample("format-only", "\\boxed{negative}")], capsys)
    values = metric_values(parse_lines(out)[1])
    assert values[names.reward_metric_name("a")] == [-1] and values[names.reward_metric_name("b")] == [0]
    assert values[names.normalized_metric_name(names.reward_metric_name("a"))] == [0]
    assert values[names.normalized_metric_name(names.reward_metric_name("b"))] == [0.5]
    assert values[names.normalized_metric_name(names.METRIC_AGGREGATE_REWARD)] == [0.25]


def test_a_non_negative_range_publishes_no_copies(handler_module, capsys):
    _, out = run(handler_module, [make_sample("right")], capsys)
    assert not any(name.startswith(names.METRIC_NORMALIZED_PREFIX) for name in metric_values(parse_lines(out)[1]))


def test_invalid_event_raises_and_still_flushes_a_failure_metric(handler_module, capsys):
    with pytest.raises(EventError, match="JSON list"):
        handler_module.handler({"records": []}, None)
    logs, blobs = parse_lines(capsys.readouterr().out)
    values = metric_values(blobs)
    assert values[names.failure_metric_name("invalid_event")] == [1]
    assert values[names.METRIC_SAMPLES] == [0]
    assert logs[0]["level"] == "ERROR"
    # Nothing is left behind to leak into the next invocation's metrics.
    _, out = run(handler_module, [make_sample("a")], capsys)
    assert names.failure_metric_name("invalid_event") not in metric_values(parse_lines(out)[1])


def test_empty_event_returns_empty_list_without_warnings(handler_module, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outputs, out = run(handler_module, [], capsys)
    assert outputs == []
    values = metric_values(parse_lines(out)[1])
    assert values[names.METRIC_SAMPLES] == [0]
    assert names.METRIC_AGGREGATE_REWARD not in values


def test_bad_or_missing_spec_is_a_clear_spec_error(handler_module, monkeypatch):
    monkeypatch.setenv(names.ENV_REWARD_SPEC, '{"grader": "label"}')
    with pytest.raises(SpecError, match=r"^REWARD_SPEC\.labels: required"):
        handler_module.handler([], None)
    monkeypatch.setenv(names.ENV_REWARD_SPEC, "{not json")
    with pytest.raises(SpecError, match=r"^REWARD_SPEC: not valid JSON"):
        handler_module.handler([], None)
    monkeypatch.delenv(names.ENV_REWARD_SPEC)
    with pytest.raises(SpecError, match=r"^REWARD_SPEC: not set"):
        handler_module.handler([], None)


def test_spec_is_built_once_per_environment(handler_module, capsys):
    run(handler_module, [make_sample("a")], capsys)
    first = handler_module.get_scorer()
    run(handler_module, [make_sample("b")], capsys)
    assert handler_module.get_scorer() is first


def test_the_environment_is_read_once_per_cold_start(handler_module, capsys, monkeypatch):
    run(handler_module, [make_sample("a")], capsys)
    first = handler_module.get_scorer()
    monkeypatch.setenv(names.ENV_REWARD_SPEC, "{not json")  # a Lambda's environment never changes
    outputs, _ = run(handler_module, [make_sample("b")], capsys)
    assert handler_module.get_scorer() is first and len(outputs) == 1
    cold_start(handler_module)
    with pytest.raises(SpecError, match=r"^REWARD_SPEC: not valid JSON"):
        handler_module.handler([], None)


def test_max_response_chars_from_environment(handler_module, capsys, monkeypatch):
    monkeypatch.setenv(names.ENV_MAX_RESPONSE_CHARS, "20")
    outputs, _ = run(handler_module, [make_sample("long", "\\boxed{positive}" + " " * 10)], capsys)
    assert outputs[0]["metrics_list"][-1]["name"] == "failure_response_too_long"
    monkeypatch.setenv(names.ENV_MAX_RESPONSE_CHARS, "lots")
    cold_start(handler_module)
    with pytest.raises(ValueError, match="REWARD_MAX_RESPONSE_CHARS: 'lots' is not a positive integer"):
        handler_module.handler([], None)


def test_metrics_can_be_disabled(handler_module, capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    _, out = run(handler_module, [make_sample("a")], capsys)
    logs, blobs = parse_lines(out)
    # No EMF envelope: the summary alone, still one line (a one-sample reward is a scalar).
    assert blobs == [] and len(logs) == 1
    assert logs[0] == {"service": "reward", names.METRIC_AGGREGATE_REWARD: 1, names.METRIC_SAMPLES: 1,
                       names.METRIC_FAILED_SAMPLES: 0, names.METRIC_BATCH_SECONDS: logs[0][names.METRIC_BATCH_SECONDS]}
    _, out = run(handler_module, [make_sample("a"), make_sample("b")], capsys)
    (line,) = parse_lines(out)[0]
    assert names.METRIC_AGGREGATE_REWARD not in line and line[names.SUMMARY_MEAN] == 1


def test_log_bytes_per_sample_are_far_below_a_naive_handler(handler_module, capsys):
    # A realistic sample: a prompt and a reasoning response of a few hundred characters.
    event = [
        make_sample(f"id-{i}", "<thinking>" + "the review praises the food " * 15 + "</thinking>\\boxed{positive}",
                    user="Classify the sentiment of this restaurant review: " + "lovely place " * 20)
        for i in range(1000)
    ]
    naive_bytes = sum(len(json.dumps(sample, indent=2)) + 1 for sample in event)
    _, out = run(handler_module, event, capsys)
    assert len(out.encode()) * 50 < naive_bytes, (len(out), naive_bytes)


def test_namespace_and_service_follow_powertools_env(monkeypatch, capsys):
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(LABEL_SPEC))
    monkeypatch.setenv(names.ENV_POWERTOOLS_METRICS_NAMESPACE, "Custom/NS")
    monkeypatch.setenv(names.ENV_POWERTOOLS_SERVICE_NAME, "sentiment")
    import rlvr.handler as module

    try:
        module = importlib.reload(module)
        module.handler([make_sample("a")], None)
        logs, blobs = parse_lines(capsys.readouterr().out)
        assert logs == []
        assert {b["_aws"]["CloudWatchMetrics"][0]["Namespace"] for b in blobs} == {"Custom/NS"}
        assert {b["service"] for b in blobs} == {"sentiment"}
    finally:
        monkeypatch.undo()
        module.runtime.metrics.clear_metrics()
        importlib.reload(module)


@pytest.mark.parametrize("level", ["WARN", "FATAL"])
def test_an_application_log_level_that_drops_the_record_is_reported_at_cold_start(monkeypatch, capsys, level):
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(LABEL_SPEC))
    monkeypatch.setenv(names.ENV_LAMBDA_LOG_LEVEL, level)
    import rlvr.handler as module

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Powertools' own ALC/level mismatch warning
            importlib.reload(module)
        logs, _ = parse_lines(capsys.readouterr().out)
        (line,) = logs
        assert line["level"] == "CRITICAL" and "drops the per-invocation metrics record" in line["message"]
    finally:
        monkeypatch.undo()
        importlib.reload(module)


def test_import_is_light():
    # No grader dependencies or AWS SDK at import: they would slow every cold start.
    # (Powertools imports the bare `botocore` package for its user agent: ~1 ms, allowed.)
    code = (
        "import sys, time; t = time.perf_counter(); import rlvr.handler; "
        "elapsed = time.perf_counter() - t; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'math_verify', 'jsonschema', 'boto3', 'sympy'} "
        "or m.startswith('botocore.')); "
        "print(heavy, elapsed)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=LAMBDAS, capture_output=True, text=True, check=True)
    heavy, _elapsed = out.stdout.rsplit(" ", 1)
    assert heavy == "[]"  # the import time itself is a `make bench` target, not a test assertion
