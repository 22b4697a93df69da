"""VeRL/TRL-style adapter: ``compute_score(data_source, solution_str, ground_truth, extra_info)``.

The same graders and contract checks as the Lambda, for open-source RL trainers. The spec
comes from, in order:

1. ``extra_info["reward_spec"]`` (a dict or JSON text),
2. the ``REWARD_SPEC`` environment variable,
3. a default for well-known ``data_source`` values (``DEFAULT_SPECS``).

Graders are built once per distinct spec and cached. Bad text input (None, empty, wrong
type, too long) scores the minimum of the range; only a configuration problem (no spec
for an unknown ``data_source``, an invalid spec) raises.

What verl hands over is accepted as verl hands it over: numpy scalars and arrays (what verl
reads from parquet: ``np.int64(72)``, ``np.array(["72"])``; a 1-element array is its element,
a longer one a list, i.e. a set reference) are turned into plain Python values without
importing numpy (duck typing on ``tolist``), also inside a dict ground truth; keyword
arguments verl's reward managers add (``reward_kwargs``, ``num_turns``...) are ignored.

Returns a float, or with ``return_dict=True`` (verl: ``+custom_reward_function.reward_kwargs.return_dict=true``)
a dict verl's reward managers log column by column: ``score``, ``failed`` (0/1) and
``reward_<dimension>`` for each reward dimension; the same keys for every sample (verl
stacks them into arrays, so a key missing on one sample would break the batch).
"""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

from reward_kit import names
from reward_kit.contract import max_response_chars_from_env
from reward_kit.scoring import Scorer
from reward_kit.spec import parse_spec_json, validate_spec

__all__ = ["DEFAULT_SPECS", "compute_score"]

_SENTIMENT = {"grader": "label", "labels": ["positive", "negative", "neutral"]}
_NUMERIC = {"grader": "numeric"}
_MATH = {"grader": "math"}

# data_source -> spec, for datasets whose answer format is unambiguous.
DEFAULT_SPECS: dict[str, dict[str, Any]] = {
    "chabsa": _SENTIMENT,
    "gsm8k": _NUMERIC,
    "openai/gsm8k": _NUMERIC,
    "math": _MATH,
    "lighteval/MATH": _MATH,
    "DigitalLearningGmbH/MATH-lighteval": _MATH,
    "HuggingFaceH4/MATH-500": _MATH,
}

_scorers: dict[str, Scorer] = {}  # canonical spec JSON -> Scorer
_MAX_CACHED_SCORERS = 64  # many distinct per-sample specs must not grow memory forever


def compute_score(
    data_source: Any,
    solution_str: Any,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    *,
    return_dict: bool = False,
    **_ignored: Any,
) -> float | dict[str, float]:
    """Aggregate reward for one completion, in the spec's output range (see module docstring)."""
    data_source = plain_value(data_source)
    scorer = _scorer_for(data_source, extra_info)
    output = scorer.score_text(plain_value(solution_str), _plain_reference(ground_truth), _metadata(extra_info))
    score = float(output["aggregate_reward_score"])
    if not return_dict:
        return score
    result = {"score": score, "failed": 0.0}
    for metric in output["metrics_list"]:
        if metric["type"] == "Reward":
            result[f"reward_{metric['name']}"] = float(metric["value"])
        elif metric["name"].startswith("failure_"):
            result["failed"] = 1.0
    return result


def _is_numpy(value: Any) -> bool:
    module = type(value).__module__
    return module == "numpy" or module.startswith("numpy.")


def plain_value(value: Any) -> Any:
    """numpy scalar -> Python scalar; 1-element array -> its element; longer array -> list;
    bytes -> str. Anything else is returned unchanged. numpy is never imported here."""
    if _is_numpy(value):
        tolist = getattr(value, "tolist", None)
        if callable(tolist):
            value = tolist()
            while isinstance(value, list) and len(value) == 1:
                value = value[0]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _plain_reference(ground_truth: Any) -> Any:
    value = plain_value(ground_truth)
    if isinstance(value, dict):
        return {key: plain_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_value(item) for item in value]
    return value


def _metadata(extra_info: Mapping[str, Any] | None) -> dict[str, Any]:
    if not isinstance(extra_info, Mapping):
        return {}
    return {k: v for k, v in extra_info.items() if k != "reward_spec" and isinstance(k, str)}


def _scorer_for(data_source: Any, extra_info: Mapping[str, Any] | None) -> Scorer:
    spec_source = None
    if isinstance(extra_info, Mapping) and extra_info.get("reward_spec") is not None:
        spec_source = extra_info["reward_spec"]
        key = "extra_info.reward_spec"
    elif os.environ.get(names.ENV_REWARD_SPEC, "").strip():
        spec_source = os.environ[names.ENV_REWARD_SPEC]
        key = names.ENV_REWARD_SPEC
    elif isinstance(data_source, str) and data_source in DEFAULT_SPECS:
        spec_source = DEFAULT_SPECS[data_source]
        key = f"DEFAULT_SPECS[{data_source!r}]"
    else:
        raise ValueError(
            f"no reward spec for data_source {data_source!r}: pass extra_info={{'reward_spec': {{...}}}}, "
            f"set {names.ENV_REWARD_SPEC}, or use one of {sorted(DEFAULT_SPECS)}"
        )

    cache_key = spec_source if isinstance(spec_source, str) else _canonical(spec_source)
    scorer = _scorers.get(cache_key)
    if scorer is None:
        if isinstance(spec_source, str):
            spec = parse_spec_json(spec_source, key=key)
        else:
            spec = validate_spec(spec_source, key=key)
        max_chars = max_response_chars_from_env()
        if len(_scorers) >= _MAX_CACHED_SCORERS:
            _scorers.clear()
        scorer = _scorers[cache_key] = Scorer(spec, max_response_chars=max_chars, key=key)
    return scorer


def _canonical(spec: Any) -> str:
    try:
        return json.dumps(spec, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(spec)  # not JSON-able: validate_spec will explain what is wrong

