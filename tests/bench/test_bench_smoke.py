"""Smoke test of the benchmark harness (bench/) on a tiny batch. No timing assertions:
this only checks that `make bench` measures what it claims to measure."""

from __future__ import annotations

import json
import os
import re

import pytest

from bench.dataset import MIX, build_batch, build_prose_batch
from bench.math_bench import build_math_batch, inprocess_handler
from bench.naive_handler import lambda_handler as naive_handler
from bench.run import by_category, child_env, measure_handlers, measure_import, spec_json
from bench.run import main as run_main

N = 20


def test_batch_is_deterministic_and_mixed() -> None:
    a, cats_a = build_batch(200)
    b, cats_b = build_batch(200)
    assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False) and cats_a == cats_b
    assert build_batch(200, seed=1)[0] != a
    kinds = {c.split(":")[0] for c in cats_a}
    assert kinds == {name for name, _ in MIX}  # 200 samples cover every category
    assert any(c.startswith("broken:") for c in cats_a)


def test_prose_batch_is_deterministic_half_untagged_prose() -> None:
    a, cats = build_prose_batch(200)
    assert json.dumps(a, ensure_ascii=False) == json.dumps(build_prose_batch(200)[0], ensure_ascii=False)
    prose = [s for s, c in zip(a, cats) if c.startswith("prose_")]
    assert len(prose) == 100
    for sample in prose:
        text = sample["messages"][-1]["content"]
        assert "<" not in text and "\\" not in text and 20 <= len(text.split()) <= 220
        assert [w for w in text.lower().split() if w.strip(".") in ("positive", "negative", "neutral")] == [
            text.lower().split()[-1]]  # the label only at the very end
    assert naive_handler(a[:N], None)  # the baseline survives it too


def test_naive_baseline_survives_the_batch_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    samples, _ = build_batch(N)
    outputs = naive_handler(samples, None)
    assert len(outputs) == N
    assert capsys.readouterr().out.count("Sample: ") == N  # it prints every sample, like the article


def test_handler_settings_do_not_leak_in_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    # Any of these would change our log bytes and make the comparison with the baseline unfair.
    for name, value in {"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true",
                        "POWERTOOLS_SERVICE_NAME": "x", "REWARD_LOG_SAMPLE_TEXT": "true",
                        "REWARD_MAX_RESPONSE_CHARS": "10", "LOG_LEVEL": "ERROR", "AWS_LAMBDA_LOG_LEVEL": "ERROR"}.items():
        monkeypatch.setenv(name, value)
    env = child_env("{}")
    assert {k: v for k, v in env.items() if k.startswith(("POWERTOOLS_", "REWARD_", "AWS_LAMBDA_", "LOG_"))} == {
        "POWERTOOLS_LOG_LEVEL": "INFO", "POWERTOOLS_SERVICE_NAME": "reward-bench", "REWARD_SPEC": "{}"}
    assert env["PATH"] == os.environ["PATH"]


@pytest.fixture(scope="module")
def measured():
    samples, categories = build_batch(N)
    spec = spec_json()
    m = measure_handlers(("ours", "naive"), samples, 2, spec)
    return samples, categories, m["ours"], m["naive"]


def test_both_handlers_return_one_output_per_sample(measured) -> None:
    samples, _, ours, naive = measured
    for m in (ours, naive):
        assert len(m.outputs) == len(samples)
        assert len(m.seconds) == len(m.bytes) == 2
        assert all(t > 0 for t in m.seconds) and m.samples_per_second > 0
    # Ours keeps every id (placeholders only for unusable ones); outputs are in input order.
    for sample, output in zip(samples, ours.outputs):
        if "id" in sample:
            assert output["id"] == sample["id"]


def test_log_bytes_are_captured_for_both(measured) -> None:
    samples, _, ours, naive = measured
    # Powertools writes its summary line and EMF blobs to stdout: they must be counted.
    assert all(b > 0 for b in ours.bytes)
    # The naive handler prints every sample with indent=2: at least that much is counted,
    # in every repetition (each handler's bytes are its own, though they share one file).
    assert all(b >= sum(len(json.dumps(s, indent=2)) for s in samples) for b in naive.bytes)
    assert ours.bytes[0] < naive.bytes[0]


def test_category_table(measured) -> None:
    _, categories, ours, naive = measured
    rows = by_category(categories, ours, naive)
    assert sum(n for _, n, _, _ in rows) == N
    assert all(0.0 <= o <= 1.0 and 0.0 <= b <= 1.0 for _, _, o, b in rows)


def test_import_probe_reports_a_time_and_that_math_verify_stays_unloaded() -> None:
    seconds, math_verify_loaded = measure_import("rlvr.handler", 1, spec_json())
    assert seconds > 0
    assert math_verify_loaded is False


@pytest.mark.slow
def test_make_bench_prints_both_handlers_and_their_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    # The whole of `make bench` on a tiny batch: both handlers measured in this run, ratios
    # printed. PASS or FAIL depends on the machine, so only the shape of the table is checked.
    code = run_main(["--samples", str(N), "--rounds", "2", "--reps", "1", "--import-runs", "1",
                     "--judge-samples", "8", "--judge-latency", "0.02", "--judge-reps", "1",
                     "--math-rounds", "1", "--math-reps", "1", "--math-first-runs", "1",
                     "--code-samples", "6", "--code-reps", "1"])
    out = capsys.readouterr().out
    assert code in (0, 1)
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("metric "))
    header, *rows = lines[start : start + 9]
    assert header.split() == ["metric", "ours", "naive", "ratio", "target", "result"]
    for batch, (throughput, log_bytes, contract) in zip(("chABSA mix", "long prose"), (rows[0:3], rows[4:7])):
        assert throughput.startswith(f"{batch}: throughput (samples/s)") and throughput.split()[-5].endswith("x")
        assert log_bytes.startswith(f"{batch}: log bytes per sample") and "1/" in log_bytes
        # The contract layer's cost (was a wall-clock assertion in test_scoring.py): a ratio.
        assert contract.startswith(f"{batch}: contract layer (ms/batch)")
        assert re.search(r"\d[\d,.]*x\s+>= 2x naive batch", contract), contract
        assert f"[{batch}] mean reward by sample category" in out
    # Batch sizes run on the first batch: its one-sample row, then its table after the main one.
    assert rows[3].startswith("chABSA mix: log bytes per invocation, 1 sample(s)") and "<= 1/5 of naive" in rows[3]
    assert rows[7].startswith("import time (ms)")
    assert lines[start + 9] == ""
    title, columns, *size_rows = out[out.index("[chABSA mix] by batch size"):].split("\n\n", 1)[0].splitlines()
    assert out.index(title) > out.index("import time (ms)")
    assert columns.split()[:2] == ["batch", "size"]
    # Default sizes 1, 8, 64, 1000: those above the 20 samples are left out, 20 itself is in.
    assert [(r.split()[0], r.split()[1]) for r in size_rows] == [("1", "20"), ("8", "2"), ("20", "1")]
    assert all(len(r.split()) == 8 for r in size_rows)
    assert "[long prose] by batch size" not in out
    # The judge section: ours cold and warm, the sequential baseline, and the de-duplicated batch.
    judge_table = out.split("judge: 8 distinct samples", 1)[1]
    for row in ("cold batch (first invocation)", "warm batch (median)", "sequential calls (article)",
                "8 samples, 8 distinct triples"):
        assert row in judge_table
    assert re.search(r"8 samples, 8 distinct triples +[\d,]+ +[0-8] calls", judge_table)
    # Prompt caching: input tokens paid per evaluation with and without, 8 groups of 8, same scores.
    caching = re.search(r"with caching +([\d,]+) +([\d,]+) .*\nwithout caching +([\d,]+) +0 ", judge_table)
    assert caching, judge_table
    paid_with, read_with, paid_without = (int(g.replace(",", "")) for g in caching.groups())
    assert 0 < paid_with < paid_without and read_with > 0
    assert "scores identical: yes" in judge_table
    # The math section: ours against math-verify in-process at 1 and 64 samples per invocation,
    # and the first invocation, with the figure the capacity model quotes.
    math_lines = out.split("math: ours (rlvr handler", 1)[1].splitlines()
    assert math_lines[1].split()[:3] == ["metric", "ours", "in-process"]
    for line, (name, target) in zip(math_lines[2:5], (
        ("math: 1 sample per invocation (warm, ms)", "< 10 ms"),
        ("math: 64 samples per invocation (warm, ms)", "<= 1.5x in-process"),
        ("math: first invocation (import + first sample, ms)", "<= +300 ms"),
    )):
        assert line.startswith(name) and target in line and line.split()[-1] in ("PASS", "FAIL"), line
    assert math_lines[5].startswith("same score on ")
    assert "ISOLATED_SECONDS_PER_SAMPLE" in math_lines[6] and "ms per sample at 64 per invocation" in math_lines[6]
    # The code section: ours and the bare baseline, same batch.
    code_lines = ("code grader: 6 programs" + out.split("code grader: 6 programs", 1)[1]).splitlines()
    assert code_lines[0].startswith("code grader: 6 programs x 5 stdin/stdout tests")
    assert "samples/s" in code_lines[1] and "samples/s" in code_lines[2] and "x" in code_lines[3]


def test_batch_sizes_split_the_same_samples(measured) -> None:
    samples, _, _, _ = measured
    spec = spec_json()
    m = measure_handlers(("ours", "naive"), samples, 1, spec, batch_size=8)
    for impl in ("ours", "naive"):
        assert m[impl].invocations == 2 and m[impl].n == 16 and len(m[impl].outputs) == 16
        assert m[impl].bytes_per_invocation == m[impl].bytes[0] / 2
    # One sample per invocation: ours stays under a fifth of the baseline's bytes.
    one = measure_handlers(("ours", "naive"), samples, 1, spec, batch_size=1)
    assert one["ours"].invocations == N
    assert one["ours"].bytes_per_invocation * 5 <= one["naive"].bytes_per_invocation


def test_math_batch_is_deterministic_and_the_in_process_baseline_grades_it() -> None:
    batch = build_math_batch(64)
    assert batch == build_math_batch(64) and batch != build_math_batch(64, seed=1)
    outputs = inprocess_handler()(batch)
    scores = [o["aggregate_reward_score"] for o in outputs]
    assert [o["id"] for o in outputs] == [s["id"] for s in batch]
    assert 0 < sum(scores) < len(scores)  # right and wrong answers both present
