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
from typing import Any, Callable

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
    encoder = _ENCODERS.get(type(value))  # the exact type: a subclass is not plain
    if encoder is None:
        raise NotPlain(f"not plain data: {type(value).__name__}")
    return encoder(value, depth + 1, budget)


def _itself(value: Any, depth: int, budget: list[int]) -> Any:
    return value


def _int(value: int, depth: int, budget: list[int]) -> int:
    str(value)  # ValueError beyond the interpreter's digit limit
    return value


def _float(value: float, depth: int, budget: list[int]) -> Any:
    if math.isfinite(value):
        return value
    return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _items(values: Any, depth: int, budget: list[int]) -> list[Any]:
    return [_encode(item, depth, budget) for item in values]


def _tuple(value: tuple[Any, ...], depth: int, budget: list[int]) -> Any:
    return {"$tuple": _items(value, depth, budget)}


def _set(value: set[Any], depth: int, budget: list[int]) -> Any:
    return {"$set": _items(value, depth, budget)}


def _frozenset(value: frozenset[Any], depth: int, budget: list[int]) -> Any:
    return {"$frozenset": _items(value, depth, budget)}


def _dict(value: dict[Any, Any], depth: int, budget: list[int]) -> Any:
    keys = list(value)
    if all(type(k) is str for k in keys) and not (len(keys) == 1 and keys[0].startswith("$")):
        return {k: _encode(value[k], depth, budget) for k in keys}
    return {"$dict": [[_encode(k, depth, budget), _encode(value[k], depth, budget)] for k in keys]}


def _bytes(value: bytes, depth: int, budget: list[int]) -> Any:
    return {"$bytes": base64.b64encode(value).decode("ascii")}


def _complex(value: complex, depth: int, budget: list[int]) -> Any:
    return {"$complex": [_encode(value.real, depth, budget), _encode(value.imag, depth, budget)]}


# Exact type -> encoder(value, depth of its items, budget).
_ENCODERS: dict[type, Callable[[Any, int, list[int]], Any]] = {
    type(None): _itself, bool: _itself, str: _itself, int: _int, float: _float, list: _items,
    tuple: _tuple, set: _set, frozenset: _frozenset, dict: _dict, bytes: _bytes, complex: _complex,
}


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
    decoder = _DECODERS.get(tag)
    try:
        value = _MALFORMED if decoder is None else decoder(inner, depth + 1)
    except (TypeError, ValueError) as exc:  # unhashable set members or keys, bad base64
        raise NotPlain(f"{tag}: {exc}") from None
    if value is _MALFORMED:
        raise NotPlain(f"unknown or malformed {tag}")
    return value


_MALFORMED = object()


def _decode_tuple(inner: Any, depth: int) -> Any:
    return tuple(decode(item, depth) for item in inner) if type(inner) is list else _MALFORMED


def _decode_set(inner: Any, depth: int) -> Any:
    return {decode(item, depth) for item in inner} if type(inner) is list else _MALFORMED


def _decode_frozenset(inner: Any, depth: int) -> Any:
    return frozenset([decode(item, depth) for item in inner]) if type(inner) is list else _MALFORMED


def _decode_dict(inner: Any, depth: int) -> Any:
    if type(inner) is not list:
        return _MALFORMED
    pairs = [decode(pair, depth) for pair in inner]
    if not all(type(pair) is list and len(pair) == 2 for pair in pairs):
        raise NotPlain("$dict: pairs expected")
    return dict(pairs)


def _decode_bytes(inner: Any, depth: int) -> Any:
    return base64.b64decode(inner.encode("ascii"), validate=True) if type(inner) is str else _MALFORMED


def _decode_complex(inner: Any, depth: int) -> Any:
    if type(inner) is list and len(inner) == 2:
        real, imag = (decode(part, depth) for part in inner)
        if type(real) is float and type(imag) is float:
            return complex(real, imag)
    return _MALFORMED


def _decode_float(inner: Any, depth: int) -> Any:
    return _FLOATS[inner] if inner in _FLOATS else _MALFORMED


# Tag -> decoder(inner, depth of its items): the value, or _MALFORMED for the wrong shape.
_DECODERS: dict[str, Callable[[Any, int], Any]] = {
    "$tuple": _decode_tuple, "$set": _decode_set, "$frozenset": _decode_frozenset, "$dict": _decode_dict,
    "$bytes": _decode_bytes, "$complex": _decode_complex, "$float": _decode_float,
}
