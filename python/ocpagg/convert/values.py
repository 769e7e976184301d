"""koku's cell conversions, applied column-wise in Arrow.

Python runs only once per distinct label string or odd number, never per row.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from .rules import UTC_SUFFIX

_STRICT_FLOAT = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


class BadValue(Exception):
    """A cell that cannot be converted (position within its block)."""

    def __init__(self, column: str, index: int, value: str) -> None:
        super().__init__(column)
        self.column, self.index, self.value = column, index, value


def _labels_dict(text: str) -> dict[str, str]:
    """koku's label parsing: ``|``-separated ``key:value``; exactly one ``:``; ``label_`` removed."""
    out: dict[str, str] = {}
    for entry in text.split("|") if text else ():
        parts = entry.split(":")
        if len(parts) != 2:
            continue
        out[parts[0].replace("label_", "")] = parts[1]
    return out


@functools.lru_cache(maxsize=1 << 16)
def labels_to_json(text: str) -> str:
    """An operator label string as koku's JSON object text (``{}`` when empty)."""
    return json.dumps(_labels_dict(text))


def _python_float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def _python_float_or_none(text: str) -> float | None:
    if text == "":
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


_INT64_MAX = 2**63 - 1


def _python_int_or_none(text: str) -> int | None:
    value = _python_float_or_none(text)
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    number = int(value)
    return number if -_INT64_MAX <= number <= _INT64_MAX else None


def map_unique(arr: pa.Array, func: Callable[[str], object], out_type: pa.DataType) -> pa.Array:
    """Apply a Python function once per distinct value of a string array."""
    uniques = pc.unique(arr)
    mapped = pa.array([func(v) for v in uniques.to_pylist()], type=out_type)
    return pc.take(mapped, pc.index_in(arr, value_set=uniques))


def to_float(arr: pa.Array) -> pa.Array:
    """Strings to float64 like Python ``float()``, anything unparsable -> 0.0 (koku's safe_float)."""
    try:
        return pc.cast(arr, pa.float64())
    except pa.ArrowInvalid:
        pass  # an empty cell or an odd number somewhere: only those go through Python
    plain = pc.match_substring_regex(arr, _STRICT_FLOAT)
    fast = pc.cast(pc.if_else(plain, arr, pa.scalar("0")), pa.float64())
    odd = pc.invert(plain)
    slow = map_unique(pc.if_else(odd, arr, pa.scalar("")), _python_float, pa.float64())
    return pc.if_else(plain, fast, slow)


def to_int_or_null(arr: pa.Array) -> pa.Array:
    """koku's safe_int_or_none: int64, truncated; empty or unparsable -> NULL."""
    return map_unique(arr, _python_int_or_none, pa.int64())


def to_float_or_null(arr: pa.Array) -> pa.Array:
    """koku's safe_float_or_none: float64; empty or unparsable -> NULL."""
    return map_unique(arr, _python_float_or_none, pa.float64())


def to_labels(arr: pa.Array) -> pa.Array:
    return map_unique(arr, labels_to_json, pa.string())


def sanitize(arr: pa.Array) -> pa.Array:
    """koku's ingest sanitising: drop NUL, then ``html.escape(quote=True)``."""
    if not pc.any(pc.match_substring_regex(arr, "[\x00&<>\"']")).as_py():
        return arr
    arr = pc.replace_substring(arr, "\x00", "")
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        arr = pc.replace_substring(arr, old, new)
    return arr


def _first_bad_index(arr: pa.Array, typ: pa.DataType) -> int:
    lo, hi = 0, len(arr)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            pc.cast(arr.slice(lo, mid - lo), typ)
            lo = mid
        except pa.ArrowInvalid:
            hi = mid
    return lo


def to_timestamp(column: str, arr: pa.Array) -> pa.Array:
    """The operator's ``YYYY-MM-DD HH:MM:SS +0000 UTC`` as ``timestamp[ms]``; raises BadValue."""
    stripped = pc.replace_substring(arr, UTC_SUFFIX, "")
    try:
        return pc.cast(stripped, pa.timestamp("ms"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = _first_bad_index(stripped, pa.timestamp("ms"))
        raise BadValue(column, bad, arr[bad].as_py()) from None
