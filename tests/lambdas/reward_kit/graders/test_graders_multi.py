"""``multi`` grader: weighted components, gates, DAPO length penalty, reasons."""

from __future__ import annotations

from typing import Any

import pytest

from reward_kit.graders import build_grader
from reward_kit.graders.base import GradeInput, GradeResult
from reward_kit.graders.multi import length_penalty
from reward_kit.spec import validate_spec

ACCURACY = {"grader": "label", "labels": ["positive", "negative", "neutral"]}
FORMAT = {"grader": "regex", "pattern": r"\\boxed\{[^{}]*\}", "target": "response"}


def grade(spec: dict[str, Any], response: Any, reference: Any = "positive") -> GradeResult:
    return build_grader(validate_spec(spec))(GradeInput(response, reference, {}))


def multi(**extra: Any) -> dict[str, Any]:
    return {"grader": "multi", "graders": {"accuracy": ACCURACY, "format": FORMAT}, **extra}


def test_equal_weights_by_default_and_one_reward_per_component() -> None:
    result = grade(multi(), "positive")  # correct, not boxed
    assert result.rewards == {"accuracy": 1.0, "format": 0.0}
    assert result.score == pytest.approx(0.5)
    assert grade(multi(), "\\boxed{positive}").score == pytest.approx(1.0)


def test_weights_are_normalized() -> None:
    spec = multi(weights={"accuracy": 3, "format": 1})
    assert grade(spec, "positive").score == pytest.approx(0.75)
    assert grade(spec, "\\boxed{negative}").score == pytest.approx(0.25)


def test_format_only_credit_never_reaches_full_marks() -> None:
    result = grade(multi(weights={"accuracy": 0.9, "format": 0.1}), "\\boxed{negative}")
    assert result.score == pytest.approx(0.1)
    assert result.score < 1.0


def test_gate_credits_a_component_only_when_the_other_passes() -> None:
    spec = multi(gates={"format": {"on": "accuracy", "min": 1.0}})
    wrong = grade(spec, "\\boxed{negative}")
    assert wrong.rewards == {"accuracy": 0.0, "format": 0.0}  # gated value is reported
    assert wrong.metrics["format_gate_open"] == 0.0
    assert wrong.score == 0.0
    right = grade(spec, "\\boxed{positive}")
    assert right.rewards == {"accuracy": 1.0, "format": 1.0}
    assert right.metrics["format_gate_open"] == 1.0


@pytest.mark.parametrize(
    ("length", "expected"),
    [(0, 0.0), (80, 0.0), (90, -0.5), (100, -1.0), (101, -1.0), (10_000, -1.0)],
)
def test_dapo_length_penalty_shape(length: int, expected: float) -> None:
    assert length_penalty(length, max_chars=100, buffer_chars=20) == pytest.approx(expected)


def test_length_penalty_without_buffer_is_a_hard_cliff() -> None:
    assert length_penalty(100, 100, 0) == 0.0
    assert length_penalty(101, 100, 0) == -1.0


def test_length_penalty_is_a_metric_subtracted_and_clamped() -> None:
    lp = {"max_chars": 100, "buffer_chars": 20, "weight": 0.5}
    spec = multi(length_penalty=lp)
    short = grade(spec, "\\boxed{positive}")
    assert short.score == pytest.approx(1.0)
    assert short.metrics["length_penalty"] == 0.0
    padded = "\\boxed{positive}" + " " * (90 - len("\\boxed{positive}"))
    mid = grade(spec, padded)
    assert mid.score == pytest.approx(1.0 - 0.5 * 0.5)
    assert mid.metrics["length_penalty"] == pytest.approx(-0.25)
    assert "length_penalty" not in mid.rewards
    too_long = grade(multi(length_penalty={"max_chars": 100}), "\\boxed{positive}" + "x" * 200)
    assert too_long.score == 0.0  # 1.0 - 1.0, clamped at 0 for wrong ones too
    wrong_long = grade(multi(length_penalty={"max_chars": 100}), "\\boxed{negative}" + "x" * 200)
    assert wrong_long.score == 0.0


def test_reason_prefers_correctness_components() -> None:
    spec = {
        "grader": "multi",
        "graders": {"format": {"grader": "regex", "pattern": "zzz"}, "accuracy": ACCURACY},
    }
    assert grade(spec, "").reason == "no_answer"  # both have reasons; accuracy's is reported
    assert grade(spec, "positive negative").reason == "multiple_answers"
    assert grade(spec, "positive").reason is None


def test_component_metrics_are_prefixed() -> None:
    result = grade(multi(), "\\boxed{positive}")
    assert result.metrics["accuracy_answer_found"] == 1.0
    assert result.metrics["format_matched"] == 1.0


def test_a_raising_component_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    import reward_kit.graders.regex as regex_module

    def broken_build(spec: Any):
        def grader(sample: GradeInput) -> GradeResult:
            raise RuntimeError("boom")

        return grader

    monkeypatch.setattr(regex_module, "build", broken_build)
    result = grade(multi(), "\\boxed{positive}")
    assert result.rewards == {"accuracy": 1.0, "format": 0.0}
    assert result.score == pytest.approx(0.5)


def test_numeric_and_json_components_together() -> None:
    spec = {
        "grader": "multi",
        "graders": {
            "value": {"grader": "numeric"},
            "shape": {"grader": "json_schema", "schema": {"type": "object", "required": ["total"]}},
        },
        "weights": {"value": 0.8, "shape": 0.2},
    }
    result = grade(spec, '{"total": 72}', 72)
    assert result.rewards == {"value": 1.0, "shape": 1.0}
    assert result.score == pytest.approx(1.0)


# --- GraderTraits: multi.build combines its components' ----------------------------


JUDGE = {"grader": "judge", "rubric": "Reward helpful answers."}


def built(graders: dict[str, Any]) -> Any:
    from reward_kit.graders import multi as multi_module

    return multi_module.build(validate_spec({"grader": "multi", "graders": graders}))


def traits(grader: Any) -> Any:
    from reward_kit.graders import traits_of

    return traits_of(grader)


def test_deterministic_multi_keeps_the_scorer_defaults() -> None:
    from reward_kit.graders import GraderTraits

    assert traits(built({"accuracy": ACCURACY, "format": FORMAT})) == GraderTraits()


def test_multi_with_a_judge_sets_its_own_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    from reward_kit import names

    monkeypatch.setenv(names.ENV_JUDGE_MODEL_ID, "us.amazon.nova-pro-v1:0")
    monkeypatch.setenv(names.ENV_JUDGE_MAX_CONCURRENCY, "24")
    from reward_kit.graders import GraderTraits

    grader = built({"quality": JUDGE, "accuracy": ACCURACY})  # multi.build alone: no registry patching
    # The judge's group key (prompt, reference) passes through: the Scorer orders groups by it.
    group_key = traits(grader).group_key
    assert group_key is not None
    assert group_key(GradeInput("r", {"a": 1}, {}, "p")) == ("p", '{"a": 1}')
    assert traits(grader) == GraderTraits(24, "judge_timeout", True, True, group_key=group_key)
    # A judge and a regex need no reference; include_prompt false: nobody wants the prompt.
    grader = built({"quality": {**JUDGE, "include_prompt": False}, "format": FORMAT})
    assert (traits(grader).requires_reference, traits(grader).wants_prompt) == (False, False)
    # build_grader returns exactly what multi.build made.
    via_registry = build_grader(validate_spec({"grader": "multi", "graders": {"quality": JUDGE, "format": FORMAT}}))
    assert traits(via_registry) == GraderTraits(24, "judge_timeout", False, True,
                                                group_key=traits(via_registry).group_key)


def test_multi_attributes_come_from_the_components_themselves(monkeypatch: pytest.MonkeyPatch) -> None:
    import reward_kit.graders.numeric as numeric_module
    import reward_kit.graders.regex as regex_module
    from reward_kit.graders import GraderTraits, with_traits

    def io_build(attributes: dict[str, Any]) -> Any:
        def build(spec: Any) -> Any:
            def grader(sample: GradeInput) -> GradeResult:
                return GradeResult(score=1.0)

            return with_traits(grader, GraderTraits(**attributes))

        return build

    monkeypatch.setattr(
        regex_module, "build", io_build({"concurrency": 4, "timeout_reason": "slow_one", "requires_reference": False})
    )
    monkeypatch.setattr(
        numeric_module, "build", io_build({"concurrency": 9, "requires_reference": False, "wants_prompt": True})
    )
    grader = traits(built({"format": FORMAT, "value": {"grader": "numeric"}}))
    assert grader.concurrency == 9  # the max over components
    assert grader.timeout_reason == "slow_one"  # the first component that has one
    assert grader.requires_reference is False  # no component says it needs one
    assert grader.wants_prompt is True
    grader = traits(built({"format": FORMAT, "accuracy": ACCURACY}))
    assert grader.concurrency == 4 and grader.requires_reference is True  # label needs a reference


def test_a_component_that_does_not_declare_it_needs_a_reference() -> None:
    # Unknown graders are assumed to need one: scoring without it would be a silent zero.
    assert traits(built({"format": FORMAT, "value": {"grader": "numeric"}})).requires_reference is True
    assert traits(built({"format": FORMAT})).requires_reference is False  # regex says it needs none
