"""The judge grader: one Converse call per distinct request of a batch, optional result cache,
prompt-caching groups; see ``reward_kit.graders.judge`` for the whole design.

De-duplication: within a batch (one ``reward_kit.deadline.Batch``) one call per distinct
request (same judge, prompt, reference and response after truncation); the other samples
with it wait for that call and share its result (each keeps its own id and output). With
``temperature`` > 0 they share one draw of the judge. ``JUDGE_CACHE_ENTRIES`` (0..100000,
default 0: off) also keeps that many successful results per container across invocations
(LRU, keyed by a SHA-256 of the request, about 1 KB each).

Groups: samples of a batch with one prompt and reference form a group, built once; with a
prompt caching checkpoint after the shared block, the group's first call is answered (the
prefix written) before the others are sent.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any, Mapping

from reward_kit import judge_prompt_cache as prompt_cache
from reward_kit.deadline import Batch, current_batch
from reward_kit.graders.base import GradeInput, GradeResult, GraderTraits, single_result
from reward_kit.graders.judge import client, config
from reward_kit.graders.judge.prompt import (
    assemble_request,
    reference_text,
    response_text,
    shared_text,
    system_prompt,
    user_text,
)
from reward_kit.graders.judge.reply import JUDGE_ERROR, JUDGE_TIMEOUT, JUDGE_UNPARSEABLE, parse_reply, reply_text
from reward_kit.judge_stats import JudgeStats

__all__ = ["Judge", "build", "reset_clients"]

# --- per-container result cache (optional) -------------------------------------------------------

_cache: OrderedDict[bytes, GradeResult] = OrderedDict()
_cache_lock = threading.Lock()


def _cache_get(digest: bytes) -> GradeResult | None:
    with _cache_lock:
        result = _cache.get(digest)
        if result is not None:
            _cache.move_to_end(digest)
        return result


def _cache_put(digest: bytes, result: GradeResult, limit: int) -> None:
    with _cache_lock:
        _cache[digest] = result
        _cache.move_to_end(digest)
        while len(_cache) > limit:
            _cache.popitem(last=False)


def reset_clients() -> None:
    """Forget cached clients, cached results and logged error codes (tests)."""
    client.reset_clients()
    with _cache_lock:
        _cache.clear()


# --- batches: groups and shared requests ---------------------------------------------------------


class _Shared:
    """One judge request of a batch: the first sample with it calls, the others wait for it."""

    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: GradeResult | None = None


class _Group:
    """The samples of a batch with one prompt and reference (a GRPO group): their shared block,
    its checkpoints and cache digest are built once; with a checkpoint after the block, the
    group's first call (the leader) is answered, so Bedrock has written the prefix, before the
    others are sent."""

    __slots__ = ("calls", "digest_base", "leader_done", "lock", "plan", "shared")

    def __init__(self, shared: str, plan: prompt_cache.CachePlan, digest_base: Any) -> None:
        self.shared = shared
        self.plan = plan
        self.digest_base = digest_base  # hashlib object over everything but the response, or None
        self.lock = threading.Lock()
        self.calls = 0
        self.leader_done = threading.Event()

    def start_call(self) -> bool:
        """Count a call of this group; True for its first (the leader)."""
        with self.lock:
            self.calls += 1
            return self.calls == 1


# --- the grader ----------------------------------------------------------------------------------------


class Judge:
    """Grader calling a Bedrock model through Converse; see the module docstring.

    Its ``traits`` (read by the Scorer): ``concurrency`` parallel calls, ``judge_timeout``
    at the deadline, no reference required (RLAIF data often has none), the prompt when the
    spec's ``include_prompt`` is true.
    """

    def __init__(self, spec: Mapping[str, Any], model_id: str, concurrency: int, cache_size: int = 0,
                 prompt_cache_support: prompt_cache.CacheSupport | None = None) -> None:
        self.spec = spec
        self.model_id = model_id
        self.concurrency = concurrency
        self.cache_size = cache_size
        self.prompt_cache = prompt_cache_support  # None: no cachePoint in any request
        self.include_prompt = bool(spec.get("include_prompt", True))
        self.include_reference = bool(spec["include_reference"])
        self.traits = GraderTraits(
            concurrency=concurrency,
            timeout_reason=JUDGE_TIMEOUT,
            requires_reference=False,
            wants_prompt=self.include_prompt,
            group_key=self.group_key,
        )
        self.name = spec["name"]
        self.max_score = spec["max_score"]
        self.criteria = spec.get("criteria") or None
        self.system = system_prompt(spec)

    def group_key(self, sample: GradeInput) -> tuple[Any, ...]:
        """What the samples of one group share: the prompt and the reference the judge sees."""
        prompt = sample.prompt if self.include_prompt and isinstance(sample.prompt, str) else None
        reference = reference_text(sample.reference) if self.include_reference else None
        return (prompt, reference)

    def _new_group(self, key: tuple[Any, ...]) -> _Group:
        shared = shared_text(self.spec, key[0], key[1])
        plan = prompt_cache.checkpoints(self.prompt_cache, len(self.system), len(shared))
        digest_base = None
        if self.cache_size:
            digest_base = hashlib.sha256(
                f"{self.model_id}\0{self.system}\0{self.spec['max_tokens']}\0{self.spec['temperature']}\0"
                f"{len(shared)}\0{shared}\0".encode("utf-8", "surrogatepass"))
        return _Group(shared, plan, digest_base)

    def _group(self, batch: Batch | None, sample: GradeInput) -> _Group:
        """The sample's group in this batch, built by its first sample (once per group)."""
        key = self.group_key(sample)
        if batch is None:
            return self._new_group(key)
        batch_key = ("judge-group", id(self), key)
        with batch.lock:
            group = batch.shared.get(batch_key)
        if group is None:
            built = self._new_group(key)  # outside the lock: neutralizing long text takes time
            with batch.lock:
                group = batch.shared.setdefault(batch_key, built)
        return group

    def __call__(self, sample: GradeInput) -> GradeResult:
        batch = current_batch()
        stats = batch.judge if batch is not None else JudgeStats()
        deadline = batch.deadline if batch is not None else None
        if deadline is not None and deadline - time.monotonic() < client.MIN_SECONDS_TO_START_A_CALL:
            return GradeResult(score=0.0, reason=JUDGE_TIMEOUT)
        try:
            group = self._group(batch, sample)
            response = response_text(self.spec, sample.response)
            request = assemble_request(self.spec, self.model_id, self.system, group.shared, response, group.plan)
        except Exception:  # noqa: BLE001 - cannot happen for validated specs; one sample, minimum score
            return GradeResult(score=0.0, reason=JUDGE_ERROR)
        digest = None
        if group.digest_base is not None:
            hasher = group.digest_base.copy()
            hasher.update(response.encode("utf-8", "surrogatepass"))
            digest = hasher.digest()
            cached = _cache_get(digest)
            if cached is not None:
                stats.record_cache_hit()
                return cached
        if batch is None:
            return self._judge_in_group(group, request, stats, deadline, digest)
        # One call per distinct request in the batch (same judge, prompt, reference, response).
        shared, first = self._claim(batch, group, response)
        if not first:
            stats.record_deduplicated()
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if shared.done.wait(wait) and shared.result is not None:
                return shared.result
            return GradeResult(score=0.0, reason=JUDGE_TIMEOUT)
        try:
            shared.result = self._judge_in_group(group, request, stats, deadline, digest)
        finally:
            if shared.result is None:  # only if _judge raised: waiting samples must not hang
                shared.result = GradeResult(score=0.0, reason=JUDGE_ERROR)
            shared.done.set()
        return shared.result

    def _claim(self, batch: Batch, group: _Group, response: str) -> tuple[_Shared, bool]:
        # The group object stands for the judge, prompt and reference: hashed by identity.
        key = ("judge-request", group, response)
        with batch.lock:
            shared = batch.shared.get(key)
            if shared is not None:
                return shared, False
            shared = batch.shared[key] = _Shared()
            return shared, True

    def _judge_in_group(self, group: _Group, request: Mapping[str, Any], stats: JudgeStats,
                        deadline: float | None, digest: bytes | None) -> GradeResult:
        """Call the judge for one distinct request. With a checkpoint after the group's shared
        block, the group's first call writes it and the others wait for that call to end
        (at most until a call could no longer start before the deadline), then read it."""
        leader = group.start_call()
        stats.record_request(new_group=leader, system_chars=len(self.system), shared_chars=len(group.shared),
                             chars=len(self.system) + len(user_text(request)))
        if not group.plan.after_shared:
            return self._judge(request, stats, deadline, digest)
        if not leader:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic() - client.MIN_SECONDS_TO_START_A_CALL)
            if not group.leader_done.wait(wait):
                # The leader is still out (a judge that hangs would hang this call too), and no
                # call could start in time now.
                return GradeResult(score=0.0, reason=JUDGE_TIMEOUT)
            return self._judge(request, stats, deadline, digest)
        try:
            return self._judge(request, stats, deadline, digest)
        finally:
            group.leader_done.set()

    def _judge(self, request: Mapping[str, Any], stats: JudgeStats, deadline: float | None,
               digest: bytes | None) -> GradeResult:
        response, code = client.call(request, self.concurrency, self.model_id, stats, deadline)
        if code is not None:
            return GradeResult(score=0.0, reason=JUDGE_TIMEOUT if code is client.ABANDONED else JUDGE_ERROR)
        scores = parse_reply(reply_text(response), self.max_score, self.criteria)
        if scores is None:
            return GradeResult(score=0.0, reason=JUDGE_UNPARSEABLE)
        if self.criteria is None:
            result = single_result(self.name, scores["score"] / self.max_score, None, {})
        else:
            metrics = {f"criterion_{name}": value / self.max_score for name, value in scores.items()}
            score = sum(self.criteria[name]["weight"] * value for name, value in scores.items()) / self.max_score
            result = single_result(self.name, score, None, metrics)  # clamped: float sums may pass 1
        if digest is not None:
            _cache_put(digest, result, self.cache_size)
        return result


def build(spec: Mapping[str, Any]) -> Judge:
    """Build a judge from its validated spec; JUDGE_MODEL_ID must be set (JudgeConfigError)."""
    model_id = config.model_id_from_env()
    return Judge(spec, model_id, config.max_concurrency(), config.cache_entries(),
                 config.prompt_cache_support(model_id))
