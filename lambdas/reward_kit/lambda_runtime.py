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
  POWERTOOLS_SERVICE_NAME       logger service and metric dimension (default "reward").
  POWERTOOLS_METRICS_NAMESPACE  metric namespace (default reward_kit.names.METRIC_NAMESPACE).

Per invocation it writes one summary log line (never any sample text by default) and EMF
metrics: per-sample AggregateReward and Reward_<dimension> values (distributions), and
Samples, FailedSamples, Failure_<reason> and BatchSeconds; with a judge in the spec also the
judge's Judge* counts and JudgeCallSeconds values (``reward_kit.judge_stats``); when a batch's
outputs would not fit Lambda's 6 MB response limit, DroppedDiagnostics and DroppedRewardEntries
(entries left out of metrics_list, see ``contract.fit_response``) and one warning line.

Deadline: when the Lambda context has ``get_remaining_time_in_millis``, the Scorer gets a
deadline a little before the function's timeout (``deadline.safety_margin_seconds``); samples not graded
by then (slow judge calls) score the minimum with the grader's timeout reason, so the
invocation still returns one output per sample instead of timing out.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from reward_kit import names
from reward_kit.contract import INVALID_EVENT, EventError
from reward_kit.deadline import safety_margin_seconds
from reward_kit.judge_stats import JudgeStats
from reward_kit.kinds import function_kind_for, spec_needs
from reward_kit.scoring import AGGREGATE, BatchResult, Scorer
from reward_kit.settings import JUDGE_CACHE_ENTRIES, JUDGE_MAX_CONCURRENCY, RuntimeSettings
from reward_kit.spec import parse_spec_json, uses_judge

__all__ = ["RewardRuntime", "deadline_from_context"]

# EMF limits: at most 100 values per metric and 100 metrics per blob.
EMF_MAX_VALUES = 100
EMF_MAX_METRICS = 100
# Metric values only feed CloudWatch statistics: 4 decimals keep the log lines short.
METRIC_DECIMALS = 4


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

    ``kind`` ("rlvr", "rlaif" or "code") only changes a cold-start warning: a function whose
    spec implies another kind (an rlaif spec without a judge, an rlvr one with one, ...) is
    probably misconfigured.
    """

    def __init__(self, kind: str = "rlvr") -> None:
        self.kind = kind
        settings = RuntimeSettings.from_env()
        self.settings = settings
        self.service_name = settings.service_name
        self.logger = Logger(service=self.service_name, stream=_CurrentStdout())  # type: ignore[arg-type]  # write/flush suffice
        self.metrics = Metrics(namespace=settings.metrics_namespace, service=self.service_name)
        # (settings that shape the Scorer) -> Scorer. Normally one entry for the container's
        # life; keyed so that a changed environment (tests, local runs) is picked up.
        self.scorers: dict[tuple[Any, ...], Scorer] = {}
        # reward_kit's own log records (the judge's error lines) get the same JSON format.
        # Powertools configures only top-level loggers that already exist, and the judge module
        # (logger "reward_kit.graders.judge") loads lazily: create the parent logger first.
        logging.getLogger("reward_kit")
        copy_config_to_registered_loggers(source_logger=self.logger, include={"reward_kit"})

    # --- scorer ---------------------------------------------------------------------------

    def get_scorer(self) -> Scorer:
        """The Scorer for the current environment; raises SpecError for a bad REWARD_SPEC
        (and JudgeConfigError for a judge spec without JUDGE_MODEL_ID)."""
        settings = RuntimeSettings.from_env()
        self.settings = settings
        cache_key = (
            settings.reward_spec,
            settings.max_response_chars,
            settings.judge_model_id,
            os.environ.get(JUDGE_MAX_CONCURRENCY.env),  # range-checked by the judge when built
            os.environ.get(JUDGE_CACHE_ENTRIES.env),
        )
        scorer = self.scorers.get(cache_key)
        if scorer is None:
            spec = parse_spec_json(settings.reward_spec, key=names.ENV_REWARD_SPEC)
            scorer = Scorer(spec, max_response_chars=settings.max_response_chars)
            implied = function_kind_for(spec_needs(scorer.spec))
            if implied != self.kind:
                self.logger.warning(
                    f"{self.kind} function with a spec for a {implied} function",
                    extra={"grader": scorer.spec["grader"], "judge": uses_judge(scorer.spec)},
                )
            self.scorers.clear()
            self.scorers[cache_key] = scorer
        return scorer

    # --- entry point ------------------------------------------------------------------------

    def handler(self, event: Any, context: Any = None) -> list[dict[str, Any]] | dict[str, Any]:
        """Score a Nova RFT reward event: one output per input sample, in input order (a list;
        ``{"trajectories": [...]}`` when the event came as such an object)."""
        started = time.perf_counter()
        deadline = deadline_from_context(context)
        scorer = self.get_scorer()
        metrics = self.metrics
        try:
            result = scorer.score_event(event, deadline=deadline)
        except EventError as exc:
            # The whole invocation fails (a Lambda error the trainer sees); still record why.
            metrics.add_metric(name=names.failure_metric_name(INVALID_EVENT), unit=MetricUnit.Count, value=1)
            metrics.add_metric(name=names.METRIC_SAMPLES, unit=MetricUnit.Count, value=0)
            metrics.add_metric(
                name=names.METRIC_BATCH_SECONDS, unit=MetricUnit.Seconds, value=round(time.perf_counter() - started, 4)
            )
            metrics.flush_metrics()
            self.logger.error("invalid reward event", extra={"error": str(exc), **_request_fields(context)})
            raise

        try:
            if self.settings.log_sample_text:
                self._log_sample_text(result)
            self._emit_value_metrics(result, scorer.dimensions)
            if result.judge is not None and uses_judge(scorer.spec):
                self._emit_judge_metrics(result.judge)
        finally:
            seconds = time.perf_counter() - started
            self._add_batch_metrics(result, seconds)
            if result.dropped:
                self._report_dropped(result)
            metrics.flush_metrics()
            self._log_summary(result, seconds, context)
        return result.response

    def _report_dropped(self, result: BatchResult) -> None:
        """The response was trimmed to fit Lambda's limit (contract.fit_response): say how much."""
        diagnostics, rewards = result.dropped["Metric"], result.dropped["Reward"]
        self.metrics.add_metric(name=names.METRIC_DROPPED_DIAGNOSTICS, unit=MetricUnit.Count, value=diagnostics)
        self.metrics.add_metric(name=names.METRIC_DROPPED_REWARD_ENTRIES, unit=MetricUnit.Count, value=rewards)
        self.logger.warning(
            "response trimmed to fit the Lambda response limit",
            extra={"samples": result.sample_count, "dropped_diagnostics": diagnostics, "dropped_reward_entries": rewards},
        )

    def _emit_value_metrics(self, result: BatchResult, dimensions: list[str]) -> None:
        """Print the per-sample reward distributions as compact EMF blobs, 100 samples each.

        Powertools' add_metric would also keep every value (it prints a blob whenever a metric
        reaches 100 values), but per value it formats a debug message and prints with spaced
        separators: ~40 ms and ~20% more log bytes per 1,000 samples. Serialization still goes
        through Powertools (namespace, service dimension, EMF schema).
        """
        if is_metrics_disabled():
            return
        series = [(names.METRIC_AGGREGATE_REWARD, result.values[AGGREGATE])]
        series += [(names.reward_metric_name(d), result.values[d]) for d in dimensions]
        total = result.sample_count
        for first_series in range(0, len(series), EMF_MAX_METRICS):
            group = series[first_series : first_series + EMF_MAX_METRICS]
            for start in range(0, total, EMF_MAX_VALUES):
                stop = start + EMF_MAX_VALUES
                metric_set = {
                    name: {"Unit": "None", "StorageResolution": 60, "Value": [_compact(v) for v in values[start:stop]]}
                    for name, values in group
                }
                print(json.dumps(self.metrics.serialize_metric_set(metrics=metric_set), separators=(",", ":")))

    def _emit_judge_metrics(self, stats: JudgeStats) -> None:
        """The judge's counts (added to the batch metrics) and its call latencies (compact
        blobs, 100 values each, like the reward distributions); names in reward_kit.names."""
        for name, count in stats.metric_counts().items():
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
        if is_metrics_disabled():
            return
        latencies = stats.latency_values()
        for start in range(0, len(latencies), EMF_MAX_VALUES):
            values = [_compact(v) for v in latencies[start : start + EMF_MAX_VALUES]]
            metric_set = {names.METRIC_JUDGE_CALL_SECONDS: {"Unit": "Seconds", "StorageResolution": 60, "Value": values}}
            print(json.dumps(self.metrics.serialize_metric_set(metrics=metric_set), separators=(",", ":")))

    def _add_batch_metrics(self, result: BatchResult, seconds: float) -> None:
        add_metric = self.metrics.add_metric
        add_metric(name=names.METRIC_SAMPLES, unit=MetricUnit.Count, value=result.sample_count)
        add_metric(name=names.METRIC_FAILED_SAMPLES, unit=MetricUnit.Count, value=result.failed_samples)
        for reason, count in sorted(result.failures.items()):
            add_metric(name=names.failure_metric_name(reason), unit=MetricUnit.Count, value=count)
        add_metric(name=names.METRIC_BATCH_SECONDS, unit=MetricUnit.Seconds, value=round(seconds, 4))

    def _log_summary(self, result: BatchResult, seconds: float, context: Any) -> None:
        mean = result.mean_aggregate
        self.logger.info(
            "reward batch scored",
            extra={
                "samples": result.sample_count,
                "failed": result.failed_samples,
                "mean_aggregate": None if mean is None else round(mean, 4),
                "failures": dict(result.failures),
                "seconds": round(seconds, 4),
                **_request_fields(context),
            },
        )

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


def _compact(value: float) -> float | int:
    # 1 instead of 1.0: binary rewards are the common case and every byte is per sample.
    value = round(value, METRIC_DECIMALS)
    return int(value) if value.is_integer() else value


def _request_fields(context: Any) -> dict[str, Any]:
    request_id = getattr(context, "aws_request_id", None)
    return {"request_id": request_id} if isinstance(request_id, str) else {}
