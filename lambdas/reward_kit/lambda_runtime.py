"""What every reward Lambda entry point shares: spec loading, scoring, logs, EMF metrics.

``rlvr/handler.py`` and ``rlaif/handler.py`` are thin wrappers around one ``RewardRuntime``
each (built at import, i.e. once per cold start)::

    runtime = RewardRuntime()
    handler = runtime.handler          # the Lambda entry point
    get_scorer = runtime.get_scorer    # the Scorer for the current environment

Configuration (environment; names, defaults and limits in ``reward_kit.settings``):
  REWARD_SPEC                   JSON reward spec (required), validated once per cold start.
  REWARD_MAX_RESPONSE_CHARS     longer responses score the minimum (default 100000).
  REWARD_LOG_SAMPLE_TEXT=true   also log one line per sample with response/reference text.
  JUDGE_MODEL_ID                Bedrock model / inference profile id (specs with a judge).
  JUDGE_MAX_CONCURRENCY         parallel judge calls per invocation (default 16).
  JUDGE_CACHE_ENTRIES           per-container judge result cache, entries (default 0: off).
  JUDGE_PROMPT_CACHING=false    no Bedrock prompt-caching checkpoints (default: where they count).
  JUDGE_PROMPT_CACHE_MIN_TOKENS minimum prefix per checkpoint for a model the table lacks.
  POWERTOOLS_SERVICE_NAME       logger service and metric dimension (default "reward").
  POWERTOOLS_METRICS_NAMESPACE  metric namespace (default reward_kit.names.METRIC_NAMESPACE).

Per invocation it writes ONE log record (``reward_kit.invocation_record``): an EMF record
whose metrics are the per-sample rewards (``Reward``, and ``Reward_<dimension>`` for multi
specs; with a range below 0 also their 0..1 copies ``Norm_<metric>``, for percentiles), ``Samples``, ``Failed``, ``Failure_<reason>``, ``Seconds`` and any extra metric group
(``add_metric_source``, a grader's ``GraderTraits.metrics``), with the summary fields that are
not metrics (``mean``) as properties. Batches over 100 samples take one more record per 100
samples (EMF's limit of 100 values per metric). When a batch's outputs would not fit Lambda's
6 MB response limit the record also counts ``DroppedDiagnostics`` and ``DroppedRewardEntries``
(entries left out of metrics_list, see ``response_limit.fit_response``) and one warning line says so.
Warnings and errors are separate JSON lines from the Powertools logger (with the request id);
no sample text is logged by default.

Deadline: when the Lambda context has ``get_remaining_time_in_millis``, the Scorer gets a
deadline a little before the function's timeout (``deadline.safety_margin_seconds``); samples not graded
by then (slow judge calls) score the minimum with the grader's timeout reason, so the
invocation still returns one output per sample instead of timing out.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections import Counter
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from reward_kit import names
from reward_kit.contract import EventError
from reward_kit.criteria import criterion_series, criterion_values
from reward_kit.deadline import safety_margin_seconds
from reward_kit.graders.base import InfrastructureError
from reward_kit.invocation_metrics import compact_value, invocation_metrics, summary_properties
from reward_kit.invocation_record import Metric, MetricSource, build_records, dumps, without_envelope
from reward_kit.kinds import function_kind_for, spec_needs
from reward_kit.reasons import INVALID_EVENT
from reward_kit.scoring import AGGREGATE, BatchResult, Scorer
from reward_kit.settings import APPLICATION_LOG_LEVELS_KEEPING_THE_RECORD, RuntimeSettings
from reward_kit.spec import SPEC_HASH_CHARS, parse_spec_json, spec_hash

_SCORER = "scorer"  # RewardRuntime.scorers' one key

__all__ = [
    "Metric",
    "MetricSource",
    "RewardRuntime",
    "deadline_from_context",
    "estimate_debug_line_bytes",
    "estimate_record_bytes",
]

DEBUG_MESSAGE = "reward batch scored"


class _CurrentStdout:
    """Writes to whatever sys.stdout is at call time, like print() (and the EMF blobs) do,
    so local runners and tests that redirect stdout see the log lines too."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def deadline_from_context(context: Any, started: float | None = None) -> float | None:
    """A ``time.monotonic()`` deadline for scoring, or None without a Lambda context."""
    get_remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(get_remaining):
        return None
    try:
        remaining = float(get_remaining()) / 1000.0
    except Exception:  # noqa: BLE001 - a local fake context must not break scoring
        return None
    if not math.isfinite(remaining):
        return None
    now = time.monotonic() if started is None else started
    remaining = max(0.0, remaining)
    return now + remaining - safety_margin_seconds(remaining)


class RewardRuntime:
    """Logger, metrics and the cached Scorer of one reward Lambda entry point.

    ``function_kind`` ("rlvr", "rlaif" or "code": cdk.json's ``kind`` of a reward function, not a
    spec's grader kind) only changes a cold-start warning: a function whose spec implies another
    function kind (an rlaif spec without a judge, an rlvr one with one, ...) is
    probably misconfigured.
    """

    def __init__(self, function_kind: str = "rlvr") -> None:
        self.function_kind = function_kind
        settings = RuntimeSettings.from_env()
        self.settings = settings
        self.service_name = settings.service_name
        self.logger = Logger(service=self.service_name, stream=_CurrentStdout())  # type: ignore[arg-type]  # write/flush suffice
        self.metrics = Metrics(namespace=settings.metrics_namespace, service=self.service_name)
        # The Scorer, built from the environment on the first invocation (the environment of a
        # Lambda sandbox never changes); empty it to build again (tests: helpers.fresh_handler).
        self.scorers: dict[str, Scorer] = {}
        self.metric_sources: list[MetricSource] = []
        self.spec_hash: str | None = None  # of the cached Scorer's spec: the version description's hash
        self.criteria: list[tuple[str, str]] = []  # the cached Scorer's judge criteria series
        # The version this sandbox runs (Lambda sets it): every metric also carries it.
        version = os.environ.get(names.ENV_LAMBDA_FUNCTION_VERSION, "").strip()
        self.metric_dimensions = {names.METRIC_DIMENSION_VERSION: version} if version else None
        # reward_kit's own log records (the judge's error lines) get the same JSON format.
        # Powertools configures only top-level loggers that already exist, and the judge module
        # (logger "reward_kit.graders.judge") loads lazily: create the parent logger first.
        logging.getLogger("reward_kit")
        copy_config_to_registered_loggers(source_logger=self.logger, include={"reward_kit"})
        lambda_level = os.environ.get(names.ENV_LAMBDA_LOG_LEVEL, "").strip().upper()
        if lambda_level and lambda_level not in APPLICATION_LOG_LEVELS_KEEPING_THE_RECORD:
            # CRITICAL: the only level that passes every Lambda filter (FATAL).
            self.logger.critical(
                f"application log level {lambda_level} drops the per-invocation metrics record "
                "(Lambda files it as INFO): no reward metrics will reach CloudWatch"
            )

    # --- scorer ---------------------------------------------------------------------------

    def get_scorer(self) -> Scorer:
        """The Scorer, built from the environment once per cold start; raises SpecError for a
        bad REWARD_SPEC (and JudgeConfigError for a judge spec without JUDGE_MODEL_ID), again on
        every invocation until the environment is fixed."""
        scorer = self.scorers.get(_SCORER)
        if scorer is None:
            settings = RuntimeSettings.from_env()
            self.settings = settings
            spec = parse_spec_json(settings.reward_spec, key=names.ENV_REWARD_SPEC)
            scorer = Scorer(spec, max_response_chars=settings.max_response_chars)
            implied = function_kind_for(spec_needs(scorer.spec))
            if implied != self.function_kind:
                self.logger.warning(
                    f"{self.function_kind} function with a spec for a {implied} function",
                    extra={"grader": scorer.spec["grader"], "judge": scorer.calls_judge},
                )
            self.scorers[_SCORER] = scorer
            self.spec_hash = spec_hash(scorer.spec)
            self.criteria = criterion_series(scorer.spec)
            if scorer.isolated:
                # Fork the grading workers now, from the warm process and before scoring
                # starts any thread; they stay idle between invocations (reward_kit.isolation).
                from reward_kit import isolation

                try:
                    isolation.POOL.start(scorer.concurrency)
                except OSError as exc:  # each call tries again; a sample that cannot run is a grader_error
                    self.logger.warning("grading workers could not start", extra={"error": str(exc)})
        return scorer

    # --- extra metric groups -----------------------------------------------------------------

    def add_metric_source(self, source: MetricSource) -> None:
        """Join a group of per-invocation metrics to every invocation's record.

        ``source()`` is called once per invocation, after scoring (also when the event was
        invalid), and returns that invocation's ``Metric`` objects; it resets whatever it
        counts. A grader offers the same callable as ``GraderTraits.metrics`` (``multi``
        combines its components'); metrics added with Powertools' ``runtime.metrics.add_metric``
        during the invocation join the record too.
        """
        self.metric_sources.append(source)

    # --- entry point ------------------------------------------------------------------------

    def handler(self, event: Any, context: Any = None) -> list[dict[str, Any]]:
        """Score a Nova RFT reward event: one output per input sample, in input order, as a
        JSON array (also for a ``{"trajectories": [...]}`` event, as AWS's sample Lambda does)."""
        started = time.perf_counter()
        deadline = deadline_from_context(context)
        scorer = self.get_scorer()
        try:
            result = scorer.score_event(event, deadline=deadline)
        except EventError as exc:
            # The whole invocation fails (a Lambda error the trainer sees); still record why.
            metrics = [
                Metric(names.failure_metric_name(INVALID_EVENT), 1),
                Metric(names.METRIC_SAMPLES, 0),
                Metric(names.METRIC_BATCH_SECONDS, round(time.perf_counter() - started, 4)),
            ]
            self._write_record(scorer, metrics, {})
            self.logger.error("invalid reward event", extra={"error": str(exc), **_request_fields(context)})
            raise
        except InfrastructureError as exc:
            # E.g. the code executor is throttled or missing: fail the invocation (the job retries,
            # the errors alarm sees it) rather than return zeros it would train on.
            self.logger.error("grader cannot run", extra={"error": str(exc), **_request_fields(context)})
            raise

        try:
            if self.settings.log_sample_text:
                self._log_sample_text(result)
        finally:
            seconds = time.perf_counter() - started
            judge = result.judge if scorer.calls_judge else None
            metrics = invocation_metrics(result, scorer.dimensions, seconds, judge, output_range=scorer.range)
            if self.criteria:
                metrics += [Metric(name, [compact_value(v) for v in values])
                            for name, values in criterion_values(result.outputs, self.criteria).items()]
            self._write_record(scorer, metrics, summary_properties(result))
            if result.dropped:
                self._report_dropped(result)
            # Detail for dev (application log level DEBUG): the record has no request id.
            self.logger.debug(DEBUG_MESSAGE, extra=_debug_fields(result, context, self.spec_hash))
        return result.response

    def _report_dropped(self, result: BatchResult) -> None:
        """The response was trimmed to fit Lambda's limit (response_limit.fit_response): say so once
        (the counts are in the record, ``invocation_metrics``)."""
        self.logger.warning(
            "response trimmed to fit the Lambda response limit",
            extra={"samples": result.sample_count, "dropped_diagnostics": result.dropped["Metric"],
                   "dropped_reward_entries": result.dropped["Reward"]},
        )

    def _write_record(self, scorer: Scorer, metrics: list[Metric], properties: dict[str, Any]) -> None:
        """Print the invocation's record(s). Never raises: a metrics bug must not cost the
        trainer its rewards (it is logged as an error instead)."""
        try:
            taken = {m.name for m in metrics} | set(properties)
            for extra in self._extra_metrics(scorer):
                if extra.name in taken:  # a group must not overwrite the batch's own fields
                    self.logger.warning("metric reported twice: later value dropped", extra={"metric": extra.name})
                    continue
                taken.add(extra.name)
                metrics.append(extra)
            records = build_records(self.metrics.serialize_metric_set, metrics, properties, self.metric_dimensions)
            if is_metrics_disabled():
                records = [without_envelope(records[0])] if records else []
            for record in records:
                print(dumps(record))
        except Exception:  # noqa: BLE001 - see docstring
            self.logger.exception("could not write the invocation record")

    def _extra_metrics(self, scorer: Scorer) -> list[Metric]:
        extra: list[Metric] = []
        sources = list(self.metric_sources)
        if scorer.metric_source is not None:
            sources.append(scorer.metric_source)
        for source in sources:
            try:
                extra.extend(source())
            except Exception:  # noqa: BLE001 - one broken group must not sink the record
                self.logger.exception("metric source failed", extra={"source": getattr(source, "__name__", "?")})
        # Anything added the Powertools way during the invocation (flushed by nobody else).
        pending = self.metrics.metric_set
        if pending:
            extra += [Metric(name, list(m["Value"]), m.get("Unit", "None")) for name, m in pending.items()]
            self.metrics.clear_metrics()
        return extra

    def _log_sample_text(self, result: BatchResult) -> None:
        # Opt-in only (REWARD_LOG_SAMPLE_TEXT=true): responses can be large and confidential.
        for sample, output in zip(result.samples, result.outputs):
            self.logger.info(
                "sample text",
                extra={
                    "sample_id": sample.id,
                    "failure": sample.failure,
                    "aggregate_reward_score": output["aggregate_reward_score"],
                    "response": sample.response,
                    "reference": sample.reference,
                    "prompt": sample.prompt,  # None unless the grader asked for it (the judge)
                },
            )


def estimate_record_bytes(
    dimensions: list[str],
    samples: int,
    *,
    service: str,
    seconds: float,
    namespace: str = names.METRIC_NAMESPACE,
    rewards: tuple[float, ...] = (1, 0, 0.8),
    version: str | None = "12",
) -> int:
    """Log bytes one invocation writes, by the handler's own code path, for a batch of
    ``samples`` with no failures whose rewards cycle through ``rewards`` (binary rewards with
    some partial credit), as a deployed version (``version``: the dimension Lambda's
    ``AWS_LAMBDA_FUNCTION_VERSION`` adds) writes it. The cost model (``stacks.cost``) uses it;
    ``make bench`` measures."""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    values = [float(rewards[i % len(rewards)]) for i in range(samples)]
    binary = [1.0 if v > 0.5 else 0.0 for v in values]
    result = BatchResult(
        outputs=[{}] * samples,
        failures=Counter(),
        values={AGGREGATE: values, **dict.fromkeys(dimensions, binary)},
    )
    provider = AmazonCloudWatchEMFProvider(namespace=namespace, service=service)
    records = build_records(provider.serialize_metric_set, invocation_metrics(result, dimensions, seconds), summary_properties(result),
                            {names.METRIC_DIMENSION_VERSION: version} if version else None)
    return sum(len(dumps(record).encode()) + 1 for record in records)  # + the newline


def estimate_debug_line_bytes(service: str, samples: int, request_id: str = "3f9a2c1e-7b4d-4e8f-9a21-5c6d7e8f9a0b") -> int:
    """Bytes of the per-invocation DEBUG line (application log level DEBUG or TRACE), in the
    shape Powertools' JSON formatter gives it (tests compare with a real line)."""
    result = BatchResult(outputs=[{}] * samples, failures=Counter(), values={AGGREGATE: []})

    class _Context:
        aws_request_id = request_id

    line = {"level": "DEBUG", "location": "handler:200", "message": DEBUG_MESSAGE,
            "timestamp": "2025-06-01 12:00:00,000+0000", "service": service, "name": service,
            **_debug_fields(result, _Context(), "0" * SPEC_HASH_CHARS)}
    return len(dumps(line).encode()) + 1


def _debug_fields(result: BatchResult, context: Any, spec_hash: str | None) -> dict[str, Any]:
    # spec_hash: the hash in the Lambda version's description and the dry run's report. Not in
    # the per-invocation record (bytes on every invocation): in production the log stream's
    # name carries the function version, whose description carries the hash.
    return {"samples": result.sample_count, "failures": dict(result.failures), names.SUMMARY_SPEC_HASH: spec_hash,
            **_request_fields(context)}


def _request_fields(context: Any) -> dict[str, Any]:
    request_id = getattr(context, "aws_request_id", None)
    return {"request_id": request_id} if isinstance(request_id, str) else {}
