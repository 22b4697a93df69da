"""VeRL/TRL adapter: spec resolution order, caching, and no exceptions for bad text."""

from __future__ import annotations

import json

import pytest

from reward_kit import names, verl
from reward_kit.spec import SpecError
from reward_kit.verl import DEFAULT_SPECS, compute_score


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    monkeypatch.delenv(names.ENV_REWARD_SPEC, raising=False)
    monkeypatch.delenv(names.ENV_MAX_RESPONSE_CHARS, raising=False)
    verl._scorers.clear()
    yield
    verl._scorers.clear()


def test_default_spec_for_sentiment_labels():
    assert compute_score("chabsa", "It is \\boxed{positive}", "positive") == 1.0
    assert compute_score("chabsa", "It is \\boxed{negative}", "positive") == 0.0


@pytest.mark.parametrize("source", ["gsm8k", "openai/gsm8k"])
def test_default_spec_for_gsm8k(source):
    assert compute_score(source, "... so the total is \\boxed{72}", "72") == 1.0
    assert compute_score(source, "... so the total is \\boxed{71}", "72") == 0.0


@pytest.mark.parametrize("source", ["math", "lighteval/MATH"])
def test_default_spec_for_math(source):
    assert compute_score(source, "\\boxed{\\frac{1}{2}}", "\\frac{1}{2}") == 1.0
    assert compute_score(source, "\\boxed{\\frac{1}{3}}", "\\frac{1}{2}") == 0.0


def test_extra_info_spec_wins_over_env_and_defaults(monkeypatch):
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps({"grader": "label", "labels": ["yes", "no"]}))
    spec = {"grader": "label", "labels": ["cat", "dog"], "range": [-1, 1]}
    assert compute_score("chabsa", "\\boxed{dog}", "dog", {"reward_spec": spec}) == 1.0
    assert compute_score("chabsa", "\\boxed{cat}", "dog", {"reward_spec": json.dumps(spec)}) == -1.0
    # Without extra_info the environment spec wins over the chabsa default.
    assert compute_score("chabsa", "\\boxed{yes}", "yes") == 1.0
    assert compute_score("chabsa", "\\boxed{positive}", "positive", {"index": 3}) == 0.0


def test_unknown_data_source_without_spec_is_a_config_error():
    with pytest.raises(ValueError, match=r"no reward spec for data_source 'my/dataset'.*reward_spec"):
        compute_score("my/dataset", "\\boxed{1}", "1")


def test_invalid_spec_is_reported_with_its_source():
    with pytest.raises(SpecError, match=r"^extra_info\.reward_spec\.labels: required"):
        compute_score("x", "a", "a", {"reward_spec": {"grader": "label"}})


@pytest.mark.parametrize("solution", [None, "", "   ", 42, ["\\boxed{72}"], {"text": 1}, "7" * 200_000])
def test_bad_solution_text_scores_the_minimum(solution):
    assert compute_score("gsm8k", solution, "72") == 0.0
    spec = {"grader": "numeric", "range": [-1, 1]}
    assert compute_score("gsm8k", solution, "72", {"reward_spec": spec}) == -1.0


@pytest.mark.parametrize("ground_truth", [None, "", {}, []])
def test_missing_ground_truth_scores_the_minimum(ground_truth):
    assert compute_score("gsm8k", "\\boxed{72}", ground_truth) == 0.0


def test_graders_are_cached_per_spec():
    compute_score("chabsa", "\\boxed{positive}", "positive")
    compute_score("chabsa", "\\boxed{neutral}", "positive")
    assert len(verl._scorers) == 1
    compute_score("gsm8k", "\\boxed{1}", "1")
    compute_score("x", "\\boxed{1}", "1", {"reward_spec": {"grader": "numeric", "tolerance": 0.5}})
    compute_score("x", "\\boxed{1}", "1", {"reward_spec": {"tolerance": 0.5, "grader": "numeric"}})
    assert len(verl._scorers) == 3


def test_max_response_chars_env_applies(monkeypatch):
    monkeypatch.setenv(names.ENV_MAX_RESPONSE_CHARS, "10")
    assert compute_score("gsm8k", "\\boxed{72}" + " " * 5, "72") == 0.0


def test_default_specs_are_valid():
    from reward_kit.spec import validate_spec

    for source, spec in DEFAULT_SPECS.items():
        validate_spec(spec, key=source)
