"""stacks.capacity: the reserved-concurrency model and the sizing table it prints."""

from __future__ import annotations

import math

import pytest

from stacks import capacity, judge_capacity
from stacks.capacity import cli as capacity_cli
from tests import ROOT
from tests.cdk_context import FIXTURE_CDK_JSON


def test_littles_law_with_batch_overhead_and_headroom() -> None:
    # 100/s, 4 samples per call at 0.5 s + 0.1 s overhead: 25 calls/s x 2.1 s x 1.5 = 78.75
    assert capacity.seconds_per_invocation(0.5, 4, 0.1) == pytest.approx(2.1)
    assert capacity.reserved_concurrency(100, 0.5, 4) == 79
    assert capacity.reserved_concurrency(100, 0.5, 4, headroom=1.0, invocation_overhead_seconds=0) == 50


def test_exact_products_are_not_rounded_up_by_float_noise() -> None:
    # 100/s x (0.2 + 0.1) s x 1.5 is 45.00000000000001 in binary floating point.
    assert 100 * (0.2 + 0.1) * 1.5 > 45
    assert capacity.reserved_concurrency(100, 0.2, 1) == 45
    assert capacity.reserved_concurrency(400, 0.05, 1) == 90  # the shipped prod gsm8k


def test_minimum_reserved_is_one() -> None:
    assert capacity.reserved_concurrency(0.001, 0.001, 1) == 1


def test_bigger_batches_need_less_concurrency_for_the_same_rate() -> None:
    values = [capacity.reserved_concurrency(400, 0.05, batch) for batch in (1, 4, 16, 64)]
    assert values == sorted(values, reverse=True)
    assert values[0] == math.ceil(400 * 0.15 * 1.5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target_evaluations_per_second": 0},
        {"expected_seconds_per_sample": -1},
        {"samples_per_invocation": 0},
        {"headroom": 0.9},
        {"invocation_overhead_seconds": -0.1},
    ],
)
def test_invalid_inputs(kwargs: dict) -> None:
    args = {"target_evaluations_per_second": 10, "expected_seconds_per_sample": 1.0, "samples_per_invocation": 1}
    args.update(kwargs)
    headroom = args.pop("headroom", capacity.DEFAULT_HEADROOM)
    overhead = args.pop("invocation_overhead_seconds", capacity.DEFAULT_INVOCATION_OVERHEAD_SECONDS)
    with pytest.raises(ValueError):
        capacity.reserved_concurrency(**args, headroom=headroom, invocation_overhead_seconds=overhead)


def test_account_limit_keeps_100_unreserved() -> None:
    assert capacity.max_reservable() == 900
    assert capacity.check_account_fits([450, 450]) == 900
    with pytest.raises(capacity.CapacityError, match="totals 901.*at most 900 reservable.*at least 1001"):
        capacity.check_account_fits([450, 451])
    assert capacity.check_account_fits([1650], account_concurrency_limit=1750) == 1650
    assert capacity.required_account_limit(1650) == 1750


def test_timeout_check_uses_the_safety_factor() -> None:
    # 10 samples x 1 s + 0.1 s = 10.1 s; x 3 = 30.3 s
    assert capacity.timeout_fits(31, 1.0, 10)
    assert not capacity.timeout_fits(30, 1.0, 10)
    assert capacity.timeout_fits(30, 0.9, 11, 0.1)  # 3 x 10.0 = 30.0 exactly (float noise tolerated)


def test_sizing_rows_for_the_readme_rates() -> None:
    rows = {row.evaluations_per_second: row for row in capacity.sizing_rows()}
    assert [r.reserved_concurrency for r in rows.values()] == [17, 83, 165, 660, 1650]
    assert all(rows[rate].fits_default_quota for rate in (10, 50, 100, 400))
    assert not rows[1000].fits_default_quota and rows[1000].required_account_limit == 1750


def test_sizing_table_marks_the_quota_raise() -> None:
    table = capacity.sizing_table()
    assert "| 400 | 1.1 | 660 | 760 | yes |" in table
    assert "| 1,000 | 1.1 | 1,650 | 1,750 | no: needs quota > 1,000" in table


def test_cli_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = ["--cdk-json", str(FIXTURE_CDK_JSON)]  # the cost table's environments: the test fixture's
    assert capacity_cli.main(fixture) == 0
    out = capsys.readouterr().out
    # The sizing table, the judge table, then the cost table.
    assert out.startswith(capacity.sizing_table() + "\n\n" + judge_capacity.judge_sizing_table() + "\n\n")
    capacity_cli.main([*fixture, "--rates", "400", "--judge-tokens-per-call", "2000"])
    assert "| 400 | 24,000 | 48,000,000 |" in capsys.readouterr().out
    capacity_cli.main([*fixture, "--rates", "20", "--seconds-per-sample", "0.5", "--samples-per-invocation", "2"])
    assert "| 20 | 1.1 | 17 | 117 | yes |" in capsys.readouterr().out  # 10 calls/s x 1.1 s x 1.5 = 16.5


@pytest.mark.parametrize(
    "seconds_per_sample",
    [capacity.TABLE_SECONDS_PER_SAMPLE, 0.05, capacity.ISOLATED_SECONDS_PER_SAMPLE],
    ids=["judge-profile", "rlvr-profile", "isolated-math-profile"],
)
def test_readme_sizing_tables_come_from_the_model(seconds_per_sample: float) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = capacity.sizing_table(expected_seconds_per_sample=seconds_per_sample)
    assert table in text, (
        "README sizing table differs from "
        f"`python -m stacks.capacity --seconds-per-sample {seconds_per_sample:g}`"
    )


def test_readme_judge_table_comes_from_the_model() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert judge_capacity.judge_sizing_table() in text, (
        "README judge table differs from `python -m stacks.capacity`")
