"""Builders shared by the runtime unit tests (``from tests.lambdas.helpers import ...``)."""

from __future__ import annotations

import importlib
import json
from types import ModuleType
from typing import Any, Iterator, Mapping

import pytest

from reward_kit import names
from reward_kit.graders.base import GradeInput, GradeResult
from reward_kit.spec import SpecError, validate_spec


def make_sample(
    sample_id: Any = "s1",
    response: Any = "The answer is \\boxed{positive}",
    reference: Any = "positive",
    *,
    user: str = "How does this review feel?",
    role: str = "assistant",
    where: str = "metadata",  # or "top", or anything else for no reference at all
    **extra: Any,
) -> dict[str, Any]:
    """A well-formed Nova reward sample; pass keyword overrides to break it."""
    sample: dict[str, Any] = {
        "id": sample_id,
        "messages": [{"role": "user", "content": user}, {"role": role, "content": response}],
    }
    if where == "metadata":
        sample["metadata"] = {"reference_answer": reference}
    elif where == "top":
        sample["reference_answer"] = reference
    sample.update(extra)
    return sample


class RecordingGrader:
    """Scores 1.0 when the reference string occurs in the response; records every call."""

    def __init__(self, name: str = "label") -> None:
        self.name = name
        self.calls: list[GradeInput] = []

    def __call__(self, sample: GradeInput) -> GradeResult:
        self.calls.append(sample)
        score = 1.0 if str(sample.reference) in sample.response else 0.0
        return GradeResult(score=score, rewards={self.name: score}, metrics={"seen": 1.0})


LABEL_SPEC = {"grader": "label", "labels": ["positive", "negative", "neutral"]}


def spec_error(spec: Any, key: str = "REWARD_SPEC") -> str:
    """The SpecError message ``validate_spec`` raises for ``spec``; it must be one line."""
    with pytest.raises(SpecError) as info:
        validate_spec(spec, key=key)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- Lambda handlers --------------------------------------------------------------------------


def fresh_handler(module_name: str, spec: Mapping[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """For ``yield from`` in a fixture: the handler module ``module_name`` with only
    REWARD_SPEC=spec configured, and no cached Scorer or pending metrics before or after."""
    monkeypatch.setenv(names.ENV_REWARD_SPEC, json.dumps(spec))
    for var in (names.ENV_LOG_SAMPLE_TEXT, names.ENV_MAX_RESPONSE_CHARS, "POWERTOOLS_METRICS_DISABLED"):
        monkeypatch.delenv(var, raising=False)
    module = importlib.import_module(module_name)
    cold_start(module)
    yield module
    cold_start(module)


def cold_start(module: ModuleType) -> None:
    """Make the handler module's next invocation a cold start: the runtime reads its
    environment once per cold start (a test that changes it calls this)."""
    module.runtime.scorers.clear()
    module.runtime.metrics.clear_metrics()


def parse_lines(stdout: str) -> tuple[list[dict], list[dict]]:
    """(log records, EMF blobs) from captured stdout; every line must be one JSON object."""
    logs, blobs = [], []
    for line in stdout.splitlines():
        record = json.loads(line)
        (blobs if "_aws" in record else logs).append(record)
    return logs, blobs


def summary(blobs: list[dict]) -> dict:
    """The invocation's summary: the first record (it alone carries the properties and the
    per-invocation counts), with ``failures`` gathered from its ``Failure_<reason>`` keys."""
    first = blobs[0]
    prefix = names.METRIC_FAILURE_PREFIX
    return {**first, "failures": {k[len(prefix):]: v for k, v in first.items() if k.startswith(prefix)}}


def metric_values(blobs: list[dict], service: str = "reward") -> dict[str, list[float]]:
    """Every value of every metric across blobs, checked against each blob's directive."""
    values: dict[str, list[float]] = {}
    for blob in blobs:
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == names.METRIC_NAMESPACE
        assert directive["Dimensions"] == [[names.METRIC_DIMENSION_SERVICE]]
        assert blob[names.METRIC_DIMENSION_SERVICE] == service
        assert len(directive["Metrics"]) <= 100
        for definition in directive["Metrics"]:
            value = blob[definition["Name"]]
            value = value if isinstance(value, list) else [value]
            assert len(value) <= 100, "EMF allows at most 100 values per metric"
            values.setdefault(definition["Name"], []).extend(value)
    return values
