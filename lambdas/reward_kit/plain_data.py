"""Plain data across the code executor's boundary: Python values <-> JSON, exact builtin types only.

The grader (``reward_kit.plain_data``) and the executor (``code_sandbox.plain_data``) carry the
same file (a unit test keeps them identical): neither asset may import the other's package.

Encoded forms: ``None``, ``bool``, ``int``, ``float`` (finite), ``str`` and ``list`` are JSON's
own; ``dict`` with ``str`` keys is a JSON object unless it has exactly one key starting with
``$``; everything else is a one-key object: ``{"$tuple": [...]}``, ``{"$set": [...]}``,
``{"$frozenset": [...]}``, ``{"$dict": [[key, value], ...]}``, ``{"$bytes": "<base64>"}``,
``{"$complex": [re, im]}``, ``{"$float": "nan" | "inf" | "-inf"}``.

Only values whose type IS one of these builtins (never a subclass: an ``int`` subclass or an
object with its own ``__eq__`` could decide a comparison) are plain: ``encode`` raises
``NotPlain`` for anything else, and for data nested deeper than ``MAX_DEPTH`` or with more than
``MAX_ITEMS`` items in all. ``decode`` builds builtin values only. Standard library only.
"""

from __future__ import annotations

import base64
import math
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_ITEMS", "NotPlain", "decode", "encode"]

MAX_DEPTH = 64
MAX_ITEMS = 1_000_000


class NotPlain(ValueError):
    """The value is not plain data (or too deep or too large to carry)."""


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data; raises NotPlain."""
    budget = [MAX_ITEMS]
    return _encode(value, 0, budget)


def _encode(value: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise NotPlain("too deep or too large")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        str(value)  # ValueError beyond the interpreter's digit limit
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if kind is list:
        return [_encode(item, depth + 1, budget) for item in value]
    if kind is tuple:
        return {"$tuple": [_encode(item, depth + 1, budget) for item in value]}
    if kind is set or kind is frozenset:
        tag = "$set" if kind is set else "$frozenset"
        return {tag: [_encode(item, depth + 1, budget) for item in value]}
    if kind is dict:
        keys = list(value)
        if all(type(k) is str for k in keys) and not (len(keys) == 1 and keys[0].startswith("$")):
            return {k: _encode(value[k], depth + 1, budget) for k in keys}
        return {"$dict": [[_encode(k, depth + 1, budget), _encode(value[k], depth + 1, budget)] for k in keys]}
    if kind is bytes:
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if kind is complex:
        return {"$complex": [_encode(value.real, depth + 1, budget), _encode(value.imag, depth + 1, budget)]}
    raise NotPlain(f"not plain data: {kind.__name__}")


_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def decode(data: Any, depth: int = 0) -> Any:
    """Builtin values from ``encode``'s form; raises NotPlain for anything else."""
    if depth > MAX_DEPTH:
        raise NotPlain("too deep")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [decode(item, depth + 1) for item in data]
    if kind is not dict:
        raise NotPlain(f"not plain data: {kind.__name__}")
    if len(data) == 1:
        ((key, inner),) = data.items()
        if type(key) is str and key.startswith("$"):
            return _tagged(key, inner, depth)
    return {key: decode(item, depth + 1) for key, item in data.items()}


def _tagged(tag: str, inner: Any, depth: int) -> Any:
    try:
        if tag == "$tuple" and type(inner) is list:
            return tuple(decode(item, depth + 1) for item in inner)
        if tag in ("$set", "$frozenset") and type(inner) is list:
            items = [decode(item, depth + 1) for item in inner]
            return set(items) if tag == "$set" else frozenset(items)
        if tag == "$dict" and type(inner) is list:
            pairs = [decode(pair, depth + 1) for pair in inner]
            if not all(type(pair) is list and len(pair) == 2 for pair in pairs):
                raise NotPlain("$dict: pairs expected")
            return dict(pairs)
        if tag == "$bytes" and type(inner) is str:
            return base64.b64decode(inner.encode("ascii"), validate=True)
        if tag == "$complex" and type(inner) is list and len(inner) == 2:
            real, imag = (decode(part, depth + 1) for part in inner)
            if type(real) is float and type(imag) is float:
                return complex(real, imag)
        if tag == "$float" and inner in _FLOATS:
            return _FLOATS[inner]
    except (TypeError, ValueError) as exc:  # unhashable set members or keys, bad base64
        raise NotPlain(f"{tag}: {exc}") from None
    raise NotPlain(f"unknown or malformed {tag}")
