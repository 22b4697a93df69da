"""VeRL/TRL adapter: spec resolution order, caching, and no exceptions for bad text."""

from __future__ import annotations

import json

import pytest

from reward_kit import names, verl
from reward_kit.spec import SpecError
from reward_kit.verl import DEFAULT_SPECS, compute_score
from tests import ROOT


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


# --- what verl's reward managers really pass ----------------------------------------------


def test_numpy_ground_truths_from_parquet():
    import numpy as np  # installed with matplotlib (requirements-dev.txt); verl always has it
    assert compute_score("gsm8k", "#### 72", np.int64(72)) == 1.0
    assert compute_score("gsm8k", "#### 72", np.float32(72.0)) == 1.0
    assert compute_score("gsm8k", "#### 72", np.array(["72"])) == 1.0
    assert compute_score("gsm8k", "#### 72", np.array([[72]])) == 1.0
    assert compute_score("math", "\\boxed{\\frac12}", np.str_("0.5")) == 1.0
    assert compute_score("gsm8k", "#### 72", {"answer": np.int64(72)}) == 1.0
    # A longer array is a set reference: k boxes answer it.
    assert compute_score("gsm8k", "\\boxed{3} \\boxed{5}", np.array([5, 3])) == 1.0
    assert compute_score(np.str_("gsm8k"), "#### 72", b"72") == 1.0


def test_numpy_is_not_imported_by_the_adapter():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['numpy'] = None\n"  # any 'import numpy' would now fail
        "from reward_kit.verl import compute_score\n"
        "assert compute_score('gsm8k', '#### 72', '72') == 1.0\n"
        "assert compute_score('gsm8k', '#### 72', 72, {}, return_dict=True)['score'] == 1.0\n"
    )
    lambdas = ROOT / "lambdas"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=lambdas, env={"PYTHONPATH": str(lambdas)})


def test_extra_keyword_arguments_are_accepted():
    extra = {"num_turns": 2, "rollout_reward_scores": {}, "index": 7}
    score = compute_score(
        data_source="gsm8k", solution_str="#### 72", ground_truth="72", extra_info=extra, tokenizer=None, max_resp_len=4096
    )
    assert score == 1.0


def test_return_dict_has_the_same_keys_for_every_sample():
    spec = {"grader": "multi", "graders": {"acc": {"grader": "numeric"}, "fmt": {"grader": "regex", "pattern": "####"}}}
    good = compute_score("x", "#### 72", "72", {"reward_spec": spec}, return_dict=True)
    broken = compute_score("x", None, "72", {"reward_spec": spec}, return_dict=True)
    assert good == {"score": 1.0, "failed": 0.0, "reward_acc": 1.0, "reward_fmt": 1.0}
    assert set(broken) == set(good) and broken["failed"] == 1.0 and broken["score"] == 0.0
    assert isinstance(compute_score("gsm8k", "#### 72", "72"), float)


def test_verl_style_loading_with_reward_kwargs():
    """verl loads custom_reward_function.path as a file module (or pkg://reward_kit.verl) and
    merges custom_reward_function.reward_kwargs into every call: mimic that here."""
    import importlib.util
    from functools import partial

    path = ROOT / "lambdas" / "reward_kit" / "verl.py"
    spec = importlib.util.spec_from_file_location("custom_module_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def call_with_kwargs(raw_fn, extra_kwargs, *args, **kwargs):
        return raw_fn(*args, **{**kwargs, **extra_kwargs})

    reward_fn = partial(call_with_kwargs, module.compute_score, {"return_dict": True})
    result = reward_fn(data_source="openai/gsm8k", solution_str="#### 72", ground_truth="72", extra_info={"index": 0})
    assert result["score"] == 1.0
