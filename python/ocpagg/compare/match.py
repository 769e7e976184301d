"""One day's multiset match: pair koku's rows with ocpagg's on the grouping columns, then compare values.

Rows of each side are grouped by their key (``columns.KEY_COLUMNS``, NULL equal to NULL). Within a
key, rows are ordered by their values and paired in that order, so a key held by n rows on one side
and m on the other gives min(n, m) pairs and |n - m| rows found on one side only. A pair matches
when every number is within tolerance and every other compared column is equal; otherwise its
values differ. Everything runs on Arrow arrays; only the rows reported are turned into Python.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .columns import COMPARED_SCHEMA, KEY_COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS

ONLY_KOKU = "only in koku"
ONLY_OCPAGG = "only in ocpagg"
VALUES_DIFFER = "values differ"
RESULTS = ("matched", "only_koku", "only_ocpagg", "differ")

# Text that never occurs in a value (PostgreSQL text and the kernel's output hold no NUL character).
_NULL = "\x00N"
_SEP = "\x00|"


@dataclasses.dataclass
class Counts:
    """Rows per result: matched pairs, rows on one side only, pairs whose values differ."""

    matched: int = 0
    only_koku: int = 0
    only_ocpagg: int = 0
    differ: int = 0

    @property
    def differing(self) -> int:
        """Rows that are not matched (on either side or in a pair)."""
        return self.only_koku + self.only_ocpagg + self.differ

    def add(self, other: Counts) -> None:
        for name in RESULTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in RESULTS}


@dataclasses.dataclass(frozen=True)
class ColumnDifference:
    """One column of a pair whose values differ."""

    column: str
    koku: Any
    ocpagg: Any
    relative: float | None  # |a - b| / max(|a|, |b|) for numbers; None for other columns


@dataclasses.dataclass(frozen=True)
class RowDifference:
    """A row that did not match: on one side only, or paired with values that differ."""

    day: dt.date
    kind: str  # ONLY_KOKU, ONLY_OCPAGG or VALUES_DIFFER
    key: dict[str, Any]  # the grouping columns
    values: dict[str, Any]  # the other compared columns of the side that has the row (one-side rows)
    differences: tuple[ColumnDifference, ...] = ()


@dataclasses.dataclass
class DayMatch:
    """The result of one day."""

    day: dt.date
    counts: Counts
    by_data_source: dict[str, Counts]
    max_relative: float  # the largest relative difference of any paired number (0.0 when none)
    rows: list[RowDifference]  # the first differing rows, at most the limit asked for


def _key_strings(table: pa.Table) -> pa.Array:
    """One text per row that is equal exactly when the rows' grouping columns are (NULL = NULL)."""
    if table.num_rows == 0:
        return pa.array([], pa.string())
    parts = [pc.fill_null(table.column(name).cast(pa.string()), _NULL) for name in KEY_COLUMNS]
    joined = pc.binary_join_element_wise(*parts, _SEP)
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def _with_occurrence(table: pa.Table, prefix: str) -> pa.Table:
    """The table with ``_key`` and ``_occ`` (rank among rows of the same key, ordered by value)."""
    keys = _key_strings(table)
    table = table.append_column("_key", keys)
    if table.num_rows == 0:
        table = table.append_column("_occ", pa.array([], pa.int64()))
    else:
        order = [("_key", "ascending")] + [(c, "ascending") for c in NUMERIC_COLUMNS + TEXT_COLUMNS]
        table = table.take(pc.sort_indices(table, sort_keys=order))
        key = table.column("_key").combine_chunks()
        n = table.num_rows
        # A new group starts where the key changes; _occ = position - the group's first position.
        starts = pc.not_equal(key.slice(1), key.slice(0, n - 1))
        boundary = pa.concat_arrays([pa.array([True]), starts])
        group = pc.subtract(pc.cumulative_sum(boundary.cast(pa.int64())), 1)
        first = pc.indices_nonzero(boundary).cast(pa.int64())
        position = pa.array(range(n), pa.int64())
        table = table.append_column("_occ", pc.subtract(position, pc.take(first, group)))
    renamed = [name if name in ("_key", "_occ") else f"{prefix}{name}" for name in table.column_names]
    table = table.rename_columns(renamed)
    return table.append_column(f"{prefix}_present", pa.array([True] * table.num_rows, pa.bool_()))


def _full_outer_join(left: pa.Table, right: pa.Table) -> pa.Table:
    """Rows of both sides side by side where (_key, _occ) is equal, NULLs for the side that lacks one.

    A sort of both sides' (_key, _occ) puts the two rows of a pair next to each other (each pair occurs
    at most once per side). Cheaper in memory than a hash join of long text keys.
    """
    n_left, n_right = left.num_rows, right.num_rows
    both = pa.table(
        {
            "_key": pa.concat_arrays([_array(left, "_key"), _array(right, "_key")]),
            "_occ": pa.concat_arrays([_array(left, "_occ"), _array(right, "_occ")]),
            "side": pa.array([0] * n_left + [1] * n_right, pa.int8()),
            "pos": pa.array([*range(n_left), *range(n_right)], pa.int64()),
        }
    ).sort_by([("_key", "ascending"), ("_occ", "ascending"), ("side", "ascending")])
    n = both.num_rows
    if n > 1:
        key, occ = _array(both, "_key"), _array(both, "_occ")
        same = pc.and_(
            pc.equal(key.slice(0, n - 1), key.slice(1)), pc.equal(occ.slice(0, n - 1), occ.slice(1))
        )
        first = pc.indices_nonzero(same).cast(pa.int64())
    else:
        first = pa.array([], pa.int64())
    position = _array(both, "pos")
    left_pairs = pc.take(position, first)
    right_pairs = pc.take(position, pc.add(first, 1))
    left_only = pc.indices_nonzero(pc.invert(pc.is_in(pa.array(range(n_left), pa.int64()), left_pairs)))
    right_only = pc.indices_nonzero(pc.invert(pc.is_in(pa.array(range(n_right), pa.int64()), right_pairs)))
    left_index = pa.concat_arrays(
        [left_pairs, left_only.cast(pa.int64()), pa.nulls(len(right_only), pa.int64())]
    )
    right_index = pa.concat_arrays(
        [right_pairs, pa.nulls(len(left_only), pa.int64()), right_only.cast(pa.int64())]
    )
    left_rows, right_rows = left.take(left_index), right.take(right_index)
    columns = {
        "_key": pc.coalesce(left_rows.column("_key"), right_rows.column("_key")),
        "_occ": pc.coalesce(left_rows.column("_occ"), right_rows.column("_occ")),
    }
    for rows in (left_rows, right_rows):
        for name in rows.column_names:
            if name not in columns:
                columns[name] = rows.column(name)
    return pa.table(columns)


def _array(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _numbers_differ(
    a: pa.ChunkedArray, b: pa.ChunkedArray, rtol: float, atol: float
) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """(differs, relative difference) per pair: NULL = NULL, one NULL differs, else |a-b| > tolerance."""
    diff = pc.abs(pc.subtract(a, b))
    scale = pc.max_element_wise(pc.abs(a), pc.abs(b))
    tolerance = pc.max_element_wise(pc.multiply(scale, rtol), pa.scalar(atol, pa.float64()))
    beyond = pc.greater(diff, tolerance)
    one_null = pc.xor(pc.is_null(a), pc.is_null(b))
    differs = pc.or_(pc.fill_null(beyond, False), one_null)
    relative = pc.if_else(pc.equal(scale, 0.0), 0.0, pc.divide(diff, scale))
    return differs, relative


def _texts_differ(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.ChunkedArray:
    equal = pc.equal(a, b)
    both_null = pc.and_(pc.is_null(a), pc.is_null(b))
    return pc.invert(pc.or_(pc.fill_null(equal, False), both_null))


def _count(mask: pa.ChunkedArray | pa.Array) -> int:
    return int(pc.sum(mask.cast(pa.int64())).as_py() or 0)


def _by_data_source(source: pa.ChunkedArray, masks: dict[str, Any]) -> dict[str, Counts]:
    out: dict[str, Counts] = {}
    for value in pc.unique(source).to_pylist():
        name = "(null)" if value is None else str(value)
        this = pc.fill_null(pc.equal(source, value), False) if value is not None else pc.is_null(source)
        out[name] = Counts(**{result: _count(pc.and_(this, mask)) for result, mask in masks.items()})
    return out


def match_day(
    day: dt.date, koku: pa.Table, ocpagg: pa.Table, *, rtol: float, atol: float, max_rows: int
) -> DayMatch:
    """Match one day's rows of both sides (each normalised to ``columns.COMPARED_SCHEMA``)."""
    for side, table in (("koku", koku), ("ocpagg", ocpagg)):
        if table.schema != COMPARED_SCHEMA:
            raise ValueError(f"{side}'s rows are not normalised to the compared schema")
    left = _with_occurrence(koku, "k.")
    right = _with_occurrence(ocpagg, "o.")
    joined = _full_outer_join(left, right)
    in_koku = pc.fill_null(joined.column("k._present"), False)
    in_ocpagg = pc.fill_null(joined.column("o._present"), False)
    both = pc.and_(in_koku, in_ocpagg)

    differs = pa.chunked_array([pa.array([False] * joined.num_rows, pa.bool_())])
    column_masks: dict[str, Any] = {}
    relatives: dict[str, Any] = {}
    max_relative = 0.0
    for name in NUMERIC_COLUMNS:
        mask, relative = _numbers_differ(joined.column(f"k.{name}"), joined.column(f"o.{name}"), rtol, atol)
        mask = pc.and_(mask, both)
        column_masks[name], relatives[name] = mask, relative
        differs = pc.or_(differs, mask)
        largest = pc.max(pc.filter(relative, both)).as_py() if joined.num_rows else None
        if largest is not None and not math.isnan(largest):
            max_relative = max(max_relative, float(largest))
    for name in TEXT_COLUMNS:
        mask = pc.and_(_texts_differ(joined.column(f"k.{name}"), joined.column(f"o.{name}")), both)
        column_masks[name] = mask
        differs = pc.or_(differs, mask)

    masks = {
        "matched": pc.and_(both, pc.invert(differs)),
        "only_koku": pc.and_(in_koku, pc.invert(in_ocpagg)),
        "only_ocpagg": pc.and_(in_ocpagg, pc.invert(in_koku)),
        "differ": differs,
    }
    counts = Counts(**{result: _count(mask) for result, mask in masks.items()})
    source = pc.coalesce(joined.column("k.data_source"), joined.column("o.data_source"))
    rows = _differing_rows(day, joined, masks, column_masks, relatives, max_rows)
    return DayMatch(
        day=day,
        counts=counts,
        by_data_source=_by_data_source(source, masks),
        max_relative=max_relative,
        rows=rows,
    )


def _differing_rows(
    day: dt.date,
    joined: pa.Table,
    masks: dict[str, Any],
    column_masks: dict[str, Any],
    relatives: dict[str, Any],
    limit: int,
) -> list[RowDifference]:
    """The first ``limit`` unmatched rows in key order."""
    if limit <= 0 or joined.num_rows == 0:
        return []
    joined = joined.append_column("_row", pa.array(range(joined.num_rows), pa.int64()))
    picked = joined.filter(pc.invert(masks["matched"]))
    if picked.num_rows == 0:
        return []
    picked = picked.sort_by([("_key", "ascending"), ("_occ", "ascending")]).slice(0, limit)
    out: list[RowDifference] = []
    for row in picked.to_pylist():
        position = row["_row"]
        present_k = bool(row["k._present"])
        present_o = bool(row["o._present"])
        prefix = "k." if present_k else "o."
        key = {name: row[f"{prefix}{name}"] for name in KEY_COLUMNS}
        if present_k and present_o:
            diffs = []
            for name in NUMERIC_COLUMNS + TEXT_COLUMNS:
                if column_masks[name][position].as_py():
                    relative = relatives[name][position].as_py() if name in relatives else None
                    diffs.append(ColumnDifference(name, row[f"k.{name}"], row[f"o.{name}"], relative))
            out.append(RowDifference(day, VALUES_DIFFER, key, {}, tuple(diffs)))
        else:
            values = {name: row[f"{prefix}{name}"] for name in NUMERIC_COLUMNS + TEXT_COLUMNS}
            out.append(RowDifference(day, ONLY_KOKU if present_k else ONLY_OCPAGG, key, values))
    return out


def total(days: Iterable[DayMatch]) -> Counts:
    """The counts of several days added up."""
    counts = Counts()
    for day in days:
        counts.add(day.counts)
    return counts
