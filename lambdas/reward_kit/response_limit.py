"""Contract outputs that fit Lambda's response limit: their size as the Lambda runtime
serializes them (``response_bytes``, the cheap upper bound ``response_size_bound``) and
``fit_response``, which drops diagnostics, then per-dimension rewards, until they fit.
"""

from __future__ import annotations

import os
from collections import Counter
from json import dumps as _dumps
from json.encoder import encode_basestring as _json_string_raw
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any, Mapping, Sequence

from reward_kit import names

__all__ = [
    "RESPONSE_LIMIT_BYTES",
    "fit_response",
    "response_bytes",
    "response_size_bound",
    "runtime_escapes_non_ascii",
]

# Lambda fails a synchronous invocation whose response passes 6 MB; keep a margin below it.
LAMBDA_RESPONSE_MAX_BYTES = 6 * 1024 * 1024
RESPONSE_LIMIT_BYTES = LAMBDA_RESPONSE_MAX_BYTES - 64 * 1024


# How the Lambda runtime serializes the handler's return value (awslambdaric's
# lambda_runtime_marshaller.Encoder, simplejson with its default ", " and ": " separators):
# UTF-8 with non-ASCII characters as they are (ensure_ascii=False) on these runtimes, \uXXXX
# escapes on every other one (a non-ASCII id then costs up to 3x its request bytes). The
# set is awslambdaric's own; a runtime missing from it is measured the escaped way, the
# longer of the two, so the bound stays safe.
_RAW_UTF8_RUNTIMES = frozenset(
    {"AWS_Lambda_python3.12", "AWS_Lambda_python3.13", "AWS_Lambda_python3.14", "AWS_Lambda_python3.15"}
)


def runtime_escapes_non_ascii(environ: Mapping[str, str] | None = None) -> bool:
    """True when the Lambda runtime writes non-ASCII characters of the response as \\uXXXX
    escapes (its JSON encoder's ensure_ascii), as awslambdaric decides from AWS_EXECUTION_ENV."""
    environ = os.environ if environ is None else environ
    return environ.get(names.ENV_LAMBDA_EXECUTION_ENV) not in _RAW_UTF8_RUNTIMES


def response_bytes(value: Any, escape_non_ascii: bool = True) -> int:
    """Bytes of ``value`` as the Lambda runtime sends it (see ``runtime_escapes_non_ascii``)."""
    if escape_non_ascii:
        return len(_dumps(value))
    return len(_dumps(value, ensure_ascii=False).encode("utf-8"))


def _string_bytes(text: str, escape_non_ascii: bool) -> int:
    if escape_non_ascii or text.isascii():
        return len(_json_string(text))
    return len(_json_string_raw(text).encode("utf-8"))


# Upper bounds, in bytes of the runtime's serialization (", " and ": " separators, strings as
# above). A float needs <= 24 chars.
_FLOAT_MAX = 24
# '{"id": ' + ', "aggregate_reward_score": ' + float + ', "metrics_list": [' + ']}' + ', '
_OUTPUT_FIXED = 7 + 28 + _FLOAT_MAX + 19 + 2 + 2
# '{"name": ' + ', "value": ' + float + ', "type": "Reward"}' + ', '
_ENTRY_FIXED = 9 + 11 + _FLOAT_MAX + 18 + 2


def response_size_bound(outputs: Sequence[Mapping[str, Any]], escape_non_ascii: bool = True) -> int:
    """An upper bound of the serialized size of ``outputs``: one cheap pass, no serialization."""
    entries = 0
    name_total = 0
    id_total = 0
    name_bytes: dict[str, int] = {}
    for output in outputs:
        sample_id = output["id"]
        id_total += _string_bytes(sample_id, escape_non_ascii) if type(sample_id) is str else len(str(sample_id))
        metrics_list = output.get("metrics_list", ())
        entries += len(metrics_list)
        for entry in metrics_list:
            try:
                name_total += name_bytes[entry["name"]]
            except KeyError:
                size = name_bytes[entry["name"]] = _string_bytes(entry["name"], escape_non_ascii)
                name_total += size
    return 2 + len(outputs) * _OUTPUT_FIXED + id_total + entries * _ENTRY_FIXED + name_total


def fit_response(
    outputs: list[dict[str, Any]], limit: int = RESPONSE_LIMIT_BYTES, escape_non_ascii: bool | None = None
) -> Counter[str]:
    """Trim ``outputs`` in place until their JSON fits in ``limit`` bytes; what was dropped.

    Sizes are those of the runtime's serialization (``escape_non_ascii``: None reads it from
    the environment, ``runtime_escapes_non_ascii``). ``Metric`` diagnostics go first, then the
    per-dimension ``Reward`` entries (``metrics_list`` is optional in the contract), output by
    output in input order; an id or an aggregate score is never dropped. Returns a Counter of
    dropped entries by type (empty when nothing was). The usual batch costs one cheap pass
    (``response_size_bound``).
    """
    dropped: Counter[str] = Counter()
    if escape_non_ascii is None:
        escape_non_ascii = runtime_escapes_non_ascii()
    if response_size_bound(outputs, escape_non_ascii) <= limit:
        return dropped
    sizes = [response_bytes(output, escape_non_ascii) for output in outputs]
    total = 2 + sum(sizes) + 2 * max(0, len(outputs) - 1)
    for kind in ("Metric", "Reward"):
        for index, output in enumerate(outputs):
            if total <= limit:
                return dropped
            metrics_list = output.get("metrics_list")
            if not metrics_list:
                continue
            kept = [entry for entry in metrics_list if entry.get("type") != kind]
            removed = len(metrics_list) - len(kept)
            if not removed:
                continue
            dropped[kind] += removed
            if kept:
                output["metrics_list"] = kept
            else:
                del output["metrics_list"]
            size = response_bytes(output, escape_non_ascii)
            total += size - sizes[index]
            sizes[index] = size
    return dropped
