"""Which runtime metrics one reward function emits: names from ``reward_kit.names``, never typed here.

Pure Python (no CDK), so the dashboard, the alarms and the tests read one description of a
function's metrics: its per-sample reward series (and their 0..1 copies for ranges below 0),
its batch counters, and the failure reasons its spec can produce, grouped as the dashboard
shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from reward_kit import kinds, names
from reward_kit.graders.judge.reply import JUDGE_ERROR, JUDGE_TIMEOUT, JUDGE_UNPARSEABLE  # pure, stdlib only
from reward_kit.reasons import (
    FAILURE_REASONS,
    GRADER_ERROR,
    GRADER_TIMEOUT,
    MISSING_REFERENCE,
    MULTIPLE_ANSWERS,
    NO_ANSWER,
    NO_CODE,
)
from reward_kit.spec import output_range, reward_dimensions
from stacks.config import RewardFunctionConfig

JUDGE_FAILURE_REASONS = (JUDGE_UNPARSEABLE, JUDGE_ERROR, JUDGE_TIMEOUT)
NO_ANSWER_REASONS = (NO_ANSWER, NO_CODE)
# Grader kinds that grade samples without a reference (kinds.GraderKind.reference_free).
REFERENCE_FREE_KINDS = frozenset(name for name, kind in kinds.GRADER_KINDS.items() if kind.reference_free)
# Contract failures: the event's shape, before any grader runs.
CONTRACT_FAILURE_REASONS = tuple(
    r for r in FAILURE_REASONS if r not in (GRADER_ERROR, GRADER_TIMEOUT)
)


def leaf_kinds(spec: Mapping[str, Any]) -> Iterator[str]:
    """Grader kinds of a validated spec, components of a composite included."""
    kind = kinds.GRADER_KINDS[spec["grader"]]
    if kind.composite:
        for component in spec["graders"].values():
            yield from leaf_kinds(component)
    else:
        yield spec["grader"]


def answer_failures(spec: Mapping[str, Any]) -> frozenset[str]:
    """The answer-extraction reasons a validated spec reports.

    ``multi`` reports its correctness components' reason first (``graders/multi.py``), and a
    missing or repeated answer always gives them one: a formatting component's reason then
    never shows, so only the correctness components count when there are any.
    """
    if not kinds.GRADER_KINDS[spec["grader"]].composite:
        return frozenset(kinds.GRADER_KINDS[spec["grader"]].answer_failures)
    components = list(spec["graders"].values())
    correct = [c for c in components if kinds.GRADER_KINDS[c["grader"]].grades_correctness]
    return frozenset().union(*(answer_failures(c) for c in (correct or components)))


def executor_failures(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The reasons a validated spec's graders give a sample their code executor failed on
    (``kinds.GraderKind.executor_failures``), in table order, each once."""
    reasons: list[str] = []
    for leaf in leaf_kinds(spec):
        for reason in kinds.GRADER_KINDS[leaf].executor_failures:
            if reason not in reasons:
                reasons.append(reason)
    return tuple(reasons)


@dataclass(frozen=True)
class FailureGroup:
    key: str  # short id used in metric-math ids and alarm names
    label: str  # legend text
    reasons: tuple[str, ...]

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(names.failure_metric_name(r) for r in self.reasons)


@dataclass(frozen=True)
class FunctionMetrics:
    """The metrics of one reward function, as ``reward_kit.lambda_runtime`` emits them."""

    function: RewardFunctionConfig

    @property
    def service(self) -> str:
        """Value of the ``service`` dimension (Powertools' service name: the Lambda's name)."""
        return self.function.runtime_settings.service_name

    @property
    def dimensions(self) -> dict[str, str]:
        return {names.METRIC_DIMENSION_SERVICE: self.service}

    @property
    def output_range(self) -> tuple[float, float]:
        return output_range(self.function.reward_spec)

    @property
    def normalized(self) -> bool:
        """True when percentiles must read the 0..1 copies (the range goes below 0)."""
        return names.publishes_normalized(self.output_range)

    @property
    def percentile_range(self) -> tuple[float, float]:
        """The scale the percentile and histogram metrics are on."""
        return (0.0, 1.0) if self.normalized else self.output_range

    @property
    def score_metrics(self) -> list[tuple[str, str]]:
        """(title, metric name) of every per-sample reward series: the aggregate, then each dimension."""
        dimensions = reward_dimensions(self.function.reward_spec)
        metric_names = names.distribution_metric_names(dimensions)
        titles = ["aggregate", *dimensions] if len(metric_names) > 1 else ["aggregate"]
        return list(zip(titles, metric_names))

    def percentile_metric(self, metric: str) -> str:
        """The series percentiles and PR(a:b) buckets read for ``metric``."""
        return names.normalized_metric_name(metric) if self.normalized else metric

    @property
    def uses_judge(self) -> bool:
        return self.function.judge is not None

    @property
    def failure_groups(self) -> tuple[FailureGroup, ...]:
        """The failure reasons this function's spec can produce, as the dashboard groups them.

        Failures outside these groups (grader errors and timeouts, grader-specific reasons
        such as ``invalid_json``) show as "other": Failed minus the groups.
        """
        leaves = set(leaf_kinds(self.function.reward_spec))
        contract_reasons = CONTRACT_FAILURE_REASONS
        if leaves <= REFERENCE_FREE_KINDS:
            contract_reasons = tuple(r for r in contract_reasons if r != MISSING_REFERENCE)
        groups = [FailureGroup("contract", "contract failures", contract_reasons)]
        answer = answer_failures(self.function.reward_spec)
        no_answer = tuple(r for r in NO_ANSWER_REASONS if r in answer)
        if no_answer:
            groups.append(FailureGroup("noanswer", " / ".join(no_answer), no_answer))
        if MULTIPLE_ANSWERS in answer:
            groups.append(FailureGroup("multiple", MULTIPLE_ANSWERS, (MULTIPLE_ANSWERS,)))
        if self.uses_judge:
            groups.append(FailureGroup("judge", "judge failures", JUDGE_FAILURE_REASONS))
        executor = executor_failures(self.function.reward_spec)
        if executor:  # the code executor died, hung or answered nonsense on a sample
            groups.append(FailureGroup("executor", "code executor errors", executor))
        return tuple(groups)

    @property
    def judge_failure_group(self) -> FailureGroup | None:
        return next((g for g in self.failure_groups if g.key == "judge"), None)
