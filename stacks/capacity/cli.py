"""``python -m stacks.capacity``: the sizing table, the judge's Bedrock table, then the cost
table of the environments in cdk.json; ``-c env=NAME``: one environment's functions as sized
(``stacks.environment_sizing``). The model itself is ``stacks.capacity``; this module reads
cdk.json through the same parser ``app.py`` uses.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Sequence

from stacks import cost, judge_capacity
from stacks.config import parse_environments
from stacks.environment_sizing import environment_table

from . import (
    DEFAULT_HEADROOM,
    DEFAULT_INVOCATION_OVERHEAD_SECONDS,
    TABLE_RATES,
    TABLE_SAMPLES_PER_INVOCATION,
    TABLE_SECONDS_PER_SAMPLE,
    sizing_table,
)

ROOT = Path(__file__).resolve().parents[2]


def shipped_environments(cdk_json: Path) -> dict:
    """The environments of a cdk.json, validated by the same parser ``app.py`` uses."""
    context = json.loads(cdk_json.read_text(encoding="utf-8")).get("context", {})
    return parse_environments(context.get("environments"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.capacity",
        description="Print the reserved-concurrency sizing table and the judge's Bedrock table (markdown), "
        "then the cost per evaluation of the environments in cdk.json.",
    )
    parser.add_argument("--rates", type=float, nargs="+", default=list(TABLE_RATES))
    parser.add_argument("--seconds-per-sample", type=float, default=TABLE_SECONDS_PER_SAMPLE)
    parser.add_argument("--samples-per-invocation", type=int, default=TABLE_SAMPLES_PER_INVOCATION)
    parser.add_argument("--headroom", type=float, default=DEFAULT_HEADROOM)
    parser.add_argument("--overhead", type=float, default=DEFAULT_INVOCATION_OVERHEAD_SECONDS)
    parser.add_argument("--judge-tokens-per-call", type=int, default=judge_capacity.TABLE_TOKENS_PER_CALL,
                        help="Bedrock tokens (input + output) per judge call, for the judge table's reference "
                        "profile (environments use judge_input_tokens_per_call / judge_output_tokens_per_call)")
    parser.add_argument("--cdk-json", type=Path, default=ROOT / "cdk.json", help="environments for the cost table")
    parser.add_argument("--price", action="append", default=[], metavar="NAME=VALUE",
                        help="override a price of stacks.cost.PRICES, e.g. logs_ingestion_per_gb=0.25 (repeatable)")
    parser.add_argument("-c", dest="context", action="append", default=[], metavar="env=NAME",
                        help="as for cdk: -c env=NAME prints that environment's functions as sized (stacks.environment_sizing)")
    args = parser.parse_args(argv)
    selected = dict(item.split("=", 1) for item in args.context if "=" in item).get("env")
    if selected:
        environments = shipped_environments(args.cdk_json)
        if selected not in environments:
            parser.error(f"env: must be one of {list(environments)}, got {selected!r}")
        print(environment_table(environments[selected], cost.with_overrides(cost.PRICES, args.price)))
        return 0
    print(
        sizing_table(
            args.rates,
            args.seconds_per_sample,
            args.samples_per_invocation,
            headroom=args.headroom,
            invocation_overhead_seconds=args.overhead,
        )
    )
    print()
    print(judge_capacity.judge_sizing_table(args.rates, args.judge_tokens_per_call))
    try:
        prices = cost.with_overrides(cost.PRICES, args.price)
    except ValueError as exc:
        parser.error(str(exc))
    profiles = cost.environment_profiles(shipped_environments(args.cdk_json))
    print()
    print(cost.cost_table(profiles, prices))
    caching = cost.judge_caching_table(profiles, prices)
    if caching:
        print()
        print("Judge prompt caching (configured functions):")
        print()
        print(caching)
    print()
    print(cost.example_caching_table(prices))
    return 0
