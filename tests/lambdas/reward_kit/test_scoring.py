"""Scorer: contract + grader per sample; a broken sample or a grader bug costs one sample only."""

from __future__ import annotations

import pytest

from reward_kit.graders import build_grader
from reward_kit.graders.base import GradeInput, GradeResult
from reward_kit.scoring import AGGREGATE, Scorer
from reward_kit.spec import SpecError, validate_spec
from tests.lambdas.helpers import LABEL_SPEC, RecordingGrader, make_sample


def test_scores_in_input_order_with_own_ids(recording_grader):
    scorer = Scorer(LABEL_SPEC, grader=recording_grader)
    event = [make_sample("a", "positive"), make_sample("b", "negative"), make_sample(3, "positive")]
    result = scorer.score_event(event)
    assert [o["id"] for o in result.outputs] == ["a", "b", 3]
    assert [o["aggregate_reward_score"] for o in result.outputs] == [1.0, 0.0, 1.0]
    assert result.values == {AGGREGATE: [1.0, 0.0, 1.0], "label": [1.0, 0.0, 1.0]}
    assert result.failures == {}
    assert result.failed_samples == 0
    assert result.mean_aggregate == pytest.approx(2 / 3)


def test_grader_sees_only_the_final_assistant_text(recording_grader):
    sample = make_sample("a", "final", reference="ref", user="USER TEXT")
    sample["metadata"]["task"] = "t"
    Scorer(LABEL_SPEC, grader=recording_grader).score_event([sample])
    (seen,) = recording_grader.calls
    assert seen.response == "final"
    assert seen.reference == "ref"
    assert seen.metadata["task"] == "t"


def test_broken_samples_get_the_minimum_and_are_never_graded(recording_grader):
    spec = {**LABEL_SPEC, "range": [-1, 1]}
    event = [make_sample("ok", "positive"), make_sample("empty", ""), "junk", make_sample("noref", reference=None)]
    result = Scorer(spec, grader=recording_grader).score_event(event)
    assert len(recording_grader.calls) == 1
    assert [o["id"] for o in result.outputs] == ["ok", "empty", "missing-id-2", "noref"]
    assert result.values[AGGREGATE] == [1.0, -1.0, -1.0, -1.0]
    assert result.values["label"] == [1.0, -1.0, -1.0, -1.0]
    assert result.failures == {"empty_response": 1, "not_an_object": 1, "missing_reference": 1}
    assert result.failed_samples == 3
    assert {"name": "failure_empty_response", "value": 1.0, "type": "Metric"} in result.outputs[1]["metrics_list"]


def test_grader_exception_costs_one_sample_as_grader_error():
    def flaky(sample: GradeInput) -> GradeResult:
        if "boom" in sample.response:
            raise RuntimeError("grader bug")
        return GradeResult(score=0.5)

    result = Scorer(LABEL_SPEC, grader=flaky).score_event([make_sample("1", "fine"), make_sample("2", "boom")])
    assert result.values[AGGREGATE] == [0.5, 0.0]
    assert result.failures == {"grader_error": 1}
    assert result.outputs[1]["metrics_list"][-1]["name"] == "failure_grader_error"


def test_grader_reason_is_counted_but_its_score_stands():
    def partial(sample: GradeInput) -> GradeResult:
        return GradeResult(score=0.1, rewards={"label": 0.1}, reason="multiple_answers")

    result = Scorer(LABEL_SPEC, grader=partial).score_event([make_sample("1")])
    assert result.values[AGGREGATE] == [0.1]
    assert result.failures == {"multiple_answers": 1}
    assert result.failed_samples == 1
    names = [m["name"] for m in result.outputs[0]["metrics_list"]]
    assert "failure_multiple_answers" in names


@pytest.mark.parametrize("bad_reason", ["", "Not Snake Case", "x" * 300, 5])
def test_malformed_grader_reason_becomes_grader_error(bad_reason):
    def odd(sample: GradeInput) -> GradeResult:
        return GradeResult(score=0.3, reason=bad_reason)

    result = Scorer(LABEL_SPEC, grader=odd).score_event([make_sample("1")])
    assert result.failures == {"grader_error": 1}
    assert result.values[AGGREGATE] == [0.3]


def test_grader_returning_garbage_never_escapes_the_range():
    def garbage(sample: GradeInput) -> GradeResult:
        return GradeResult(score=float("nan"), rewards={"label": 7.0}, metrics={"m": float("inf")})

    output = Scorer({**LABEL_SPEC, "range": [-1, 1]}, grader=garbage).score_event([make_sample("1")]).outputs[0]
    assert output["aggregate_reward_score"] == -1.0
    assert output["metrics_list"] == [{"name": "label", "value": 1.0, "type": "Reward"}]


def test_grader_returning_a_non_result_is_a_grader_error():
    result = Scorer(LABEL_SPEC, grader=lambda sample: None).score_event([make_sample("1")])
    assert result.failures == {"grader_error": 1}


def test_multi_spec_reports_every_component_dimension():
    spec = {"grader": "multi", "graders": {"acc": {"grader": "numeric"}, "fmt": {"grader": "regex", "pattern": "x"}}}

    def components(sample: GradeInput) -> GradeResult:
        return GradeResult(score=0.6, rewards={"acc": 1.0, "fmt": 0.2})

    result = Scorer(spec, grader=components).score_event([make_sample("1"), "junk"])
    assert result.values == {AGGREGATE: [0.6, 0.0], "acc": [1.0, 0.0], "fmt": [0.2, 0.0]}


def test_invalid_spec_raises_spec_error_before_any_grader_is_built():
    with pytest.raises(SpecError, match=r"REWARD_SPEC\.labels"):
        Scorer({"grader": "label"})


def test_event_not_a_list_raises(recording_grader):
    from reward_kit.contract import EventError

    with pytest.raises(EventError):
        Scorer(LABEL_SPEC, grader=recording_grader).score_event({"records": []})


def test_max_response_chars_is_applied(recording_grader):
    scorer = Scorer(LABEL_SPEC, grader=recording_grader, max_response_chars=10)
    result = scorer.score_event([make_sample("1", "x" * 11), make_sample("2", "positive")])
    assert result.failures == {"response_too_long": 1}


def test_score_text_runs_the_same_checks(recording_grader):
    scorer = Scorer(LABEL_SPEC, grader=recording_grader)
    assert scorer.score_text("positive", "positive")["aggregate_reward_score"] == 1.0
    assert scorer.score_text("", "positive")["metrics_list"][-1]["name"] == "failure_empty_response"
    assert scorer.score_text("positive", None)["metrics_list"][-1]["name"] == "failure_missing_reference"


def test_score_text_passes_a_prompt_to_graders_that_want_it(recording_grader):
    from reward_kit.graders.base import GraderTraits, with_traits

    with_traits(recording_grader, GraderTraits(wants_prompt=True))
    scorer = Scorer(LABEL_SPEC, grader=recording_grader)
    assert scorer.score_text("positive", "positive", prompt="THE QUESTION")["aggregate_reward_score"] == 1.0
    scorer.score_text("positive", "positive")
    assert [call.prompt for call in recording_grader.calls] == ["THE QUESTION", ""]


def test_thousand_samples_fast_path(recording_grader):
    # Correctness only: the contract layer's speed is measured by `make bench` (a ratio against
    # the naive handler in the same run), never by a wall-clock assertion here.
    event = [make_sample(str(i), "positive" if i % 2 else "negative") for i in range(1000)]
    scorer = Scorer(LABEL_SPEC, grader=recording_grader)
    result = scorer.score_event(event)
    assert len(result.outputs) == 1000
    assert sum(result.values[AGGREGATE]) == 500
    assert [output["id"] for output in result.outputs] == [str(i) for i in range(1000)]


# --- registry and the real label grader ---------------------------------------------------


def test_every_kind_in_the_table_has_a_module_and_a_validator():
    from reward_kit.kinds import GRADER_KINDS, validator_for

    for name, kind in GRADER_KINDS.items():
        assert callable(kind.module.build), name
        assert callable(validator_for(name)), name


def test_build_grader_rejects_unknown_kind():
    with pytest.raises(ValueError, match="unknown grader kind 'nope'"):
        build_grader({"grader": "nope"})


def test_end_to_end_with_the_label_grader():
    scorer = Scorer({**LABEL_SPEC, "format_score": 0.1})
    event = [
        make_sample("right", "Overall: \\boxed{positive}", "positive"),
        make_sample("wrong", "\\boxed{negative}", "positive"),
        make_sample("spam", "positive negative neutral", "positive"),
        make_sample("dict-ref", "\\boxed{neutral}", {"answer": "neutral"}),
        make_sample("broken", None, "positive"),
    ]
    result = scorer.score_event(event)
    scores = dict(zip((o["id"] for o in result.outputs), result.values[AGGREGATE]))
    assert scores["right"] == 1.0
    assert scores["wrong"] == 0.1  # format credit: a single boxed label, just the wrong one
    assert scores["spam"] == 0.0
    assert scores["dict-ref"] == 1.0
    assert scores["broken"] == 0.0
    assert result.failures["multiple_answers"] == 1
    assert result.failures["invalid_content"] == 1


def test_build_grader_uses_the_validated_spec():
    grader = build_grader(validate_spec(LABEL_SPEC))
    result = grader(GradeInput("\\boxed{neutral}", "neutral", {}))
    assert result.score == 1.0


def test_recording_grader_is_a_real_grader():
    # Guards the fake used above: it must fail wrong answers, or the tests above prove nothing.
    grader = RecordingGrader()
    assert grader(GradeInput("negative", "positive", {})).score == 0.0


def test_a_format_check_grades_samples_that_have_no_reference() -> None:
    scorer = Scorer({"grader": "regex", "pattern": r"\\boxed\{\w+\}"})
    no_reference = {"id": "a", "messages": [{"role": "assistant", "content": "\\boxed{yes}"}]}
    out = scorer.score_event([no_reference, {**no_reference, "id": "b", "messages": [{"role": "assistant", "content": "yes"}]}])
    assert [o["aggregate_reward_score"] for o in out.outputs] == [1.0, 0.0]
    assert not out.failures
    label = Scorer({"grader": "label", "labels": ["yes", "no"]}).score_event([no_reference])
    assert label.failures == {"missing_reference": 1}  # graders that compare still need one
