"""Compare two summary tables as multisets of rows, floats within tolerance, labels as parsed JSON."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any

import pyarrow as pa

LABEL_COLUMNS = ("pod_labels", "volume_labels", "all_labels")
IGNORED_COLUMNS = ("uuid",)
ABS_TOL = 1e-12
MAX_SHOWN = 25


def _labels(text: str | None) -> Any:
    if text is None:
        return None
    value = json.loads(text)
    if not isinstance(value, dict):
        raise AssertionError(f"label value is not a JSON object: {text!r}")
    return tuple(sorted(value.items()))


def _split(
    table: pa.Table, columns: list[str]
) -> list[tuple[tuple[Any, ...], tuple[Any, ...], dict[str, Any]]]:
    """Each row as (exact key, float values, printable row)."""
    floats = [c for c in columns if pa.types.is_floating(table.schema.field(c).type)]
    exact = [c for c in columns if c not in floats]
    out = []
    for row in table.select(columns).to_pylist():
        key = tuple(_labels(row[c]) if c in LABEL_COLUMNS else row[c] for c in exact)
        out.append((key, tuple(row[c] for c in floats), row))
    return out


def _close(a: float | None, b: float | None, rel: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), ABS_TOL)


def _show(row: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in row.items() if v is not None) + "}"


def assert_tables_match(actual: pa.Table, expected: pa.Table, rel: float = 1e-9) -> None:
    """Assert both tables hold the same rows (any order, uuid ignored).

    Float columns match within ``rel`` relative tolerance (absolute 1e-12 near zero), NULL only
    matches NULL, and the label columns compare as parsed JSON objects. On failure the message
    lists the rows left unmatched on each side (NULL columns omitted).
    """
    a_cols = [c for c in actual.column_names if c not in IGNORED_COLUMNS]
    e_cols = [c for c in expected.column_names if c not in IGNORED_COLUMNS]
    if sorted(a_cols) != sorted(e_cols):
        raise AssertionError(
            f"columns differ: only in actual {sorted(set(a_cols) - set(e_cols))}, "
            f"only in expected {sorted(set(e_cols) - set(a_cols))}"
        )
    columns = e_cols
    for c in columns:
        fa, fe = actual.schema.field(c).type, expected.schema.field(c).type
        if pa.types.is_floating(fa) != pa.types.is_floating(fe):
            raise AssertionError(f"column {c}: actual type {fa}, expected type {fe}")
    pending: dict[tuple[Any, ...], list[tuple[tuple[Any, ...], dict[str, Any]]]] = defaultdict(list)
    for key, values, row in _split(expected, columns):
        pending[key].append((values, row))
    unmatched_actual = []
    for key, values, row in _split(actual, columns):
        candidates = pending.get(key, [])
        for i, (other, _) in enumerate(candidates):
            if all(_close(x, y, rel) for x, y in zip(values, other, strict=True)):
                del candidates[i]
                break
        else:
            unmatched_actual.append(row)
    unmatched_expected = [row for rows in pending.values() for _, row in rows]
    if unmatched_actual or unmatched_expected:
        raise AssertionError(_diff(actual, expected, columns, unmatched_actual, unmatched_expected, rel))


def _diff(
    actual: pa.Table,
    expected: pa.Table,
    columns: list[str],
    unmatched_actual: list[dict[str, Any]],
    unmatched_expected: list[dict[str, Any]],
    rel: float,
) -> str:
    """The failure message: unmatched rows (run constants omitted), then rows differing only in floats."""
    every = actual.select(columns).to_pylist() + expected.select(columns).to_pylist()
    run_constants = (
        "report_period_id",
        "cluster_id",
        "cluster_alias",
        "source_uuid",
        "infrastructure_usage_cost",
    )
    constant = {c for c in run_constants if c in columns and len({repr(r[c]) for r in every}) == 1}
    lines = [
        f"tables differ: actual {actual.num_rows} rows, expected {expected.num_rows} rows; "
        f"{len(unmatched_actual)} actual and {len(unmatched_expected)} expected rows unmatched"
        + (f" (not shown, same in every row: {', '.join(sorted(constant))})" if constant else "")
    ]
    for title, rows in (("only in actual:", unmatched_actual), ("only in expected:", unmatched_expected)):
        if rows:
            lines.append(title)
            lines += [
                f"  {_show({k: v for k, v in r.items() if k not in constant})}" for r in rows[:MAX_SHOWN]
            ]
            if len(rows) > MAX_SHOWN:
                lines.append(f"  ... and {len(rows) - MAX_SHOWN} more")
    floats = [c for c in columns if pa.types.is_floating(expected.schema.field(c).type)]
    exact = [c for c in columns if c not in floats]

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(_labels(row[c]) if c in LABEL_COLUMNS else row[c] for c in exact)

    pairs = []
    for a in unmatched_actual:
        for e in unmatched_expected:
            if key(a) == key(e):
                diffs = [
                    f"{c}: actual {a[c]!r} expected {e[c]!r}" for c in floats if not _close(a[c], e[c], rel)
                ]
                pairs.append(
                    f"  namespace={a.get('namespace')!r} node={a.get('node')!r}: " + "; ".join(diffs)
                )
                break
    if pairs:
        lines.append("rows with the same keys, differing values (first candidate each):")
        lines += pairs[:MAX_SHOWN]
    return "\n".join(lines)
