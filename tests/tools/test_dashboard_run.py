"""Issue 22 (6): the README's dashboard picture comes from a synthetic run scored by the real
handler (tools/dashboard_run.py); the numbers it draws tell the story the README tells."""

from __future__ import annotations

from pathlib import Path

from tests.cdk_context import FIXTURE_CDK_JSON
from tools import dashboard_run as run


def test_a_synthetic_run_through_the_real_handler_learns_then_collapses(tmp_path: Path) -> None:
    fn, periods = run.simulate("prod", "gsm8k", samples_per_period=40, cdk_json=FIXTURE_CDK_JSON)
    assert fn.handler == "rlvr.handler.handler" and len(periods) == run.PERIODS
    assert [p.samples for p in periods] == [40] * run.PERIODS == [len(p.rewards) for p in periods]
    # The version dimension the handler wrote (checked record by record inside simulate).
    assert {p.version for p in periods[:run.DEPLOY_PERIOD]} == {"6"}
    assert {p.version for p in periods[run.DEPLOY_PERIOD:]} == {"7"}

    def average(ps: list[run.Period]) -> float:
        values = [v for p in ps for v in p.rewards]
        return sum(values) / len(values)

    assert average(periods[20:30]) > average(periods[:10]) + 0.15  # learning
    assert sum(p.failures.get("no_answer", 0) for p in periods[:8]) > 2 * sum(
        p.failures.get("no_answer", 0) for p in periods[20:28])
    for p in periods[-3:]:  # collapse: the three percentiles meet on the format-only score
        assert run.percentile(p.rewards, 10) == run.percentile(p.rewards, 50) == run.percentile(p.rewards, 90) == 0.1
    assert run.pr_buckets([0.1, 0.1, 1.0, 0.55], 0, 1) == [50.0, 0, 0, 0, 0, 25.0, 0, 0, 0, 25.0]
    out = tmp_path / "run.png"
    run.draw(fn, periods, out)
    assert out.stat().st_size > 10_000
