"""Issue 22 (5): sizing from training terms, and ``python -m stacks.capacity -c env=NAME``."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from stacks import capacity
from stacks.capacity import cli as capacity_cli
from stacks.config import parse_environments
from stacks.environment_sizing import environment_table
from tests.stacks.config.test_config import base, error

SHAPE = {"prompts_per_step": 64, "samples_per_prompt": 8, "seconds_per_step": 30, "concurrent_jobs": 2}


def with_shape(fn_shape: dict[str, Any] | None = None, env_shape: dict[str, Any] | None = None,
               keep_rate: bool = False) -> dict[str, Any]:
    raw = base()
    fn = raw["dev"]["reward_functions"]["sentiment"]
    if not keep_rate:
        del fn["target_evaluations_per_second"]
    if fn_shape is not None:
        fn["training_shape"] = fn_shape
    if env_shape is not None:
        raw["dev"]["training_shape"] = env_shape
    return raw


def test_the_rate_is_derived_from_the_training_shape_and_sizes_the_function() -> None:
    fn = parse_environments(with_shape(SHAPE))["dev"].function("sentiment")
    rate = 64 * 8 * 2 / 30
    assert math.isclose(fn.target_evaluations_per_second, rate)
    assert fn.reserved_concurrency == capacity.reserved_concurrency(rate, 0.05, 1)
    assert fn.training_shape is not None and fn.training_shape.describe() == "64 prompts x 8 samples per 30 s step x 2 jobs"


def test_the_environments_shape_applies_to_functions_without_their_own_rate() -> None:
    raw = with_shape(env_shape={"prompts_per_step": 16, "samples_per_prompt": 4, "seconds_per_step": 8})
    raw["dev"]["reward_functions"]["gsm8k"] = {"reward_spec": {"grader": "numeric"}, "expected_seconds_per_sample": 0.05,
                                               "target_evaluations_per_second": 100}
    env = parse_environments(raw)["dev"]
    assert env.function("sentiment").target_evaluations_per_second == 16 * 4 / 8
    assert env.function("gsm8k").target_evaluations_per_second == 100 and env.function("gsm8k").training_shape is None


def test_a_function_gives_a_rate_or_a_shape_not_both() -> None:
    assert error(with_shape(SHAPE, keep_rate=True)) == (
        "environments.dev.reward_functions.sentiment.training_shape: give either target_evaluations_per_second or "
        "training_shape (the rate is derived from it), not both")
    assert error(with_shape()) == ("environments.dev.reward_functions.sentiment.target_evaluations_per_second: "
                                   "required (a number > 0, or a training_shape)")


@pytest.mark.parametrize(("change", "message"), [
    ({"prompts_per_step": 0}, "training_shape.prompts_per_step: must be an integer >= 1, got 0"),
    ({"seconds_per_step": -1}, "training_shape.seconds_per_step: must be a finite number > 0, got -1"),
    ({"concurrent_jobs": 1.5}, "training_shape.concurrent_jobs: must be an integer >= 1, got 1.5"),
    ({"batch": 3}, "training_shape.batch: unknown key; allowed keys are"),
])
def test_shape_mistakes_name_the_key(change: dict[str, Any], message: str) -> None:
    assert message in error(with_shape(SHAPE | change))
    env_level = error(with_shape(env_shape=SHAPE | change))
    assert env_level.startswith("environments.dev.training_shape.") and message in env_level


def test_the_environment_table_shows_rate_concurrency_and_judge_quota_use(tmp_path: Path) -> None:
    from tests.cdk_context import JUDGE_ENVIRONMENT

    raw = copy.deepcopy(JUDGE_ENVIRONMENT)
    fm = raw["reward_functions"]["judge-fm"]
    del fm["target_evaluations_per_second"]
    fm["training_shape"] = {"prompts_per_step": 32, "samples_per_prompt": 8, "seconds_per_step": 10}  # 25.6/s
    env = parse_environments({"judge": raw})["judge"]
    table = environment_table(env)
    (row,) = [line for line in table.splitlines() if line.startswith("| judge-fm |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    fn = env.function("judge-fm")
    assert cells[1] == "32 prompts x 8 samples per 10 s step" and cells[2] == "25.6"
    assert int(cells[5]) == fn.reserved_concurrency
    # 25.6/s x 60 = 1,536 requests/min of the 4,000 quota; x 1,500 tokens = 2,304,000 of 5,000,000.
    assert cells[6] == "1,536 of 4,000 (38%)" and cells[7] == "2,304,000 of 5,000,000 (46%)"
    assert float(cells[8].replace(",", "")) > 0
    # The CLI prints that table for -c env=NAME.
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": {"environments": {"judge": raw}}}))
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert capacity_cli.main(["-c", "env=judge", "--cdk-json", str(cdk_json)]) == 0
    assert out.getvalue().strip() == table
