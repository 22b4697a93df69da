"""Validate a request against botocore's own service model before sending it.

botocore's ``ParamValidator`` (what every client call runs) checks names, types, required
members and minimums; it does not check maximums, enums or patterns, which the service then
rejects after a round trip (or, for a training job, after it was queued). ``validate``
runs botocore's validator and then walks the same shapes for those constraints.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

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
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                _walk(item, shape.members[key], f"{path}.{key}", problems)
    elif kind == "list" and isinstance(value, list):
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: at least {meta['min']} items, got {len(value)}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: at most {meta['max']} items, got {len(value)}")
        for i, item in enumerate(value):
            _walk(item, shape.member, f"{path}[{i}]", problems)
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            _walk(item, shape.value, f"{path}.{key}", problems)
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: must be one of {list(shape.enum)}, got {value!r}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: at least {meta['min']} characters, got {len(value)}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: at most {meta['max']} characters, got {len(value)}")
        compiled = _pattern(meta["pattern"]) if "pattern" in meta else None
        if compiled is not None and not compiled.fullmatch(value):
            problems.append(f"{path}: must match {meta['pattern']!r}, got {value!r}")
    elif kind in ("integer", "long", "float", "double") and isinstance(value, (int, float)):
        if "min" in meta and value < meta["min"]:
            problems.append(f"{path}: must be >= {meta['min']}, got {value}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: must be <= {meta['max']}, got {value}")
