"""Capacity model for reward Lambdas: how much reserved concurrency a target rate needs.

Pure functions, no CDK import and no import of ``stacks.config``: the config layer uses them
at synth time. ``python -m stacks.capacity`` (``cli.py``) prints the sizing table quoted in the
README, with the judge's Bedrock requests and tokens per minute beside it
(``stacks/judge_capacity.py``), followed by the cost table (``stacks.cost``) of the
environments in cdk.json.

Model (Little's law; Lambda developer guide: Understanding Lambda function scaling)::

    seconds_per_invocation = samples_per_invocation * expected_seconds_per_sample
                             + invocation_overhead_seconds
    invocations_per_second = target_evaluations_per_second / samples_per_invocation
    reserved_concurrency   = ceil(invocations_per_second * seconds_per_invocation * headroom)

* ``target_evaluations_per_second``: samples (rollouts) the trainer sends per second.
* ``expected_seconds_per_sample``: grading time of one sample inside the handler.
* ``samples_per_invocation``: batch size per Lambda call. Not documented by AWS (1 to
  thousands); 1 is the conservative assumption.
* ``invocation_overhead_seconds`` (default 0.1 s): fixed per-call cost that does not depend
  on the batch (invoke round trip, event parsing, EMF metrics flush, log line). Cold starts
  are absorbed by ``headroom``, not by this number.
* ``headroom`` (default 1.5): margin for bursts, cold starts and latency tails.

Account limits (Lambda quotas): the default is 1,000 concurrent executions per region and
AWS keeps at least 100 unreserved, so an account can reserve at most ``limit - 100`` across
all functions. The model itself never clips: ``reserved_concurrency`` returns what the rate
needs, and ``check_account_fits`` raises when the total does not fit, so the sizing table
can say "needs a quota raise" instead of silently under-provisioning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

DEFAULT_HEADROOM = 1.5
DEFAULT_INVOCATION_OVERHEAD_SECONDS = 0.1
DEFAULT_ACCOUNT_CONCURRENCY_LIMIT = 1000
MIN_UNRESERVED_CONCURRENCY = 100
MIN_RESERVED_CONCURRENCY = 1
# The timeout must cover this many times the expected invocation time (tail latency, GC,
# throttled downstreams); checked at synth time.
TIMEOUT_SAFETY_FACTOR = 3.0
LAMBDA_MAX_TIMEOUT_SECONDS = 900

# Reference profile for the README sizing table: one sample per invocation (the
# conservative reading of an undocumented batch size) graded in 1 s.
TABLE_RATES = (10, 50, 100, 400, 1000)
TABLE_SECONDS_PER_SAMPLE = 1.0
TABLE_SAMPLES_PER_INVOCATION = 1

# Seconds per sample of a grader that runs in killable worker processes (math: math-verify in
# reward_kit.isolation's workers), measured, not guessed: `make bench`, math section
# (bench/math_bench.py), row "math: 64 samples per invocation (warm, ms)", ours: 135.7 ms per
# 64 samples on the 2-core development machine (2.1 ms per sample; math-verify in-process
# 220.8 ms, paired ratio 0.99x; a warm 1-sample invocation took 0.9 ms in all). Runs under
# heavy load from other jobs measured up to 7 ms per sample. The README's math sizing table
# uses it; size a real function from its own dry run.
ISOLATED_SECONDS_PER_SAMPLE = 0.0021

# Products like 100 * 0.3 * 1.5 come out as 45.00000000000001 in binary floating point;
# rounding to this many decimals before ceil() keeps exact results exact.
_ROUND_DECIMALS = 9


class CapacityError(ValueError):
    """The requested capacity does not fit the account's Lambda concurrency limit."""


def seconds_per_invocation(
    expected_seconds_per_sample: float,
    samples_per_invocation: int,
    invocation_overhead_seconds: float = DEFAULT_INVOCATION_OVERHEAD_SECONDS,
) -> float:
    """Expected wall time of one invocation: the batch's grading time plus the fixed overhead."""
    return samples_per_invocation * expected_seconds_per_sample + invocation_overhead_seconds


def reserved_concurrency(
    target_evaluations_per_second: float,
    expected_seconds_per_sample: float,
    samples_per_invocation: int = 1,
    *,
    headroom: float = DEFAULT_HEADROOM,
    invocation_overhead_seconds: float = DEFAULT_INVOCATION_OVERHEAD_SECONDS,
) -> int:
    """Reserved concurrency one function needs for the target rate (>= 1, never clipped)."""
    if target_evaluations_per_second <= 0:
        raise ValueError("target_evaluations_per_second must be > 0")
    if expected_seconds_per_sample <= 0:
        raise ValueError("expected_seconds_per_sample must be > 0")
    if samples_per_invocation < 1:
        raise ValueError("samples_per_invocation must be >= 1")
    if headroom < 1:
        raise ValueError("headroom must be >= 1")
    if invocation_overhead_seconds < 0:
        raise ValueError("invocation_overhead_seconds must be >= 0")
    invocations_per_second = target_evaluations_per_second / samples_per_invocation
    busy = invocations_per_second * seconds_per_invocation(
        expected_seconds_per_sample, samples_per_invocation, invocation_overhead_seconds
    )
    return max(MIN_RESERVED_CONCURRENCY, math.ceil(round(busy * headroom, _ROUND_DECIMALS)))


def executor_concurrency(graders: Iterable[tuple[int, int]]) -> int:
    """Reserved concurrency of an environment's code executor (0 without code functions).

    ``graders``: (reserved concurrency, samples it runs at once) of each code function. A
    grader sends each sample of its batch to the executor at once (every sample gets its share
    of the time left, not a place in a queue), so its execution environments can hold
    ``reserved x samples at once`` executor invocations: the executor gets that sum, so a
    grader inside its own reserved concurrency is never throttled by the executor (a throttle
    fails the grader's invocation). The graders' reserved concurrency already carries the
    headroom. ``samples at once`` is the function's ``samples_per_invocation``: larger batches
    than configured can exceed it.
    """
    total = 0
    for reserved, at_once in graders:
        if reserved < 0 or at_once < 1:
            raise ValueError("a code function needs reserved concurrency >= 0 and samples at once >= 1")
        total += reserved * at_once
    return total


def max_reservable(account_concurrency_limit: int = DEFAULT_ACCOUNT_CONCURRENCY_LIMIT) -> int:
    """Concurrency an account can reserve in total (AWS keeps 100 unreserved)."""
    return account_concurrency_limit - MIN_UNRESERVED_CONCURRENCY


def required_account_limit(total_reserved: int) -> int:
    """Smallest account concurrency quota that can hold ``total_reserved``."""
    return total_reserved + MIN_UNRESERVED_CONCURRENCY


def check_account_fits(
    reserved: Iterable[int],
    account_concurrency_limit: int = DEFAULT_ACCOUNT_CONCURRENCY_LIMIT,
) -> int:
    """Return the total of ``reserved``; raise CapacityError if it leaves < 100 unreserved."""
    total = sum(reserved)
    if total > max_reservable(account_concurrency_limit):
        raise CapacityError(
            f"reserved concurrency totals {total}, but an account limit of "
            f"{account_concurrency_limit} leaves at most {max_reservable(account_concurrency_limit)} "
            f"reservable ({MIN_UNRESERVED_CONCURRENCY} must stay unreserved); "
            f"a quota of at least {required_account_limit(total)} is needed"
        )
    return total


def timeout_fits(
    timeout_seconds: float,
    expected_seconds_per_sample: float,
    samples_per_invocation: int,
    invocation_overhead_seconds: float = DEFAULT_INVOCATION_OVERHEAD_SECONDS,
    safety_factor: float = TIMEOUT_SAFETY_FACTOR,
) -> bool:
    """True when the timeout covers ``safety_factor`` times the expected invocation time."""
    needed = safety_factor * seconds_per_invocation(
        expected_seconds_per_sample, samples_per_invocation, invocation_overhead_seconds
    )
    return round(needed, _ROUND_DECIMALS) <= timeout_seconds


@dataclass(frozen=True)
class SizingRow:
    evaluations_per_second: float
    seconds_per_invocation: float
    reserved_concurrency: int
    required_account_limit: int
    fits_default_quota: bool


def sizing_rows(
    rates: Sequence[float] = TABLE_RATES,
    expected_seconds_per_sample: float = TABLE_SECONDS_PER_SAMPLE,
    samples_per_invocation: int = TABLE_SAMPLES_PER_INVOCATION,
    *,
    headroom: float = DEFAULT_HEADROOM,
    invocation_overhead_seconds: float = DEFAULT_INVOCATION_OVERHEAD_SECONDS,
) -> list[SizingRow]:
    rows = []
    for rate in rates:
        reserved = reserved_concurrency(
            rate,
            expected_seconds_per_sample,
            samples_per_invocation,
            headroom=headroom,
            invocation_overhead_seconds=invocation_overhead_seconds,
        )
        rows.append(
            SizingRow(
                evaluations_per_second=rate,
                seconds_per_invocation=seconds_per_invocation(
                    expected_seconds_per_sample, samples_per_invocation, invocation_overhead_seconds
                ),
                reserved_concurrency=reserved,
                required_account_limit=required_account_limit(reserved),
                fits_default_quota=reserved <= max_reservable(DEFAULT_ACCOUNT_CONCURRENCY_LIMIT),
            )
        )
    return rows


def _fmt(number: float) -> str:
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,g}"


def sizing_table(
    rates: Sequence[float] = TABLE_RATES,
    expected_seconds_per_sample: float = TABLE_SECONDS_PER_SAMPLE,
    samples_per_invocation: int = TABLE_SAMPLES_PER_INVOCATION,
    *,
    headroom: float = DEFAULT_HEADROOM,
    invocation_overhead_seconds: float = DEFAULT_INVOCATION_OVERHEAD_SECONDS,
) -> str:
    """The README sizing table (markdown), computed by this model."""
    lines = [
        f"Profile: {_fmt(samples_per_invocation)} sample(s) per invocation, "
        f"{expected_seconds_per_sample:g} s per sample, {invocation_overhead_seconds:g} s "
        f"overhead per invocation, headroom {headroom:g}; default account quota "
        f"{DEFAULT_ACCOUNT_CONCURRENCY_LIMIT:,} concurrent executions "
        f"({max_reservable():,} reservable).",
        "",
        "| evaluations/s | seconds per invocation | reserved concurrency | account quota needed | fits the default quota? |",
        "|---:|---:|---:|---:|---|",
    ]
    for row in sizing_rows(
        rates,
        expected_seconds_per_sample,
        samples_per_invocation,
        headroom=headroom,
        invocation_overhead_seconds=invocation_overhead_seconds,
    ):
        fits = (
            "yes"
            if row.fits_default_quota
            else f"no: needs quota > {DEFAULT_ACCOUNT_CONCURRENCY_LIMIT:,} "
            f"(set account_concurrency_limit after the raise)"
        )
        lines.append(
            f"| {_fmt(row.evaluations_per_second)} | {row.seconds_per_invocation:g} | "
            f"{row.reserved_concurrency:,} | {row.required_account_limit:,} | {fits} |"
        )
    return "\n".join(lines)
