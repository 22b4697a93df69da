"""The Nova reward contract: every documented variant parses, every broken sample is contained."""

from __future__ import annotations

import json
import math

import pytest

from reward_kit.contract import DEFAULT_MAX_RESPONSE_CHARS, EventError, parse_event, parse_sample
from reward_kit.outputs import OutputBuilder
from reward_kit.reasons import FAILURE_REASONS
from tests.lambdas.helpers import make_sample


def parse_one(sample, **kwargs):
    (parsed,) = parse_event([sample], **kwargs)
    return parsed


# --- the accepted variants -----------------------------------------------------------


def test_documented_example_parses():
    sample = {
        "id": "123",
        "messages": [
            {"role": "user", "content": "Do you have a dedicated security team?"},
            {"role": "assistant", "content": "As an AI developed by Amazon, ..."},
        ],
        "metadata": {"reference_answer": {"compliant": "No", "explanation": "..."}, "my_key": "sample-001"},
    }
    parsed = parse_one(sample)
    assert parsed.failure is None
    assert parsed.id == "123"
    assert parsed.response == "As an AI developed by Amazon, ..."
    assert parsed.reference == {"compliant": "No", "explanation": "..."}
    assert parsed.metadata["my_key"] == "sample-001"


@pytest.mark.parametrize("reference", ["positive", 42, 3.5, {"answer": "7"}, ["a", "b"], 0])
@pytest.mark.parametrize("where", ["metadata", "top"])
def test_reference_answer_shapes_and_places(reference, where):
    parsed = parse_one(make_sample(reference=reference, where=where))
    assert parsed.failure is None
    assert parsed.reference == reference


def test_metadata_reference_wins_over_top_level():
    sample = make_sample(reference="from-metadata")
    sample["reference_answer"] = "from-top"
    assert parse_one(sample).reference == "from-metadata"


def test_top_level_reference_used_when_metadata_one_is_empty():
    sample = make_sample(reference="")
    sample["reference_answer"] = "from-top"
    assert parse_one(sample).reference == "from-top"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("plain", "plain"),
        ([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "a\nb"),
        ([{"text": "no type"}], "no type"),
        ({"type": "text", "text": "single block"}, "single block"),
        ([{"type": "image", "source": {"bytes": "..."}}, {"type": "text", "text": "after image"}], "after image"),
        ([{"reasoningContent": {"reasoningText": "secret plan"}}, {"text": "final"}], "final"),
    ],
)
def test_content_variants(content, expected):
    parsed = parse_one(make_sample(response=content))
    assert parsed.failure is None
    assert parsed.response == expected


@pytest.mark.parametrize("role", ["assistant", "nova_assistant", " Assistant ", "NOVA_ASSISTANT"])
def test_assistant_roles(role):
    assert parse_one(make_sample(response="x", role=role)).response == "x"


def test_last_assistant_message_is_graded_never_a_user_turn():
    sample = make_sample()
    sample["messages"] = [
        {"role": "user", "content": "say \\boxed{negative}"},
        {"role": "assistant", "content": "first draft"},
        {"role": "user", "content": "try again \\boxed{positive}"},
        {"role": "nova_assistant", "content": "final answer"},
        {"role": "user", "content": "a trailing user turn"},
    ]
    assert parse_one(sample).response == "final answer"


def test_extra_metadata_is_passed_through_and_non_dict_metadata_tolerated():
    sample = make_sample(where="top")
    sample["metadata"] = {"task": "x", "difficulty": 3}
    assert parse_one(sample).metadata == {"task": "x", "difficulty": 3}
    sample["metadata"] = "not a dict"
    parsed = parse_one(sample)
    assert parsed.failure is None and parsed.metadata == {}


@pytest.mark.parametrize("sample_id", ["abc", 0, 7, 2**70, " spaced "])
def test_valid_ids_are_preserved_with_their_type(sample_id):
    parsed = parse_one(make_sample(sample_id=sample_id))
    assert parsed.id == sample_id and type(parsed.id) is type(sample_id)


# --- broken samples -------------------------------------------------------------------


def _without(key):
    sample = make_sample()
    del sample[key]
    return sample


def _messages(value):
    sample = make_sample()
    sample["messages"] = value
    return sample


BROKEN = [
    ("a string", "not_an_object", "missing-id-0"),
    (None, "not_an_object", "missing-id-0"),
    ([make_sample()], "not_an_object", "missing-id-0"),
    (_without("id"), "missing_id", "missing-id-0"),
    (make_sample(sample_id=None), "invalid_id", "invalid-id-0"),
    (make_sample(sample_id=True), "invalid_id", "invalid-id-0"),
    (make_sample(sample_id=1.0), "invalid_id", "invalid-id-0"),
    (make_sample(sample_id=""), "invalid_id", "invalid-id-0"),
    (make_sample(sample_id={"a": 1}), "invalid_id", "invalid-id-0"),
    (make_sample(sample_id=[1]), "invalid_id", "invalid-id-0"),
    (_without("messages"), "missing_messages", "s1"),
    (_messages(None), "missing_messages", "s1"),
    (_messages("hello"), "invalid_messages", "s1"),
    (_messages({"role": "assistant", "content": "x"}), "invalid_messages", "s1"),
    (_messages([{"role": "user", "content": "q"}, "assistant: x"]), "invalid_messages", "s1"),
    (_messages([]), "no_assistant_message", "s1"),
    (_messages([{"role": "user", "content": "\\boxed{positive}"}]), "no_assistant_message", "s1"),
    (_messages([{"content": "no role"}]), "no_assistant_message", "s1"),
    (make_sample(response=None), "invalid_content", "s1"),
    (make_sample(response=42), "invalid_content", "s1"),
    (make_sample(response=[{"type": "text", "text": 5}]), "invalid_content", "s1"),
    (make_sample(response=[{"type": "text"}]), "invalid_content", "s1"),
    (make_sample(response=[42]), "invalid_content", "s1"),
    (make_sample(response=""), "empty_response", "s1"),
    (make_sample(response=" \n\t "), "empty_response", "s1"),
    (make_sample(response=[{"type": "image", "source": {}}]), "empty_response", "s1"),
    (make_sample(reference=None), "missing_reference", "s1"),
    (make_sample(reference=""), "missing_reference", "s1"),
    (make_sample(reference="  "), "missing_reference", "s1"),
    (make_sample(reference={}), "missing_reference", "s1"),
    (make_sample(reference=[]), "missing_reference", "s1"),
    (make_sample(where="nowhere"), "missing_reference", "s1"),
    (make_sample(response="x" * (DEFAULT_MAX_RESPONSE_CHARS + 1)), "response_too_long", "s1"),
]


@pytest.mark.parametrize(("sample", "reason", "expected_id"), BROKEN)
def test_broken_samples_get_a_reason_and_keep_or_replace_their_id(sample, reason, expected_id):
    parsed = parse_one(sample)
    assert parsed.failure == reason
    assert parsed.id == expected_id
    assert reason in FAILURE_REASONS


def test_placeholder_ids_use_the_position_and_never_collide():
    event = [make_sample("a"), {"messages": []}, make_sample(sample_id=None), "junk", make_sample("b")]
    ids = [p.id for p in parse_event(event)]
    assert ids == ["a", "missing-id-1", "invalid-id-2", "missing-id-3", "b"]
    assert len(set(ids)) == len(ids)


def test_placeholder_ids_never_repeat_an_id_the_event_really_carries():
    # Outputs may be matched by id: the broken sample must not take the real sample's id.
    event = [make_sample("missing-id-1"), "junk", make_sample(sample_id=None), make_sample("invalid-id-2"),
             make_sample("missing-id-1-1"), {"messages": []}]
    ids = [p.id for p in parse_event(event)]
    assert ids == ["missing-id-1", "missing-id-1-2", "invalid-id-2-1", "invalid-id-2", "missing-id-1-1",
                   "missing-id-5"]
    assert len(set(ids)) == len(ids)


def test_a_reference_can_be_optional():
    event = [make_sample("a", reference=None), make_sample("b", where="nowhere"), make_sample("c", reference="  "),
             make_sample("d", "")]
    optional = parse_event(event, require_reference=False)
    assert [(p.failure, p.reference) for p in optional] == [(None, None)] * 3 + [("empty_response", None)]
    assert all(p.response == make_sample()["messages"][1]["content"] for p in optional[:3])
    assert [p.failure for p in parse_event(event)] == ["missing_reference"] * 3 + ["empty_response"]


def test_max_response_chars_is_configurable_and_a_1mb_response_is_contained():
    one_mb = "y" * 1_000_000
    assert parse_one(make_sample(response=one_mb)).failure == "response_too_long"
    assert parse_one(make_sample(response=one_mb), max_response_chars=2_000_000).failure is None
    assert parse_one(make_sample(response="12345"), max_response_chars=5).failure is None
    assert parse_one(make_sample(response="123456"), max_response_chars=5).failure == "response_too_long"


@pytest.mark.parametrize("event", [{"id": "1"}, "[]", None, 3, ({"id": "1"},)])
def test_event_that_is_not_a_list_raises_event_error(event):
    with pytest.raises(EventError, match="must be a JSON list of samples"):
        parse_event(event)


def test_empty_event_is_fine():
    assert parse_event([]) == []


def test_parse_sample_never_raises_on_odd_objects():
    odd = [object(), {"id": "x", "messages": [{"role": 5, "content": "x"}]}, {"id": "x", "messages": [{"role": None}]}]
    for position, sample in enumerate(odd):
        assert parse_sample(sample, position).failure is not None


# --- output building --------------------------------------------------------------------


def test_scale_maps_canonical_values_to_the_range():
    unit = OutputBuilder(["acc"], (0.0, 1.0))
    signed = OutputBuilder(["acc"], (-1.0, 1.0))
    assert [unit.scale(v) for v in (0, 0.25, 1)] == [0.0, 0.25, 1.0]
    assert [signed.scale(v) for v in (0, 0.25, 0.5, 1)] == [-1.0, -0.5, 0.0, 1.0]
    assert unit.scale(1 / 3) == 0.333333


@pytest.mark.parametrize("bad", [float("nan"), float("-inf"), -3, None, "0.9", True, [1], object()])
def test_scale_sends_anything_unusable_or_negative_to_the_minimum(bad):
    assert OutputBuilder(["acc"], (-1.0, 1.0)).scale(bad) == -1.0


def test_scale_clamps_above_one_and_infinity_to_the_maximum():
    builder = OutputBuilder(["acc"], (-1.0, 1.0))
    assert builder.scale(7) == 1.0
    assert builder.scale(float("inf")) == 1.0


def test_graded_output_shape():
    builder = OutputBuilder(["accuracy", "format"], (-1.0, 1.0))
    output = builder.graded(
        "id-1",
        0.75,
        rewards={"accuracy": 1.0, "format": 0.5, "bonus": 0.2},
        metrics={"answer_found": 1.0, "nan_metric": float("nan"), "text": "no", "flag": True},
        reason="multiple_answers",
    )
    assert output == {
        "id": "id-1",
        "aggregate_reward_score": 0.5,
        "metrics_list": [
            {"name": "accuracy", "value": 1.0, "type": "Reward"},
            {"name": "format", "value": 0.0, "type": "Reward"},
            {"name": "bonus", "value": 0.2, "type": "Metric"},
            {"name": "answer_found", "value": 1.0, "type": "Metric"},
            {"name": "failure_multiple_answers", "value": 1.0, "type": "Metric"},
        ],
    }
    json.dumps(output, allow_nan=False)  # strict JSON: no NaN sneaks out


def test_single_dimension_falls_back_to_score_and_missing_multi_component_gets_minimum():
    single = OutputBuilder(["label"])
    assert single.graded(1, 0.4)["metrics_list"] == [{"name": "label", "value": 0.4, "type": "Reward"}]
    multi = OutputBuilder(["a", "b"], (-1.0, 1.0))
    rewards = multi.graded(1, 0.5, rewards={"a": 1.0})["metrics_list"]
    assert rewards == [{"name": "a", "value": 1.0, "type": "Reward"}, {"name": "b", "value": -1.0, "type": "Reward"}]


def test_a_single_grader_reward_outside_the_dimension_is_still_a_diagnostic():
    # The dimension falls back to the score, and the stray reward is reported, not dropped.
    output = OutputBuilder(["sentiment"]).graded(1, 0.4, rewards={"label": 0.3})
    assert output["metrics_list"] == [
        {"name": "sentiment", "value": 0.4, "type": "Reward"},
        {"name": "label", "value": 0.3, "type": "Metric"},
    ]


def test_failed_output_is_minimum_everywhere_with_the_reason():
    output = OutputBuilder(["a", "b"], (-1.0, 1.0)).failed("x", "empty_response")
    assert output == {
        "id": "x",
        "aggregate_reward_score": -1.0,
        "metrics_list": [
            {"name": "a", "value": -1.0, "type": "Reward"},
            {"name": "b", "value": -1.0, "type": "Reward"},
            {"name": "failure_empty_response", "value": 1.0, "type": "Metric"},
        ],
    }


def test_output_builder_rejects_bad_configuration():
    with pytest.raises(ValueError):
        OutputBuilder([])
    with pytest.raises(ValueError):
        OutputBuilder(["a"], (1.0, 0.0))
    with pytest.raises(ValueError):
        OutputBuilder(["a"], (0.0, math.inf))


# --- the prompt (data for graders that want it, e.g. the judge) ----------------------------


def parse_with_prompt(sample):
    (parsed,) = parse_event([sample], with_prompt=True)
    return parsed


def test_prompt_is_not_extracted_unless_asked():
    assert parse_one(make_sample(user="the question")).prompt is None
    assert parse_sample(make_sample(user="the question"), 0).prompt is None


def test_prompt_is_the_last_user_message_before_the_final_assistant_message():
    sample = make_sample()
    sample["messages"] = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first draft"},
        {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "image"}, {"text": "question"}]},
        {"role": "tool", "content": "tool output"},
        {"role": "assistant", "content": "final answer"},
        {"role": "user", "content": "a trailing user turn"},
    ]
    parsed = parse_with_prompt(sample)
    assert parsed.failure is None and parsed.response == "final answer"
    assert parsed.prompt == "second\nquestion"  # same content rules as the response


def test_prompt_roles_are_folded_like_assistant_roles():
    sample = make_sample()
    sample["messages"] = [{"role": " USER ", "content": "folded"}, {"role": " Assistant ", "content": "x"}]
    assert parse_with_prompt(sample).prompt == "folded"


@pytest.mark.parametrize(
    "user_turn",
    [
        {"role": "user", "content": 42},
        {"role": "user", "content": [{"type": "text", "text": 5}]},
        {"role": "user"},
        {"role": "user", "content": None},
    ],
)
def test_a_malformed_user_turn_never_fails_the_sample(user_turn):
    sample = make_sample()
    sample["messages"] = [user_turn, {"role": "assistant", "content": "\\boxed{positive}"}]
    parsed = parse_with_prompt(sample)
    assert parsed.failure is None
    assert parsed.prompt is None
    assert parsed.response == "\\boxed{positive}"


def test_no_user_turn_before_the_response_means_no_prompt():
    sample = make_sample()
    sample["messages"] = [{"role": "assistant", "content": "x"}, {"role": "user", "content": "after"}]
    parsed = parse_with_prompt(sample)
    assert parsed.failure is None and parsed.prompt is None


def test_with_prompt_changes_nothing_else():
    event = [make_sample("a"), "junk", make_sample("b", ""), make_sample("c", reference=None), make_sample("d")]
    plain, with_prompt = parse_event(event), parse_event(event, with_prompt=True)
    assert [(p.id, p.response, p.reference, p.failure) for p in plain] == [
        (p.id, p.response, p.reference, p.failure) for p in with_prompt
    ]
    assert [p.prompt for p in with_prompt] == ["How does this review feel?", None, None, "How does this review feel?",
                                               "How does this review feel?"]
