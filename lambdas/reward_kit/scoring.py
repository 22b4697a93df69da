"""Score a whole reward event with one grader: the contract layer plus a grader, no AWS.

Used by the Lambda handler, the dry run and the benchmark::

    scorer = Scorer(spec)               # validates the spec (SpecError), builds the grader once
    result = scorer.score_event(event)  # EventError for an unusable event; never raises otherwise
    result.outputs    # one contract output per input sample, in input order
    result.response   # what the Lambda returns: the outputs list, whatever the event's shape
    result.failures   # Counter: reason code -> samples (contract failures and grader reasons)
    result.values     # "aggregate" and each reward dimension -> per-sample values (output range)
    result.dropped    # Counter: metrics_list entries dropped so the response fits 6 MB, by type

The per-sample path is deliberately plain (no copies, no serialization, no logging): it
runs for every one of the ~1,000 samples an invocation may carry.

How a grader is called comes from its ``GraderTraits`` (``reward_kit.graders.base``), read
once here: ``concurrency`` > 1 runs the grade calls of one event in a thread pool of that
size (input order and the per-sample ``grader_error`` guard are kept; at 1 the plain
sequential loop runs, no executor, no threads); ``timeout_reason`` is given to samples not
graded before the deadline; ``requires_reference`` False grades samples without a reference
(reference None); ``wants_prompt`` True has the contract layer extract the last user message
(``GradeInput.prompt``). Deterministic graders keep the defaults and never pay for the prompt.
``isolated`` (a grader or component running in ``reward_kit.isolation``'s worker processes)
wraps each event in ``isolation.session()``: a worker still busy when the event is scored (a
call abandoned at the deadline) is killed before ``score_event`` returns; idle workers stay
for the next event. Last, ``response_limit.fit_response`` trims the outputs to Lambda's 6 MB
(``BatchResult.dropped`` says what went).

``score_event(event, deadline=...)`` takes a ``time.monotonic()`` deadline (the handler
derives it from the Lambda context): samples not graded by then get ``timeout_reason`` and
the minimum, so the invocation still returns one output per sample in time. Graders see the
deadline through ``reward_kit.deadline.remaining_seconds()``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Mapping

from reward_kit.contract import DEFAULT_MAX_RESPONSE_CHARS, ParsedSample, parse_event, unwrap_event
from reward_kit.deadline import Batch, run_in_batch
from reward_kit.graders.base import GradeInput, Grader, InfrastructureError, traits_of
from reward_kit.judge_stats import JudgeStats
from reward_kit.outputs import OutputBuilder
from reward_kit.reasons import GRADER_ERROR
from reward_kit.response_limit import RESPONSE_LIMIT_BYTES, fit_response, runtime_escapes_non_ascii
from reward_kit.spec import output_range, reward_dimensions, uses_judge, validate_spec

__all__ = ["AGGREGATE", "BatchResult", "Scorer"]

AGGREGATE = "aggregate"  # key of the aggregate reward in BatchResult.values
_REASON_RE = re.compile(r"[a-z0-9_]{1,64}")  # snake_case reason codes, as graders promise


@dataclass
class BatchResult:
    """Everything one scored event produced; lists are in input order."""

    outputs: list[dict[str, Any]]
    failures: Counter[str]
    values: dict[str, list[float]]
    samples: list[ParsedSample] = field(default_factory=list, repr=False)
    # Where the event held its samples when it was an object ({"trajectories": [...]}), else None.
    event_key: str | None = None
    judge: JudgeStats | None = field(default=None, repr=False)  # what the judge did (RLAIF)
    # metrics_list entries dropped so the response fits Lambda's limit, by type (Metric, Reward).
    dropped: Counter[str] = field(default_factory=Counter)

    @property
    def response(self) -> list[dict[str, Any]]:
        """The invocation's return value: a plain JSON array of outputs, also for a
        ``{"trajectories": [...]}`` event, as AWS's gpt-oss sample reward Lambda answers."""
        return self.outputs

    @property
    def sample_count(self) -> int:
        return len(self.outputs)

    @property
    def failed_samples(self) -> int:
        """Samples with a failure reason (contract or grader): each has exactly one."""
        return sum(self.failures.values())

    @property
    def mean_aggregate(self) -> float | None:
        values = self.values[AGGREGATE]
        return sum(values) / len(values) if values else None


class Scorer:
    """A validated spec, its grader and its output builder, built once and reused."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        *,
        grader: Grader | None = None,
        max_response_chars: int = DEFAULT_MAX_RESPONSE_CHARS,
        key: str = "REWARD_SPEC",
        concurrency: int | None = None,
        response_limit: int = RESPONSE_LIMIT_BYTES,
    ) -> None:
        """``concurrency`` overrides the grader's own traits (tests, dry runs); ``response_limit``
        is the most bytes the outputs may serialize to (response_limit.fit_response)."""
        # validate_spec is idempotent, so an already-validated spec passes through unchanged.
        self.spec = validate_spec(spec, key=key)
        self.dimensions = reward_dimensions(self.spec)
        self.range = output_range(self.spec)
        self.calls_judge = uses_judge(self.spec)  # its judge statistics are worth reporting
        self.builder = OutputBuilder(self.dimensions, self.range)
        self.max_response_chars = int(max_response_chars)
        self.response_limit = int(response_limit)
        # How the runtime will write the response (non-ASCII ids escaped or not): read once.
        self.escape_non_ascii = runtime_escapes_non_ascii()
        if grader is None:
            from reward_kit.graders import build_grader  # lazy: grader modules load their deps

            grader = build_grader(self.spec)
        self.grader = grader
        traits = traits_of(grader)
        if concurrency is None:
            concurrency = traits.concurrency
        self.concurrency = concurrency if type(concurrency) is int and concurrency > 1 else 1
        self.timeout_reason = traits.timeout_reason
        self.requires_reference = traits.requires_reference
        self.wants_prompt = traits.wants_prompt
        # Graders (or components) that run in killable worker processes (reward_kit.isolation).
        self.isolated = traits.isolated
        self.metric_source = traits.metrics  # the grader's per-invocation metric group, if any
        self.group_key = traits.group_key  # samples that share work (the judge's GRPO groups)

    def score_event(self, event: Any, *, deadline: float | None = None) -> BatchResult:
        """Score every sample of an event; one output per sample, in input order.

        ``deadline`` (a ``time.monotonic()`` value): samples not graded by then get the
        grader's ``timeout_reason`` and the minimum score.
        """
        event, event_key = unwrap_event(event)
        samples = parse_event(
            event, self.max_response_chars, with_prompt=self.wants_prompt, require_reference=self.requires_reference
        )
        if not self.isolated:
            return self._score_samples(samples, deadline, event_key)
        from reward_kit import isolation  # already loaded by build_grader

        # Workers still busy when the event is scored are killed: nothing keeps running after
        # the handler returns (idle ones stay, blocked on their pipes).
        with isolation.session(self.concurrency, deadline):
            return self._score_samples(samples, deadline, event_key)

    def _score_samples(
        self, samples: list[ParsedSample], deadline: float | None, event_key: str | None
    ) -> BatchResult:
        builder = self.builder
        grade = self._grade
        dimensions = self.dimensions
        outputs: list[dict[str, Any]] = []
        failures: Counter[str] = Counter()
        aggregate_values: list[float] = []
        dimension_values: list[list[float]] = [[] for _ in dimensions]
        graded = None
        # Every grade call runs inside the batch: the deadline, and what graders share per
        # batch (the judge's de-duplication map and statistics).
        gradable = sum(1 for sample in samples if sample.failure is None)
        batch = Batch(deadline, size=gradable, concurrency=self.concurrency)
        if self.concurrency > 1:
            pending = [sample for sample in samples if sample.failure is None]
            if len(pending) > 1:
                graded = self._grade_concurrently(pending, batch)

        for sample in samples:
            reason = sample.failure
            if reason is not None:
                output = builder.failed(sample.id, reason)
            elif graded is not None:
                output, reason = graded[sample.position]
            elif deadline is not None and time.monotonic() >= deadline:
                reason = self.timeout_reason
                output = builder.failed(sample.id, reason)
            else:
                output, reason = run_in_batch(batch, grade, sample)
            if reason is not None:
                failures[reason] += 1
            outputs.append(output)
            aggregate_values.append(output["aggregate_reward_score"])
            # The first len(dimensions) entries of metrics_list are the Reward dimensions, in order.
            metrics_list = output["metrics_list"]
            for index, column in enumerate(dimension_values):
                column.append(metrics_list[index]["value"])

        values = {AGGREGATE: aggregate_values}
        for dimension, per_sample in zip(dimensions, dimension_values):
            values[dimension] = per_sample
        # After the values are taken: metrics still see every dimension of every sample.
        dropped = fit_response(outputs, self.response_limit, self.escape_non_ascii)
        return BatchResult(outputs, failures, values, samples, event_key, batch.judge, dropped)

    def _grade(self, sample: ParsedSample) -> tuple[dict[str, Any], str | None]:
        """(output, reason) for one parseable sample; never raises."""
        try:
            # prompt is None unless wants_prompt (and a user turn was found): graders get "".
            grade_input = GradeInput(sample.response, sample.reference, sample.metadata, sample.prompt or "")  # type: ignore[arg-type]
            result = self.grader(grade_input)
            reason = result.reason
            if reason is not None and not (type(reason) is str and _REASON_RE.fullmatch(reason)):
                reason = GRADER_ERROR  # reasons become metric names: keep them clean
            return self.builder.graded(sample.id, result.score, result.rewards, result.metrics, reason), reason
        except InfrastructureError:
            raise  # the grader cannot run at all: the invocation fails loudly
        except Exception:  # a grader bug must cost one sample, not the batch
            return self.builder.failed(sample.id, GRADER_ERROR), GRADER_ERROR

    def _grade_concurrently(
        self, samples: list[ParsedSample], batch: Batch
    ) -> dict[int, tuple[dict[str, Any], str | None]]:
        """Grade ``samples`` in a thread pool; position -> (output, reason) for each of them.

        Samples still queued or running at the deadline get ``timeout_reason``: queued ones
        are cancelled, running ones are abandoned (their threads finish on their own, bounded
        by the grader's own timeouts, and their results are ignored).
        """
        if self.group_key is not None:
            samples = self._first_of_each_group_first(samples)
        executor = ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(samples)), thread_name_prefix="reward-grader"
        )
        try:
            futures = {
                executor.submit(run_in_batch, batch, self._grade, sample): sample for sample in samples
            }
            deadline = batch.deadline
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            done, _ = wait(futures, timeout=timeout)
        finally:
            # Never wait for abandoned calls: the invocation must return in time.
            executor.shutdown(wait=False, cancel_futures=True)
        results: dict[int, tuple[dict[str, Any], str | None]] = {}
        for future, sample in futures.items():
            if future in done:
                results[sample.position] = future.result()  # _grade never raises
            else:
                results[sample.position] = (self.builder.failed(sample.id, self.timeout_reason), self.timeout_reason)
        return results

    def _first_of_each_group_first(self, samples: list[ParsedSample]) -> list[ParsedSample]:
        """The samples in submission order: every group's first sample, then every group's
        second, ... (input order within a rank). The pool takes them in this order, so a
        group's later samples never hold the threads its first one needs."""
        key_of = self.group_key
        assert key_of is not None
        seen: Counter[Any] = Counter()
        ranks = []
        for sample in samples:
            try:
                key: Any = key_of(GradeInput(sample.response, sample.reference, sample.metadata, sample.prompt or ""))  # type: ignore[arg-type]
                hash(key)
            except Exception:  # noqa: BLE001 - a key that cannot be built: a group of its own
                key = ("ungrouped", sample.position)
            ranks.append(seen[key])
            seen[key] += 1
        order = sorted(range(len(samples)), key=lambda index: ranks[index])  # stable: input order within a rank
        return [samples[index] for index in order]

    def score_text(
        self, response: Any, reference: Any, metadata: Mapping[str, Any] | None = None, *, prompt: str | None = None
    ) -> dict[str, Any]:
        """Score one bare (response, reference) pair; the output carries the id ``"0"``.

        Used by adapters (VeRL/TRL) that have no Nova event; the same contract checks apply,
        and anything but a string response is ``invalid_content`` (no content-block parsing).
        ``prompt`` (optional) becomes the user turn, for graders that want it.
        """
        messages = [{"role": "assistant", "content": response if isinstance(response, str) else None}]
        if isinstance(prompt, str):
            messages.insert(0, {"role": "user", "content": prompt})
        sample = {
            "id": "0",
            "messages": messages,
            "metadata": {**(metadata or {}), "reference_answer": reference},
        }
        return self.score_event([sample]).outputs[0]
