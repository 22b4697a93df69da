"""One benchmark measurement in a fresh interpreter (started by bench/run.py).

    python bench/worker.py --impl ours naive --data batch.json --batch-size 8 --reps 7 --result out.json

The parent points this process's stdout *and* stderr at one regular file, so everything a
handler writes (print, Powertools' JSON log lines, EMF metric blobs, warnings) lands there,
whatever stream object the logging library grabbed at import time. Bytes per invocation are
the growth of that file (fstat on fd 1), measured after flushing Python's buffers. The
flush is inside the timed region: writing logs is part of a handler's cost. Deserializing the
event is not (Lambda's runtime does it before calling the handler, at the same cost for both).

``--batch-size b`` splits the data into ``len // b`` events of ``b`` samples (a remainder is
left out); one repetition invokes a handler once per event, so every batch size scores
(nearly) the same samples and the bytes and seconds are totals over the repetition.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "lambdas"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))


class FakeLambdaContext:
    """The attributes Powertools' inject_lambda_context reads."""

    function_name = "reward-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:reward-bench"
    log_group_name = "/aws/lambda/reward-bench"
    log_stream_name = "2024/01/01/[$LATEST]bench"

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def _load_handler(impl: str):
    if impl == "ours":
        from rlvr.handler import handler  # needs REWARD_SPEC in the environment

        return handler
    if impl == "naive":
        from bench.naive_handler import lambda_handler

        return lambda_handler
    raise SystemExit(f"unknown --impl {impl!r}")


def _flush() -> None:
    sys.stdout.flush()
    sys.stderr.flush()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", required=True, nargs="+", choices=("ours", "naive"))
    ap.add_argument("--data", required=True)
    ap.add_argument("--batch-size", type=int, default=0, help="samples per invocation (0: all of them)")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--result", required=True)
    args = ap.parse_args()

    samples = json.loads(Path(args.data).read_text(encoding="utf-8"))
    size = args.batch_size or len(samples)
    # Each event serialized once; every invocation deserializes its own copy, as Lambda does.
    events = [json.dumps(samples[i : i + size], ensure_ascii=False) for i in range(0, len(samples) - size + 1, size)]
    # Cold start is measured separately (import time); here only warm invocations count.
    handlers = {impl: _load_handler(impl) for impl in args.impl}

    # One unmeasured pass each: first-call work (regex compiles, metric set-up, growing the
    # allocator's memory pools) is a cold-start cost, not throughput. With a small warm-up
    # the first few measured calls are ~1.7x slower.
    for impl, handler in handlers.items():
        for number, text in enumerate(events):
            handler(json.loads(text), FakeLambdaContext(f"warmup-{impl}-{number}"))
        _flush()

    # Handlers take turns (order flipped every repetition), so a burst of load from anything
    # else on the machine lands on both instead of skewing the ratio.
    results: dict[str, dict[str, Any]] = {
        impl: {"seconds": [], "bytes": [], "outputs": None, "invocations": len(events)} for impl in handlers
    }
    order = list(handlers)
    for rep in range(args.reps):
        for impl in order if rep % 2 == 0 else order[::-1]:
            handler = handlers[impl]
            outputs = []
            # Fresh events for every invocation, deserialized before the clock starts: Lambda's
            # runtime parses the event before it calls the handler, and parsing costs both
            # handlers the same, so timing it would only blur the handlers' own difference.
            fresh = [json.loads(text) for text in events]
            before = os.fstat(1).st_size
            t0 = time.perf_counter()
            for number, event in enumerate(fresh):
                outputs += handler(event, FakeLambdaContext(f"bench-{impl}-{rep:04d}-{number}"))
            _flush()
            results[impl]["seconds"].append(time.perf_counter() - t0)
            results[impl]["bytes"].append(os.fstat(1).st_size - before)
            results[impl]["outputs"] = outputs

    Path(args.result).write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
