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
    args = ap.parse_args()
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
