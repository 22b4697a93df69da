"""The 6 MB response limit, measured the way the Lambda runtime serializes the response.

awslambdaric (the Python runtime interface client) turns the handler's return value into JSON
with simplejson, ``ensure_ascii=False`` on the python3.12+ runtimes (non-ASCII characters sent
as UTF-8, the bytes they took in the request) and ``\\uXXXX`` escapes on older ones, then posts
it as UTF-8. These tests serialize responses with that very code (the ``awslambdaric`` package,
``LambdaMarshaller.marshal_response``), not with ``json.dumps``.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reward_kit import names, response_limit
from tests.lambdas.helpers import fresh_handler

LAMBDA_MAX_BYTES = 6 * 1024 * 1024
RUNTIME_313 = "AWS_Lambda_python3.13"
SPEC = {
    "grader": "multi",
    "graders": {"label": {"grader": "label", "labels": ["positive", "negative"]},
                "format": {"grader": "regex", "pattern": "boxed", "target": "response"}},
}


def runtime_bytes(value, execution_env: str | None, monkeypatch) -> bytes:
    """The response body the Lambda runtime posts for ``value`` (awslambdaric's own code)."""
    from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller

    if execution_env is None:
        monkeypatch.delenv(names.ENV_LAMBDA_EXECUTION_ENV, raising=False)
    else:
        monkeypatch.setenv(names.ENV_LAMBDA_EXECUTION_ENV, execution_env)
    body, content_type = LambdaMarshaller().marshal_response(value)
    assert content_type == "application/json"
    return body.encode("utf-8")  # as LambdaRuntimeClient.post_invocation_result sends it


@pytest.fixture
def handler_313(monkeypatch):
    """The rlvr handler as it runs on the python3.13 runtime (AWS_EXECUTION_ENV set first: the
    Scorer reads it once)."""
    monkeypatch.setenv(names.ENV_LAMBDA_EXECUTION_ENV, RUNTIME_313)
    yield from fresh_handler("rlvr.handler", SPEC, monkeypatch)


def test_the_stacks_runtime_writes_non_ascii_as_utf8():
    """The claim below holds on the runtime the stack deploys (python3.13)."""
    from stacks.lambda_plumbing import LAMBDA_RUNTIME

    assert not response_limit.runtime_escapes_non_ascii({names.ENV_LAMBDA_EXECUTION_ENV: f"AWS_Lambda_{LAMBDA_RUNTIME.name}"})
    assert response_limit.runtime_escapes_non_ascii({names.ENV_LAMBDA_EXECUTION_ENV: "AWS_Lambda_python3.11"})
    assert response_limit.runtime_escapes_non_ascii({})  # unknown: measured the longer, escaped way


_IDS = st.one_of(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30), st.integers())
_OUTPUTS = st.lists(
    st.fixed_dictionaries({
        "id": _IDS,
        "aggregate_reward_score": st.floats(-1e6, 1e6, allow_nan=False),
        "metrics_list": st.lists(st.fixed_dictionaries({
            "name": st.text(min_size=1, max_size=12).filter(lambda s: s.encode("utf-8", "ignore").decode() == s),
            "value": st.floats(allow_nan=False, allow_infinity=False),
            "type": st.sampled_from(["Reward", "Metric"]),
        }), max_size=4),
    }),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(outputs=_OUTPUTS, execution_env=st.sampled_from([RUNTIME_313, "AWS_Lambda_python3.11", None]))
def test_sizes_are_the_runtimes_bytes_and_the_bound_holds(outputs, execution_env):
    with pytest.MonkeyPatch.context() as monkeypatch:
        actual = len(runtime_bytes(outputs, execution_env, monkeypatch))
        escape = response_limit.runtime_escapes_non_ascii()
    assert response_limit.response_bytes(outputs, escape) == actual
    assert response_limit.response_size_bound(outputs, escape) >= actual


def id_heavy_event(max_bytes: int, make_id) -> list[dict]:
    """Valid samples with non-ASCII ids, as many as fit in ``max_bytes`` of UTF-8 JSON."""
    event, size, index = [], 1, 0
    while True:
        sample = {"id": make_id(index), "messages": [{"role": "assistant", "content": "\\boxed{positive}"}],
                  "reference_answer": "positive"}
        sample_size = len(json.dumps(sample, ensure_ascii=False, separators=(",", ":")).encode("utf-8")) + 1
        if size + sample_size > max_bytes:
            return event
        event.append(sample)
        size += sample_size
        index += 1


@pytest.mark.parametrize(
    "make_id",
    [
        pytest.param(lambda i: "評価" * 500 + str(i), id="long-cjk-ids"),  # 3 UTF-8 bytes, 6 escaped
        pytest.param(lambda i: "😀" * 40 + str(i), id="emoji-ids"),  # 4 UTF-8 bytes, 12 escaped
        pytest.param(lambda i: f"é{i}", id="short-ids"),
    ],
)
def test_a_request_near_6_mb_with_non_ascii_ids_gets_a_response_under_6_mb(handler_313, monkeypatch, capsys, make_id):
    module = handler_313
    event = id_heavy_event(LAMBDA_MAX_BYTES - 1024, make_id)
    request = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert LAMBDA_MAX_BYTES - 4096 < len(request) < LAMBDA_MAX_BYTES
    outputs = module.handler(json.loads(request), None)
    body = runtime_bytes(outputs, RUNTIME_313, monkeypatch)
    assert len(body) <= response_limit.RESPONSE_LIMIT_BYTES < LAMBDA_MAX_BYTES
    assert [o["id"] for o in outputs] == [s["id"] for s in event]
    assert all(o["aggregate_reward_score"] == 1.0 for o in outputs)
    # Only what had to go went: entries are dropped until the real bytes fit, so a trimmed
    # response ends within one output's entries of the limit (measuring the ids escaped, 2-3x
    # their real bytes, used to drop every entry of every output).
    if any(len(o.get("metrics_list", ())) < 5 for o in outputs):
        assert len(body) > response_limit.RESPONSE_LIMIT_BYTES - 1024
    assert any("metrics_list" in o for o in outputs)
    capsys.readouterr()


def test_an_id_the_runtime_cannot_encode_is_invalid_not_a_failed_invocation(handler_313, monkeypatch, capsys):
    """A lone surrogate ("\\ud800" in the request JSON) parses into a str that UTF-8 cannot
    carry: the runtime would fail the whole invocation after the handler returned."""
    module = handler_313
    good = {"id": "é-1", "messages": [{"role": "assistant", "content": "\\boxed{positive}"}], "reference_answer": "positive"}
    event = json.loads('[{"id": "x\\ud800", "messages": [{"role": "assistant", "content": "positive"}]}, ' + json.dumps(good) + "]")
    outputs = module.handler(event, None)
    runtime_bytes(outputs, RUNTIME_313, monkeypatch)  # encodes
    assert [o["id"] for o in outputs] == ["invalid-id-0", "é-1"]
    assert outputs[0]["metrics_list"][-1]["name"] == "failure_invalid_id"
    assert outputs[1]["aggregate_reward_score"] == 1.0
    capsys.readouterr()
