"""Validate a request against botocore's own service model before sending it.

botocore's ``ParamValidator`` (what every client call runs) checks names, types, required
members and minimums; it does not check maximums, enums or patterns, which the service then
rejects after a round trip (or, for a training job, after it was queued). ``validate``
runs botocore's validator and then walks the same shapes for those constraints.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Callable

# The models are written for Java regexes; the few constructs Python's re lacks, spelled out.
_JAVA_CLASSES = {r"\p{Alnum}": "A-Za-z0-9", r"\p{Alpha}": "A-Za-z", r"\p{Digit}": "0-9"}


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    text = pattern
    for java, python in _JAVA_CLASSES.items():
        text = text.replace(java, python)
    try:
        return re.compile(text)
    except re.error:
        return None  # not checkable here: botocore and the service still check it


@cache
def operation_model(service: str, operation: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def validate(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every problem with ``params`` for ``service.operation``, one line each (empty: valid)."""
    from botocore.validate import ParamValidator

    model = operation_model(service, operation)
    report = ParamValidator().validate(params, model.input_shape)
    # Its range messages are left out: the walk below reports every minimum and maximum
    # (botocore's range check skips some integer shapes).
    problems = [line.strip() for line in report.generate_report().splitlines()
                if line.strip() and "valid min" not in line] if report.has_errors() else []
    _walk(params, model.input_shape, operation, problems)
    return problems


def _walk(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    """Every maximum, minimum, enum and pattern of ``shape`` that ``value`` breaks, into ``problems``."""
    check = _CHECKS.get(shape.type_name)
    if check is not None:
        check(value, shape, path, problems)


def _sizes(path: str, size: int, meta: dict[str, Any], unit: str, problems: list[str]) -> None:
    if "min" in meta and size < meta["min"]:
        problems.append(f"{path}: at least {meta['min']} {unit}, got {size}")
    if "max" in meta and size > meta["max"]:
        problems.append(f"{path}: at most {meta['max']} {unit}, got {size}")


def _structure(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                _walk(item, shape.members[key], f"{path}.{key}", problems)


def _list(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, list):
        _sizes(path, len(value), shape.metadata, "items", problems)
        for i, item in enumerate(value):
            _walk(item, shape.member, f"{path}[{i}]", problems)


def _map(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, shape.value, f"{path}.{key}", problems)


def _string(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        return
    meta = shape.metadata
    if shape.enum and value not in shape.enum:
        problems.append(f"{path}: must be one of {list(shape.enum)}, got {value!r}")
    _sizes(path, len(value), meta, "characters", problems)
    compiled = _pattern(meta["pattern"]) if "pattern" in meta else None
    if compiled is not None and not compiled.fullmatch(value):
        problems.append(f"{path}: must match {meta['pattern']!r}, got {value!r}")


def _number(value: Any, shape: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, (int, float)):
        return
    meta = shape.metadata
    if "min" in meta and value < meta["min"]:
        problems.append(f"{path}: must be >= {meta['min']}, got {value}")
    if "max" in meta and value > meta["max"]:
        problems.append(f"{path}: must be <= {meta['max']}, got {value}")


# botocore shape type -> the checks of a value of that shape (other types: botocore's own).
_CHECKS: dict[str, Callable[[Any, Any, str, list[str]], None]] = {
    "structure": _structure, "list": _list, "map": _map, "string": _string,
    "integer": _number, "long": _number, "float": _number, "double": _number,
}
