"""What a deployed reward function's answer to one batch must satisfy (the Nova reward
contract): no function error, a JSON list with one output per input sample, each carrying an
input's id, a finite ``aggregate_reward_score`` and a well-formed ``metrics_list``.

Used by ``make invoke`` and by the pipeline's post-deploy check; a violation means the
trainer would lose or misattribute samples.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

METRIC_TYPES = ("Reward", "Metric")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def input_ids(samples: list[Any]) -> list[Any]:
    """The ids a trainer will look for (``id``, else ``task_id``, as AWS's samples send them)."""
    ids = []
    for sample in samples:
        if isinstance(sample, dict):
            ids.append(sample.get("id", sample.get("task_id")))
    return ids


def violations(samples: list[Any], response: Any, function_error: str | None = None) -> list[str]:
    """Every way ``response`` (the decoded payload) breaks the contract for ``samples``."""
    if function_error:
        message = response.get("errorMessage") if isinstance(response, dict) else response
        return [f"the function failed ({function_error}): {message}"]
    if not isinstance(response, list):
        return [f"the response is a {type(response).__name__}, not a list of outputs"]
    problems = []
    if len(response) != len(samples):
        problems.append(f"{len(response)} outputs for {len(samples)} samples")
    seen: Counter[Any] = Counter()
    for i, output in enumerate(response):
        where = f"output {i}"
        if not isinstance(output, dict):
            problems.append(f"{where} is not an object")
            continue
        seen[output.get("id")] += 1
        if not _finite(output.get("aggregate_reward_score")):
            problems.append(f"{where} (id {output.get('id')!r}): aggregate_reward_score "
                            f"{output.get('aggregate_reward_score')!r} is not a finite number")
        metrics = output.get("metrics_list", [])
        if not isinstance(metrics, list):
            problems.append(f"{where}: metrics_list is not a list")
            continue
        for metric in metrics:
            if not (isinstance(metric, dict) and isinstance(metric.get("name"), str) and _finite(metric.get("value"))
                    and metric.get("type", "Metric") in METRIC_TYPES):
                problems.append(f"{where}: malformed metrics_list entry {metric!r}")
                break
    expected = Counter(i for i in input_ids(samples) if isinstance(i, (str, int)) and not isinstance(i, bool))
    missing = expected - seen
    if missing:
        problems.append(f"no output for id(s) {sorted(map(str, missing))[:10]}")
    return problems
