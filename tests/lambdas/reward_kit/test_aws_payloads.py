"""AWS's own sample payload shapes (Amazon Bedrock user guide: Setting up reward functions
for Amazon Nova models; AWS's sample RFT notebooks), scored as AWS's sample Lambdas
score them. The payloads are written here in those shapes, not copied from AWS's files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reward_kit import names
from reward_kit.contract import EventError
from reward_kit.scoring import Scorer
from tests.lambdas.helpers import fresh_handler

NUMERIC = {"grader": "numeric", "format_score": 0.1}
MATH = {"grader": "math"}

GSM8K_QUESTION = "Natalia sold clips to 48 friends in April, and half as many in May. How many in all?"
GSM8K_SOLUTION = "In May she sold 48/2 = 24 clips.\nIn all she sold 48+24 = 72 clips.\n#### 72"


def rollout(answer: str, *, role: str = "assistant", blocks: bool = False) -> list[dict[str, Any]]:
    content: Any = [{"type": "text", "text": answer}] if blocks else answer
    return [
        {"role": "system", "content": "Solve the problem. Put the final answer after ####."},
        {"role": "user", "content": GSM8K_QUESTION},
        {"role": role, "content": content},
    ]


def nova_gsm8k_row(row_id: str, answer: str, **kwargs: Any) -> dict[str, Any]:
    """The Nova GSM8K notebook's shape: reference {"final_answer", "steps"} at the top level."""
    return {
        "id": row_id,
        "messages": rollout(answer, **kwargs),
        "reference_answer": {"final_answer": "72", "steps": ["48/2 = 24", "48+24 = 72"]},
    }


def gpt_oss_row(task_id: str, answer: str) -> dict[str, Any]:
    """The gpt-oss GSM8K Lambda's shape: task_id and no id, a GSM8K solution text reference."""
    return {
        "task_id": task_id,
        "messages": rollout(answer),
        "metadata": {"reference_answer": {"text": GSM8K_SOLUTION}},
    }


def scores(outputs: list[dict[str, Any]]) -> dict[Any, float]:
    return {output["id"]: output["aggregate_reward_score"] for output in outputs}


@pytest.mark.parametrize("spec", [NUMERIC, MATH])
def test_nova_gsm8k_final_answer_reference_scores_like_aws(spec):
    event = [
        nova_gsm8k_row("right-hash", "She sold 72 clips.\n#### 72"),
        nova_gsm8k_row("right-box", "So \\boxed{72}", role="nova_assistant"),
        nova_gsm8k_row("right-blocks", "#### 72", blocks=True),
        nova_gsm8k_row("wrong", "#### 71"),
    ]
    result = Scorer(spec).score_event(event)
    got = scores(result.outputs)
    assert got["right-hash"] == got["right-box"] == got["right-blocks"] == 1.0
    assert got["wrong"] < 1.0
    assert "invalid_reference" not in result.failures


@pytest.mark.parametrize("spec", [NUMERIC, MATH])
def test_gpt_oss_text_reference_and_task_id_rows(spec):
    event = [gpt_oss_row("task-1", "The answer is \\boxed{72}."), gpt_oss_row("task-2", "#### 70")]
    result = Scorer(spec).score_event(event)
    assert [output["id"] for output in result.outputs] == ["task-1", "task-2"]  # echoed back as the id
    assert scores(result.outputs) == {"task-1": 1.0, "task-2": pytest.approx(spec.get("format_score", 0.0))}
    assert "missing_id" not in result.failures and "invalid_reference" not in result.failures


@pytest.fixture
def numeric_handler(monkeypatch):
    yield from fresh_handler("rlvr.handler", NUMERIC, monkeypatch)


@pytest.mark.parametrize("key", ["trajectories", "samples"])
def test_wrapped_event_through_the_handler_gets_a_plain_array(numeric_handler, capsys, key):
    """AWS's gpt-oss sample Lambda answers {"trajectories": [...]} with a plain JSON array of
    outputs (its docstring: "Returns a JSON array"): the service expects that shape."""
    module = numeric_handler
    event = {key: [gpt_oss_row("t-1", "#### 72"), gpt_oss_row("t-2", "no idea")]}
    # Lambda hands the handler what json.loads made of the request: round-trip to be sure.
    response = module.handler(json.loads(json.dumps(event)), None)
    assert isinstance(response, list)
    assert [output["id"] for output in response] == ["t-1", "t-2"]
    assert response[0]["aggregate_reward_score"] == 1.0
    assert response[1]["metrics_list"][-1]["name"] == "failure_no_answer"
    assert json.loads(json.dumps(response)) == response  # the response is JSON as it stands
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record[names.METRIC_SAMPLES] == 2  # the invocation's one record counts both


def test_samples_key_and_plain_list_events_get_the_same_array():
    scorer = Scorer(NUMERIC)
    rows = [nova_gsm8k_row("a", "#### 72")]
    assert scorer.score_event({"samples": rows}).response == scorer.score_event(rows).outputs
    assert scorer.score_event({"trajectories": rows}).response == scorer.score_event(rows).response


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"records": []}, "with keys ['records']"),
        ({"trajectories": "x"}, "'trajectories' of type str"),
        ({"trajectories": [], "samples": []}, "not several"),
        ("[]", "got str"),
    ],
)
def test_other_event_shapes_fail_naming_the_expected_shape(event, message):
    with pytest.raises(EventError) as info:
        Scorer(NUMERIC).score_event(event)
    text = str(info.value)
    assert "JSON list of samples" in text and "'trajectories', 'samples'" in text and message in text


def test_documented_compliance_sample_with_reference_key():
    """AWS's contract example: {"compliant": "No", "explanation": ...} graded as a label."""
    spec = {"grader": "label", "labels": ["Yes", "No"], "reference_key": "compliant"}
    sample = {
        "id": "123",
        "messages": [
            {"role": "user", "content": "Do you have a dedicated security team?"},
            {"role": "assistant", "content": [{"type": "reasoning", "text": "Yes? maybe"}, {"text": "No"}]},
        ],
        "metadata": {"reference_answer": {"compliant": "No", "explanation": "..."}, "my_key": "sample-001"},
    }
    assert Scorer(spec).score_event([sample]).outputs[0]["aggregate_reward_score"] == 1.0
    # Without the key the object has no known answer key: invalid_reference, not a guess.
    result = Scorer({"grader": "label", "labels": ["Yes", "No"]}).score_event([sample])
    assert result.failures == {"invalid_reference": 1}


def test_id_wins_over_task_id_and_null_ids():
    scorer = Scorer(NUMERIC)
    row = nova_gsm8k_row("the-id", "#### 72")
    row["task_id"] = "the-task"
    null_id = {**nova_gsm8k_row("x", "#### 72"), "id": None, "task_id": 7}
    null_both = {**nova_gsm8k_row("x", "#### 72"), "id": None}
    outputs = scorer.score_event([row, null_id, null_both]).outputs
    assert [output["id"] for output in outputs] == ["the-id", 7, "invalid-id-2"]
