"""Property tests: for any list-shaped event, one in-range output per sample with the right id."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reward_kit.graders.base import GradeInput, GradeResult
from reward_kit.scoring import AGGREGATE, Scorer
from tests.lambdas.helpers import LABEL_SPEC

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# Text that sometimes contains a label, a box or reasoning tags, so real graders do real work.
answer_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["positive", "\\boxed{negative}", "<think>x</think>neutral", "positive negative", " "]),
)
content = st.one_of(
    answer_text,
    st.lists(
        st.one_of(
            st.fixed_dictionaries({"type": st.just("text"), "text": answer_text}),
            st.fixed_dictionaries({"text": answer_text}),
            st.fixed_dictionaries({"type": st.just("image")}),
            st.fixed_dictionaries({"type": st.sampled_from(["reasoning", "thinking"]), "text": answer_text}),
            json_like,
        ),
        max_size=3,
    ),
    json_like,
)
message = st.one_of(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "nova_assistant", "system", " Assistant"]), "content": content}
    ),
    json_like,
)
sample_id = st.one_of(st.text(max_size=10), st.integers(), json_like)
reference = st.one_of(st.sampled_from(["positive", "negative", "neutral"]), json_like)
sample = st.one_of(
    st.fixed_dictionaries(
        {"id": st.one_of(sample_id, st.none()), "messages": st.one_of(st.lists(message, max_size=4), json_like)},
        optional={
            "task_id": sample_id,
            "metadata": st.one_of(st.fixed_dictionaries({"reference_answer": reference}), json_like),
            "reference_answer": reference,
        },
    ),
    json_like,
)
events = st.lists(sample, max_size=12)


def chaotic_grader(grade_input: GradeInput) -> GradeResult:
    """A deliberately badly behaved grader: raises, returns NaN/inf/out-of-range values."""
    size = len(grade_input.response)
    if size % 5 == 0:
        raise RuntimeError("grader bug")
    weird = [float("nan"), float("inf"), -3.0, 7.0, 0.5][size % 5]
    return GradeResult(score=weird, rewards={"label": -weird}, metrics={"m": weird, "x": "text"})


def expected_id(position: int, item) -> object:
    if not isinstance(item, dict):
        return f"missing-id-{position}"
    # id, else task_id (AWS's notebooks), when not null
    value = item["id"] if item.get("id") is not None else item.get("task_id")
    if value is None:
        return f"invalid-id-{position}" if "id" in item else f"missing-id-{position}"
    if (isinstance(value, str) and value) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return f"invalid-id-{position}"


def check_result(event, result, lo, hi, dimensions):
    assert len(result.outputs) == len(event)
    assert len(result.values[AGGREGATE]) == len(event)
    for position, (item, output) in enumerate(zip(event, result.outputs)):
        assert output["id"] == expected_id(position, item)
        assert type(output["id"]) is type(expected_id(position, item))
        values = [output["aggregate_reward_score"]]
        rewards = [m for m in output["metrics_list"] if m["type"] == "Reward"]
        assert [m["name"] for m in rewards] == dimensions
        values += [m["value"] for m in rewards]
        for value in values:
            assert isinstance(value, float) and math.isfinite(value) and lo <= value <= hi
        for m in output["metrics_list"]:
            assert math.isfinite(m["value"])
    assert sum(result.failures.values()) == result.failed_samples <= len(event)


@SETTINGS
@given(events, st.sampled_from([(0.0, 1.0), (-1.0, 1.0)]))
def test_any_event_with_the_label_grader(event, value_range):
    scorer = _label_scorer(value_range)
    check_result(event, scorer.score_event(event), *value_range, ["label"])


@SETTINGS
@given(events, st.sampled_from([(0.0, 1.0), (-1.0, 1.0)]))
def test_any_event_with_a_chaotic_grader(event, value_range):
    scorer = Scorer({**LABEL_SPEC, "range": list(value_range)}, grader=chaotic_grader)
    check_result(event, scorer.score_event(event), *value_range, ["label"])


_scorers: dict[tuple[float, float], Scorer] = {}


def _label_scorer(value_range: tuple[float, float]) -> Scorer:
    # Built once per range: grader construction is not what these properties test.
    if value_range not in _scorers:
        _scorers[value_range] = Scorer({**LABEL_SPEC, "range": list(value_range)})
    return _scorers[value_range]


@SETTINGS
@given(events, st.sampled_from(["trajectories", "samples"]))
def test_an_object_event_is_scored_like_its_list_and_answered_with_a_plain_array(event, key):
    scorer = _label_scorer((0.0, 1.0))
    wrapped = scorer.score_event({key: event, "job": "x"})
    check_result(event, wrapped, 0.0, 1.0, ["label"])
    assert wrapped.response == scorer.score_event(event).outputs  # as AWS's gpt-oss sample Lambda answers
