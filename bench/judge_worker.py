"""The judge benchmark in a fresh interpreter (started by bench/judge_bench.py).

    python bench/judge_worker.py --samples 64 --reps 3 --result out.json

The environment points boto3 at the parent's fake Bedrock (AWS_ENDPOINT_URL_BEDROCK_RUNTIME)
and configures the rlaif handler (REWARD_SPEC, JUDGE_MODEL_ID, JUDGE_MAX_CONCURRENCY).
Measured, in this order: importing rlaif.handler (the Lambda init phase, where the Bedrock
client is built), the first (cold) invocation on a batch of distinct samples, ``reps`` warm
invocations, a batch of the same size with 8 distinct (prompt, response, reference) triples
(requests counted by the fake), and the article's sequential handler on the same batch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "lambdas"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

DISTINCT_TRIPLES = 8


class Context:
    aws_request_id = "bench"

    def __init__(self) -> None:
        self.started = time.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return int(300_000 - (time.monotonic() - self.started) * 1000)


def sample(sample_id: str, number: int) -> dict:
    return {
        "id": sample_id,
        "messages": [{"role": "user", "content": f"Question {number}: what is {number} + {number}?"},
                     {"role": "assistant", "content": f"The answer is {2 * number}."}],
        "metadata": {"reference_answer": str(2 * number)},
    }


GROUPS = 8  # the prompt-caching batch: 8 groups of 8 responses to one prompt and reference
GROUP_SIZE = 8
PROBLEM = ("A train leaves the station at 9:00 and travels at a constant speed; a second train leaves the same "
           "station later on a parallel track. Work out when and where the second train overtakes the first, "
           "showing each step, the units, and a check of the result. ")


def group_sample(group: int, member: int) -> dict:
    """A GRPO-style sample: a long shared problem statement and reference, a short response."""
    return {
        "id": f"g{group}-r{member}",
        "messages": [{"role": "user", "content": f"Problem {group}. " + PROBLEM * 24},  # ~6,100 characters
                     {"role": "assistant", "content": f"Rollout {member}: the answer is {group * 10 + member} km."}],
        "metadata": {"reference_answer": f"The second train overtakes the first after {group * 10 + 3} km." * 4},
    }


def fake_usage() -> dict:
    url = os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] + "/usage"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local fake
        return dict(json.loads(response.read())["usage"])


def groups_batch(result: str) -> int:
    """One invocation on GROUPS groups of GROUP_SIZE (interleaved, as a trainer may send them);
    writes the scores and the fake's summed token usage."""
    import rlaif.handler as rlaif

    event = [group_sample(g, m) for m in range(GROUP_SIZE) for g in range(GROUPS)]
    started = time.perf_counter()
    outputs: list = rlaif.handler(event, Context())
    seconds = time.perf_counter() - started
    Path(result).write_text(json.dumps({
        "scores": [o["aggregate_reward_score"] for o in outputs], "usage": fake_usage(),
        "seconds": seconds, "evaluations": len(event),
    }))
    return 0


def fake_count() -> int:
    url = os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] + "/count"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local fake
        return int(json.loads(response.read())["count"])


def timed(handler, event) -> float:
    started = time.perf_counter()
    outputs = handler(event, Context())
    seconds = time.perf_counter() - started
    if [o["id"] for o in outputs] != [s["id"] for s in event]:
        raise SystemExit("one output per sample, in order, was not returned")
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--result", required=True)
    ap.add_argument("--groups-batch", action="store_true", help="the prompt-caching batch only")
    args = ap.parse_args()
    if args.groups_batch:
        return groups_batch(args.result)
    n = args.samples

    started = time.perf_counter()
    import rlaif.handler as rlaif

    init = time.perf_counter() - started
    cold = timed(rlaif.handler, [sample(f"c-{i}", i) for i in range(n)])
    warm = [timed(rlaif.handler, [sample(f"w{r}-{i}", 1000 * (r + 1) + i) for i in range(n)])
            for r in range(args.reps)]
    before = fake_count()
    dedup = timed(rlaif.handler, [sample(f"d-{i}", 5000 + i % DISTINCT_TRIPLES) for i in range(n)])
    dedup_calls = fake_count() - before

    from bench.naive_judge import lambda_handler as naive

    naive([sample("warm-up", 9999)], None)  # the naive handler's client, built outside the timing
    sequential = timed(naive, [sample(f"s-{i}", 7000 + i) for i in range(n)])

    Path(args.result).write_text(json.dumps({
        "init": init, "cold": cold, "warm": statistics.median(warm), "warm_all": warm,
        "dedup": dedup, "dedup_calls": dedup_calls, "sequential": sequential,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
