"""A dashboard picture with data in it: a synthetic training run scored by the real handler.

    .venv/bin/python tools/dashboard_run.py docs/dashboard-run.png [--env prod --function gsm8k]

A simulated policy answers arithmetic word problems for 4 hours (48 periods of 5 minutes,
the dashboard's period). Each period's rollouts go through the function's real handler
(``rlvr.handler``, loaded with the environment the stack gives that Lambda, and
``AWS_LAMBDA_FUNCTION_VERSION`` as Lambda sets it), and the panels are computed from the EMF
records the handler prints, the way CloudWatch computes them: p10 / p50 / p90 and average
per period over the per-sample ``Reward`` values, ``PR(a:b)`` buckets for the histogram,
``Failure_<reason>`` sums over ``Samples``, and each version's p50 from the version dimension.

The story the picture tells, in three phases:
1. learning on version 6: right answers grow from about 30% to 70%, unanswered ones vanish;
2. version 7 is deployed (the by-version panel: one line ends, the next starts) and learning goes on;
3. collapse: the policy drifts to a format-only answer (``#### 0``: the format's 0.1 and nothing
   else), until p10, p50 and p90 meet on 0.1 and one histogram bar towers over the others:
   what the ``Reward-Collapse`` alarm fires on.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PERIODS = 48
PERIOD_MINUTES = 5
DEPLOY_PERIOD = 18  # version 7 goes live
COLLAPSE_PERIOD = 32  # the policy starts to collapse
VERSIONS = ("6", "7")
BATCH = 16  # samples per invocation


@dataclass
class Period:
    version: str
    rewards: list[float] = field(default_factory=list)
    samples: int = 0
    failed: int = 0
    failures: dict[str, int] = field(default_factory=dict)


def policy_answer(rng: random.Random, period: int, a: int, b: int) -> str:
    """One rollout of the simulated policy at ``period``."""
    total = a + b
    progress = min(period, COLLAPSE_PERIOD) / COLLAPSE_PERIOD
    collapse = max(0.0, (period - COLLAPSE_PERIOD) / (PERIODS - COLLAPSE_PERIOD - 4))
    if rng.random() < min(0.97, collapse):
        return "#### 0"
    draw = rng.random()
    no_answer = 0.25 * (1 - progress) + 0.02
    multiple = 0.06 * (1 - progress) + 0.01
    correct = 0.3 + 0.4 * progress
    if draw < no_answer:
        return "<thinking>Adding the two amounts.</thinking>\nI am not sure how to finish this."
    if draw < no_answer + multiple:
        return f"<thinking>{a} + {b}</thinking>\n#### {total}\n#### {total + 1}"
    if draw < no_answer + multiple + correct:
        return f"<thinking>{a} + {b} = {total}</thinking>\nShe has {total} in all.\n#### {total}"
    wrong = total + rng.choice([-10, -2, -1, 1, 2, 10])
    return f"<thinking>{a} + {b} = {wrong}</thinking>\nShe has {wrong} in all.\n#### {wrong}"


def rollouts(rng: random.Random, period: int, count: int) -> list[dict[str, Any]]:
    samples = []
    for i in range(count):
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        samples.append({
            "id": f"p{period}-{i}",
            "messages": [{"role": "user", "content": f"Ana has {a} apples and buys {b} more. How many now?"},
                         {"role": "assistant", "content": policy_answer(rng, period, a, b)}],
            "metadata": {"reference_answer": f"{a} + {b} = {a + b}\n#### {a + b}"},
        })
    return samples


def simulate(env_name: str = "prod", function: str = "gsm8k", samples_per_period: int = 120, seed: int = 7,
             periods: int = PERIODS, cdk_json: Path | None = None) -> tuple[Any, list[Period]]:
    """Run the synthetic training run through the real handler; (function config, periods)."""
    for path in (ROOT, ROOT / "lambdas"):  # stacks.config and reward_kit, as app.py finds them
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    from reward_kit import names
    from stacks.config import parse_environments

    context = json.loads((cdk_json or ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    fn = parse_environments(context["environments"], context.get("tags"))[env_name].function(function)
    rng = random.Random(seed)
    result: list[Period] = []
    saved = dict(os.environ)
    try:
        os.environ.update(fn.environment_variables())
        os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        module_name = fn.handler.rsplit(".", 1)[0]
        for period in range(periods):
            version = VERSIONS[period >= DEPLOY_PERIOD]
            if not result or result[-1].version != version:  # a new version: a new sandbox
                os.environ[names.ENV_LAMBDA_FUNCTION_VERSION] = version
                module = importlib.reload(importlib.import_module(module_name))
            current = Period(version)
            events = rollouts(rng, period, samples_per_period)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                for start in range(0, len(events), BATCH):
                    module.handler(events[start:start + BATCH], None)
            for line in out.getvalue().splitlines():
                record = json.loads(line)
                if "_aws" not in record:
                    continue
                assert record[names.METRIC_DIMENSION_VERSION] == version
                values = record.get(names.METRIC_AGGREGATE_REWARD, [])
                current.rewards += values if isinstance(values, list) else [values]
                current.samples += record.get(names.METRIC_SAMPLES, 0)
                current.failed += record.get(names.METRIC_FAILED_SAMPLES, 0)
                for key, value in record.items():
                    if key.startswith(names.METRIC_FAILURE_PREFIX):
                        reason = key[len(names.METRIC_FAILURE_PREFIX):]
                        current.failures[reason] = current.failures.get(reason, 0) + value
            result.append(current)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return fn, result


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (CloudWatch's pNN over raw data points)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def pr_buckets(values: list[float], lo: float, hi: float, buckets: int = 10) -> list[float]:
    """% of values per bucket, PR(a:b) (a < v <= b; the first bucket also counts v == lo)."""
    step = (hi - lo) / buckets
    counts = [0] * buckets
    for v in values:
        index = 0 if v <= lo + step else min(buckets - 1, int(-(-(v - lo) // step)) - 1)
        counts[index] += 1
    return [100 * c / len(values) for c in counts] if values else [0.0] * buckets


def draw(fn: Any, periods: list[Period], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [i * PERIOD_MINUTES for i in range(len(periods))]
    fig, axes = plt.subplots(2, 2, figsize=(13, 7.2))
    _draw_aggregate(axes[0][0], fn, periods, minutes)
    _draw_histogram(axes[0][1], periods)
    _draw_failures(axes[1][0], periods, minutes)
    _draw_versions(axes[1][1], periods, minutes)
    total = sum(x.samples for x in periods)
    fig.suptitle(f"Synthetic run through the real handler ({fn.handler}, {fn.function_name}'s spec), {total:,} samples:\n"
                 f"healthy learning; version 7 deployed at {DEPLOY_PERIOD * PERIOD_MINUTES} min; "
                 f"collapse to a format-only answer from {COLLAPSE_PERIOD * PERIOD_MINUTES} min", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)


def _draw_aggregate(ax: Any, fn: Any, periods: list[Period], minutes: list[int]) -> None:
    for p, style in ((10, ":"), (50, "-"), (90, "--")):
        ax.plot(minutes, [percentile(x.rewards, p) for x in periods], style, label=f"p{p}")
    ax.plot(minutes, [sum(x.rewards) / len(x.rewards) for x in periods], label="average", alpha=0.7)
    ax.set_ylim(-0.03, 1.05)
    ax.set_title(f"{fn.name} aggregate: p10 / p50 / p90 / average (5-minute periods)", fontsize=9)
    ax.axvspan(COLLAPSE_PERIOD * PERIOD_MINUTES, minutes[-1], color="#f8d0d0", alpha=0.4, label="collapse")
    ax.legend(fontsize=7, loc="lower left")


def _draw_histogram(ax: Any, periods: list[Period]) -> None:
    healthy = [v for x in periods[:COLLAPSE_PERIOD] for v in x.rewards]
    collapsed = [v for x in periods[-6:] for v in x.rewards]
    edges = [i / 10 for i in range(10)]
    ax.bar([e + 0.02 for e in edges], pr_buckets(healthy, 0, 1), width=0.045, label="healthy (first 2h40)")
    ax.bar([e + 0.055 for e in edges], pr_buckets(collapsed, 0, 1), width=0.045, label="collapsed (last 30 min)")
    ax.set_xticks(edges + [1.0])
    ax.set_title("aggregate reward histogram: % of samples per PR(a:b) bucket", fontsize=9)
    ax.set_ylabel("% of samples", fontsize=8)
    ax.legend(fontsize=7)


def _draw_failures(ax: Any, periods: list[Period], minutes: list[int]) -> None:
    reasons = sorted({r for x in periods for r in x.failures})
    ax.plot(minutes, [100 * x.failed / x.samples for x in periods], label="all failures")
    for reason in reasons:
        ax.plot(minutes, [100 * x.failures.get(reason, 0) / x.samples for x in periods], label=reason)
    ax.set_title("failed samples by reason (% of samples)", fontsize=9)
    ax.set_xlabel("minutes into the run", fontsize=8)
    ax.legend(fontsize=7)


def _draw_versions(ax: Any, periods: list[Period], minutes: list[int]) -> None:
    for version in VERSIONS:
        points = [(m, percentile(x.rewards, 50)) for m, x in zip(minutes, periods) if x.version == version]
        ax.plot([m for m, _ in points], [v for _, v in points], marker=".", label=f"version {version}")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlim(0, minutes[-1])
    ax.set_title("aggregate p50 by version (the version dimension)", fontsize=9)
    ax.set_xlabel("minutes into the run", fontsize=8)
    ax.legend(fontsize=7)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("png", type=Path)
    parser.add_argument("--env", default="prod")
    parser.add_argument("--function", default="gsm8k")
    parser.add_argument("--samples-per-period", type=int, default=120)
    args = parser.parse_args(argv)
    fn, periods = simulate(args.env, args.function, args.samples_per_period)
    draw(fn, periods, args.png)
    print(f"wrote {args.png} ({sum(p.samples for p in periods):,} samples through {fn.handler})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
