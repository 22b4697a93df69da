"""``make bench``, judge section: the rlaif handler against a fake Bedrock on 127.0.0.1 that
answers every Converse call after a fixed latency (200 ms), measured in one run beside the
article's approach (one call after the other).

Targets (issue 9): a batch of ``samples`` distinct samples, cold (the first invocation of a
fresh interpreter, after the handler's import) and warm, within 1.5x of the ideal
ceil(samples / concurrency) x latency; a batch with 8 distinct (prompt, response, reference)
triples makes at most 8 calls.

Prompt caching (issue 21): 8 groups of 8 responses (each group one problem and reference,
~1,900 tokens with the system prompt) in one invocation, once with caching and once with JUDGE_PROMPT_CACHING=false,
against a fake that counts tokens from the text and models Bedrock's cache
(``tools.fake_bedrock.PromptCache``). Reported: input tokens paid per evaluation (uncached
input plus cache writes; reads are billed at a fraction, shown apart). Targets: the same
scores both ways, and at most 1/3 of the input tokens paid without caching.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.fake_bedrock import FakeBedrock  # noqa: E402

TARGET_CACHED_PAID_RATIO = 1 / 3

WORKER = ROOT / "bench" / "judge_worker.py"
TARGET_IDEAL_RATIO = 1.5
JUDGE_SPEC = {"grader": "judge", "rubric": "Reward correct answers.", "name": "quality"}
MODEL_ID = "us.amazon.nova-pro-v1:0"
_HANDLER_ENV_PREFIXES = ("POWERTOOLS_", "REWARD_", "JUDGE_", "AWS_")


def worker_env(url: str, concurrency: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_HANDLER_ENV_PREFIXES)}
    env.update({
        "PYTHONPATH": os.pathsep.join([str(ROOT / "lambdas"), str(ROOT)]),
        "REWARD_SPEC": json.dumps(JUDGE_SPEC),
        "JUDGE_MODEL_ID": MODEL_ID,
        "JUDGE_MAX_CONCURRENCY": str(concurrency),
        "POWERTOOLS_SERVICE_NAME": "reward-bench",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",  # Lambda sets both; boto3.client() reads this one
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": url,
    })
    return env


def measure(samples: int, latency: float, concurrency: int, reps: int) -> dict:
    fake = FakeBedrock().start()
    try:
        fake.delay_seconds = latency
        fake.responder = lambda index, body: '{"score": 7, "reason": "fine"}'
        with tempfile.TemporaryDirectory(prefix="judge-bench-") as tmp:
            result = Path(tmp) / "result.json"
            log = Path(tmp) / "log.txt"
            cmd = [sys.executable, str(WORKER), "--samples", str(samples), "--reps", str(reps), "--result", str(result)]
            with open(log, "wb") as sink:
                proc = subprocess.run(cmd, stdout=sink, stderr=subprocess.STDOUT, env=worker_env(fake.url, concurrency),
                                      cwd=ROOT)
            if proc.returncode != 0:
                tail = log.read_bytes()[-2000:].decode("utf-8", "replace")
                raise RuntimeError(f"judge bench worker failed (exit {proc.returncode}):\n{tail}")
            return json.loads(result.read_text())
    finally:
        fake.stop()


def _score_from_response(index: int, body: dict) -> str:
    # A deterministic judge: the score depends on the response block only.
    text = "".join(block.get("text", "") for block in body["messages"][0]["content"])
    response = text.rsplit("<candidate_response>", 1)[-1]
    return json.dumps({"score": sum(response.encode()) % 11, "reason": "ok"})


def measure_caching(latency: float, concurrency: int) -> dict[bool, dict]:
    """The groups batch with caching on and off, each against a fresh fake."""
    results = {}
    for caching in (True, False):
        fake = FakeBedrock().start()
        try:
            fake.delay_seconds = latency
            fake.count_tokens = True
            fake.responder = _score_from_response
            with tempfile.TemporaryDirectory(prefix="judge-bench-cache-") as tmp:
                result = Path(tmp) / "result.json"
                env = worker_env(fake.url, concurrency)
                env["JUDGE_PROMPT_CACHING"] = "true" if caching else "false"
                cmd = [sys.executable, str(WORKER), "--groups-batch", "--result", str(result)]
                proc = subprocess.run(cmd, capture_output=True, env=env, cwd=ROOT)
                if proc.returncode != 0:
                    tail = (proc.stdout + proc.stderr)[-2000:].decode("utf-8", "replace")
                    raise RuntimeError(f"judge caching bench worker failed (exit {proc.returncode}):\n{tail}")
                results[caching] = json.loads(result.read_text())
        finally:
            fake.stop()
    return results


def caching_report(latency: float = 0.2, concurrency: int = 16) -> tuple[list[str], bool]:
    """(printed lines, targets met) for the prompt-caching batch."""
    results = measure_caching(latency, concurrency)
    table = [("judge prompt caching, 8 groups of 8", "paid input/eval", "cache read/eval", "output/eval", "ms")]
    paid = {}
    for caching in (True, False):
        r = results[caching]
        usage, n = r["usage"], r["evaluations"]
        paid[caching] = (usage["input"] + usage["cache_write"]) / n
        table.append(("with caching" if caching else "without caching", f"{paid[caching]:,.0f}",
                      f"{usage['cache_read'] / n:,.0f}", f"{usage['output'] / n:,.0f}", f"{r['seconds'] * 1000:,.0f}"))
    same = results[True]["scores"] == results[False]["scores"]
    ratio = paid[True] / paid[False]
    ok = same and ratio <= TARGET_CACHED_PAID_RATIO
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)) for row in table]
    lines.append(f"input tokens paid with caching / without: {ratio:.2f} (target <= {TARGET_CACHED_PAID_RATIO:.2f}); "
                 f"scores identical: {'yes' if same else 'NO'}: {'PASS' if ok else 'FAIL'}")
    return lines, ok


def run(samples: int = 64, latency: float = 0.2, concurrency: int = 16, reps: int = 3) -> tuple[list[str], bool]:
    """(printed lines, all targets met)."""
    r = measure(samples, latency, concurrency, reps)
    ideal = math.ceil(samples / concurrency) * latency
    rows = [
        ("cold batch (first invocation)", r["cold"], r["cold"] / ideal <= TARGET_IDEAL_RATIO),
        ("warm batch (median)", r["warm"], r["warm"] / ideal <= TARGET_IDEAL_RATIO),
    ]
    lines = [
        f"judge: {samples} distinct samples, fake Bedrock with {latency * 1000:.0f} ms latency, "
        f"JUDGE_MAX_CONCURRENCY={concurrency}; ideal ceil({samples}/{concurrency}) x {latency * 1000:.0f} ms "
        f"= {ideal * 1000:,.0f} ms",
        "",
    ]
    table = [("metric", "ms", "x ideal", "target", "result")]
    for name, seconds, ok in rows:
        table.append((name, f"{seconds * 1000:,.0f}", f"{seconds / ideal:.2f}x", f"<= {TARGET_IDEAL_RATIO:g}x ideal",
                      "PASS" if ok else "FAIL"))
    table.append(("sequential calls (article)", f"{r['sequential'] * 1000:,.0f}", f"{r['sequential'] / ideal:.2f}x",
                  "baseline", "-"))
    dedup_ok = r["dedup_calls"] <= 8
    table.append((f"{samples} samples, 8 distinct triples", f"{r['dedup'] * 1000:,.0f}", f"{r['dedup_calls']} calls",
                  "<= 8 calls", "PASS" if dedup_ok else "FAIL"))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        lines.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
    lines += ["", f"rlaif.handler import (init, client built there): {r['init'] * 1000:,.0f} ms; "
                  f"ours vs sequential (warm): {r['sequential'] / r['warm']:.1f}x faster", ""]
    cache_lines, cache_ok = caching_report(latency, concurrency)
    lines += cache_lines
    return lines, all(ok for _, _, ok in rows) and dedup_ok and cache_ok


if __name__ == "__main__":
    out, passed = run()
    print("\n".join(out))
    sys.exit(0 if passed else 1)
