"""Bedrock prompt caching of the judge: requests ordered for reuse with checkpoints where the
model supports them and the prefix is long enough (validated against botocore's Converse
model), groups kept together so one call writes and its siblings read, cache usage in the
metrics, scores unchanged with caching on and off; and the fake Bedrock's cache model."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from reward_kit import judge_prompt_cache as prompt_cache
from reward_kit import names
from reward_kit.graders import judge
from reward_kit.graders.base import GradeInput
from reward_kit.graders.judge import client as judge_client
from reward_kit.judge_stats import JudgeStats
from reward_kit.scoring import Scorer
from reward_kit.settings import JUDGE_PROMPT_CACHING
from reward_kit.spec import validate_spec
from tests.lambdas.fake_bedrock import MODEL_ID, _bedrock_server, bedrock  # noqa: F401 - fixtures
from tests.lambdas.helpers import make_sample
from tools.fake_bedrock import PromptCache

RUBRIC = "Reward answers that are correct, concise and polite."
SPEC = validate_spec({"grader": "judge", "rubric": RUBRIC, "name": "quality"})
# A rubric long enough for a checkpoint after the system prompt on every supported model
# (4,096 tokens for Claude Haiku 4.5, counted at 6 characters a token).
LONG_SPEC = validate_spec({"grader": "judge", "rubric": "Grade carefully. " * 1800, "name": "quality"})
LONG_PROMPT = "Solve the following problem step by step. " * 300  # ~12,600 characters


def _converse_input_shape() -> Any:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return model.operation_model("Converse").input_shape


def _validate(request: dict[str, Any]) -> None:
    report = ParamValidator().validate(request, _converse_input_shape())
    assert not report.has_errors(), report.generate_report()


def _kinds(blocks: list[dict[str, Any]]) -> list[str]:
    return ["cachePoint" if "cachePoint" in block else "text" for block in blocks]


# --- the request: ordered for reuse, checkpoints where they count ------------------------------------------


@pytest.mark.parametrize("model", sorted(prompt_cache.SUPPORT))
def test_request_for_every_supported_model_validates_with_checkpoints_in_place(model):
    support = prompt_cache.support_for(f"us.{model}")
    request = judge.build_request(LONG_SPEC, f"us.{model}", GradeInput("the answer", "the reference", {},
                                                                         LONG_PROMPT * 3), cache=support)
    _validate(request)
    assert _kinds(request["system"]) == ["text", "cachePoint"]
    content = request["messages"][0]["content"]
    assert _kinds(content) == ["text", "cachePoint", "text"]
    # Static first, then what the group shares, then the response last.
    assert request["system"][0]["text"] == judge.system_prompt(LONG_SPEC)
    assert content[0]["text"].startswith("<user_prompt>") and "<reference_answer>" in content[0]["text"]
    assert content[2]["text"].startswith("<candidate_response>\nthe answer\n</candidate_response>")


def test_the_text_is_the_same_with_and_without_checkpoints():
    sample = GradeInput("the answer", "the reference", {}, LONG_PROMPT)
    cached = judge.build_request(LONG_SPEC, MODEL_ID, sample, cache=prompt_cache.support_for(MODEL_ID))
    plain = judge.build_request(LONG_SPEC, MODEL_ID, sample)
    _validate(plain)
    assert "cachePoint" not in json.dumps(plain)
    assert judge.user_text(cached) == judge.user_text(plain)
    assert [b for b in cached["system"] if "text" in b] == plain["system"]
    # The text the judge reads is what it always read: prompt, reference, response, instruction.
    assert judge.user_text(plain) == (
        f"<user_prompt>\n{LONG_PROMPT}\n</user_prompt>\n\n<reference_answer>\nthe reference\n</reference_answer>\n\n"
        "<candidate_response>\nthe answer\n</candidate_response>\n\n"
        "Grade the candidate response by the rubric. Reply with only the JSON object."
    )


def test_no_checkpoint_for_an_unsupported_model():
    assert prompt_cache.support_for("meta.llama3-70b-instruct-v1:0") is None
    assert prompt_cache.support_for("us.meta.llama3-70b-instruct-v1:0") is None
    request = judge.build_request(LONG_SPEC, "meta.llama3-70b-instruct-v1:0",
                                  GradeInput("a", "r", {}, LONG_PROMPT), cache=None)
    _validate(request)
    assert "cachePoint" not in json.dumps(request)


def test_no_checkpoint_for_a_prefix_too_short():
    support = prompt_cache.support_for(MODEL_ID)  # 1,000 tokens
    # The shipped rubric's system prompt (~1,300 characters) and a short prompt: far below.
    request = judge.build_request(SPEC, MODEL_ID, GradeInput("a", "r", {}, "What is 2 + 2?"), cache=support)
    assert "cachePoint" not in json.dumps(request)
    # 5,999 characters is 999 tokens by the lower bound: not enough even if it were 1,500 real ones.
    assert prompt_cache.checkpoints(support, 5_999, 0) == prompt_cache.CachePlan(False, False)
    assert prompt_cache.checkpoints(support, 6_000, 0) == prompt_cache.CachePlan(True, False)
    # The second checkpoint needs twice the minimum before it when the first one counts.
    assert prompt_cache.checkpoints(support, 6_000, 5_999) == prompt_cache.CachePlan(True, False)
    assert prompt_cache.checkpoints(support, 6_000, 6_000) == prompt_cache.CachePlan(True, True)
    # Without the first, the second is the first: the minimum once.
    assert prompt_cache.checkpoints(support, 3_000, 3_000) == prompt_cache.CachePlan(False, True)
    # Nothing shared (no prompt, no reference): nothing to put a checkpoint after.
    assert prompt_cache.checkpoints(support, 100_000, 0) == prompt_cache.CachePlan(True, False)
    # Claude 3.5 Haiku: 2,048.
    haiku = prompt_cache.support_for("anthropic.claude-3-5-haiku-20241022-v1:0")
    assert prompt_cache.checkpoints(haiku, 6_000, 6_000) == prompt_cache.CachePlan(False, False)
    assert prompt_cache.checkpoints(haiku, 6_000, 6_300) == prompt_cache.CachePlan(False, True)


def test_the_minimum_check_undercounts_tokens():
    # The check never places a checkpoint the fake tokenizer (4 characters a token) would find
    # short: for every length, lower bound <= fake count.
    for chars in (0, 1, 5, 6, 599, 6_000, 6_001, 123_457):
        assert prompt_cache.min_tokens_lower_bound(chars) <= -(-chars // 4)


def test_settings_turn_caching_off_or_declare_a_model(monkeypatch):
    monkeypatch.delenv(names.ENV_JUDGE_PROMPT_CACHING, raising=False)
    monkeypatch.delenv(names.ENV_JUDGE_PROMPT_CACHE_MIN_TOKENS, raising=False)
    assert judge.prompt_cache_support(MODEL_ID) == prompt_cache.CacheSupport(1000)
    assert judge.prompt_cache_support("meta.llama3-70b-instruct-v1:0") is None
    monkeypatch.setenv(names.ENV_JUDGE_PROMPT_CACHE_MIN_TOKENS, "2048")
    assert judge.prompt_cache_support("meta.llama3-70b-instruct-v1:0") == prompt_cache.CacheSupport(2048)
    monkeypatch.setenv(names.ENV_JUDGE_PROMPT_CACHING, "FALSE")
    assert judge.prompt_cache_support(MODEL_ID) is None
    monkeypatch.setenv(names.ENV_JUDGE_PROMPT_CACHING, "no")
    with pytest.raises(judge.JudgeConfigError, match="JUDGE_PROMPT_CACHING: 'no' is not 'true' or 'false'"):
        judge.prompt_cache_support(MODEL_ID)
    assert JUDGE_PROMPT_CACHING.read({}) is True


# --- groups through the fake Bedrock --------------------------------------------------------------------------


def _score_reply(index, body):
    # A deterministic judge: the score is a hash of the response block (never of the prefix).
    text = "".join(block.get("text", "") for block in body["messages"][0]["content"])
    response = re.search(r"<candidate_response>\n(.*)\n</candidate_response>", text, re.DOTALL).group(1)
    return json.dumps({"score": hashlib.sha256(response.encode()).digest()[0] % 11, "reason": "ok"})


def _groups(groups: int, size: int, *, contiguous: bool = True) -> list[dict[str, Any]]:
    pairs = [(g, k) for g in range(groups) for k in range(size)]
    if not contiguous:
        pairs.sort(key=lambda pair: (pair[1], pair[0]))
    return [
        make_sample(f"g{g}-s{k}", f"response {k} to problem {g}", f"reference {g}", user=f"Problem {g}. {LONG_PROMPT}")
        for g, k in pairs
    ]


def _usages(bedrock) -> list[dict[str, int]]:
    return [request["usage"] for request in bedrock.requests]


def test_a_group_of_8_gives_one_cache_write_and_seven_reads(bedrock):
    bedrock.responder = _score_reply
    result = Scorer(SPEC, concurrency=16).score_event(_groups(1, 8))
    assert all(o["aggregate_reward_score"] >= 0 for o in result.outputs) and not result.failures
    usages = _usages(bedrock)
    assert len(usages) == 8
    writes = [u for u in usages if u.get("cacheWriteInputTokens", 0) > 0]
    reads = [u for u in usages if u.get("cacheReadInputTokens", 0) > 0]
    assert (len(writes), len(reads)) == (1, 7)
    assert bedrock.requests.index(next(r for r in bedrock.requests if r["usage"] is writes[0])) == 0  # the leader
    stats = result.judge
    assert stats.cache_write_tokens == writes[0]["cacheWriteInputTokens"]
    assert stats.cache_read_tokens == 7 * writes[0]["cacheWriteInputTokens"]
    counts = stats.metric_counts()
    assert counts[names.METRIC_JUDGE_CACHE_WRITE_TOKENS] == stats.cache_write_tokens > 0
    assert counts[names.METRIC_JUDGE_CACHE_READ_TOKENS] == stats.cache_read_tokens > 0
    assert (stats.groups, stats.requests) == (1, 8)


@pytest.mark.parametrize("contiguous", [True, False])
def test_eight_groups_of_eight_each_write_once_in_any_order(bedrock, contiguous):
    bedrock.responder = _score_reply
    result = Scorer(SPEC, concurrency=16).score_event(_groups(8, 8, contiguous=contiguous))
    assert not result.failures
    usages = _usages(bedrock)
    assert len(usages) == 64
    assert sum(u.get("cacheWriteInputTokens", 0) > 0 for u in usages) == 8
    assert sum(u.get("cacheReadInputTokens", 0) > 0 for u in usages) == 56
    # In every group, the first request to reach Bedrock is the one that wrote the prefix.
    firsts: dict[str, int] = {}
    for index in range(64):
        firsts.setdefault(bedrock.user_text(index)[:40], index)
    assert len(firsts) == 8
    assert all(usages[index].get("cacheWriteInputTokens", 0) > 0 for index in firsts.values())


def test_scores_are_the_same_with_caching_on_and_off(bedrock, monkeypatch):
    bedrock.responder = _score_reply
    event = _groups(8, 8, contiguous=False)
    monkeypatch.delenv(names.ENV_JUDGE_PROMPT_CACHING, raising=False)
    from reward_kit.graders import build_grader

    on = Scorer(SPEC, grader=build_grader(SPEC), concurrency=16).score_event(event)
    paid_on = dict(bedrock.usage_totals)
    with_checkpoints = [r for r in bedrock.requests if "cachePoint" in json.dumps(r["body"])]
    bedrock.reset()
    bedrock.responder = _score_reply
    bedrock.count_tokens = True  # the same tokenizer without checkpoints
    monkeypatch.setenv(names.ENV_JUDGE_PROMPT_CACHING, "false")
    off = Scorer(SPEC, grader=build_grader(SPEC), concurrency=16).score_event(event)
    paid_off = dict(bedrock.usage_totals)
    assert len(with_checkpoints) == 64
    assert not any("cachePoint" in json.dumps(r["body"]) for r in bedrock.requests)
    assert on.outputs == off.outputs
    assert len({o["aggregate_reward_score"] for o in on.outputs}) > 3  # the scores differ between samples
    # The same input tokens in all, paid once per group instead of once per sample.
    assert paid_on["input"] + paid_on["cache_read"] + paid_on["cache_write"] == paid_off["input"]
    assert paid_off["cache_read"] == paid_off["cache_write"] == 0
    assert paid_on["input"] + paid_on["cache_write"] < paid_off["input"] / 3


def test_an_old_botocore_gets_no_checkpoints(bedrock, monkeypatch):
    bedrock.responder = _score_reply
    client = judge_client._client(16)
    monkeypatch.setitem(judge_client._cache_point_support, id(client), False)
    result = Scorer(SPEC, concurrency=4).score_event(_groups(1, 3))
    assert not result.failures
    assert not any("cachePoint" in json.dumps(r["body"]) for r in bedrock.requests)


def test_submission_order_is_first_of_each_group_first(bedrock):
    from reward_kit.contract import parse_event

    scorer = Scorer(SPEC, concurrency=4)
    samples = parse_event(_groups(3, 3), 100_000, with_prompt=True, require_reference=False)
    ordered = scorer._first_of_each_group_first(samples)
    assert [s.id for s in ordered] == ["g0-s0", "g1-s0", "g2-s0", "g0-s1", "g1-s1", "g2-s1", "g0-s2", "g1-s2", "g2-s2"]


# --- the fake Bedrock's cache -----------------------------------------------------------------------------------


def _body(*texts_and_points: str | None) -> dict[str, Any]:
    content = [{"cachePoint": {"type": "default"}} if t is None else {"text": t} for t in texts_and_points]
    return {"system": [{"text": "s" * 400}], "messages": [{"role": "user", "content": content}]}


def test_fake_cache_honours_minimum_ttl_and_support():
    now = [0.0]
    cache = PromptCache(clock=lambda: now[0])
    body = _body("p" * 4000, None, "response")  # 4,400 characters before the checkpoint: 1,100 tokens
    first = cache.usage("amazon.nova-pro-v1:0", body)
    assert (first.read, first.write) == (0, 1100) and first.input == 2  # "response": 2 tokens
    now[0] = 299.0
    second = cache.usage("us.amazon.nova-pro-v1:0".split(".", 1)[1], body)
    assert (second.read, second.write, second.input) == (1100, 0, 2)
    now[0] = 299.0 + 300.5  # renewed by the hit at 299 s, expired 300 s later
    assert cache.usage("amazon.nova-pro-v1:0", body).write == 1100
    # Short of the minimum: accepted, nothing cached, everything paid as input.
    short = cache.usage("amazon.nova-pro-v1:0", _body("p" * 3000, None, "response"))
    assert (short.read, short.write, short.input) == (0, 0, 852)
    assert cache.usage("amazon.nova-pro-v1:0", _body("p", "q")) is None  # no checkpoint: not its business
    with pytest.raises(ValueError, match="does not support prompt caching"):
        cache.usage("meta.llama3-70b-instruct-v1:0", body)


def test_judge_stats_measure_groups_and_prefix_share():
    stats = JudgeStats()
    stats.record_request(new_group=True, system_chars=100, shared_chars=300, chars=800)
    stats.record_request(new_group=False, system_chars=100, shared_chars=300, chars=600)
    merged = JudgeStats()
    merged.merge(stats)
    assert (merged.group_size, merged.prefix_share) == (2.0, 800 / 1400)
    merged.record_call(0.1, attempts=1, throttles=0,
                       usage={"inputTokens": 5, "outputTokens": 1, "cacheReadInputTokens": 7, "cacheWriteInputTokens": 3})
    assert merged.total_input_tokens == 15


# --- the dry run measures what caching has to work with ------------------------------------------------------


def test_the_dry_run_measures_groups_prefix_share_and_cache_tokens(bedrock, tmp_path):
    import io

    from reward_kit import dryrun

    bedrock.responder = _score_reply
    data = tmp_path / "rollouts.jsonl"
    data.write_text("\n".join(json.dumps(sample) for sample in _groups(2, 4)) + "\n")
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(dict(SPEC)))
    out = io.StringIO()
    assert dryrun.main(["--data", str(data), "--spec", str(spec)], stdout=out, stderr=io.StringIO()) == 0
    text = out.getvalue()
    line = re.search(r"judge prompt caching: 8 requests in 2 \(prompt, reference\) group\(s\), prefix share "
                     r"(0\.\d\d) of their characters; (\d+) tokens read from and (\d+) written", text)
    assert line, text
    share, read, written = float(line.group(1)), int(line.group(2)), int(line.group(3))
    assert 0.9 < share < 1.0  # ~14,000 characters of system prompt and problem, ~60 of response
    assert read == 3 * written > 0  # per group: one write, three reads
    assert f"judge_group_size: 4 and judge_prefix_share: {share:.2f}" in text
    # Tokens per call count every input token, cached ones included.
    usage = bedrock.usage_totals
    per_call = -(-(usage["input"] + usage["cache_read"] + usage["cache_write"]) // 8)
    assert f"judge_input_tokens_per_call: {per_call} " in text


# --- a group waiting for its first call is bounded by the deadline ---------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_group_whose_first_call_hangs_returns_before_the_deadline(bedrock, concurrency):
    import time

    bedrock.hang()
    deadline = time.monotonic() + 3.0  # the fake would answer after an hour
    result = Scorer(SPEC, concurrency=concurrency).score_event(_groups(1, 6), deadline=deadline)
    assert time.monotonic() < deadline
    assert [o["id"] for o in result.outputs] == [f"g0-s{k}" for k in range(6)]
    assert result.failures == {"judge_timeout": 6}
    # Only the leader reached Bedrock: the others waited for it, then gave up without a call.
    assert bedrock.count == 1
