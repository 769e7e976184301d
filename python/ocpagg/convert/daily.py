"""koku's daily pre-aggregation of hourly rows, built as the rows stream in.

koku groups each day's hourly rows with pandas (``groupby(keys + day, dropna=False).agg``).
pandas sums float64 columns per group in row order with Kahan (compensated) summation,
skipping NaN; an all-NaN group sums to 0.0 and has NaN as max (NULL once koku writes it).
:class:`DailyAggregator` reproduces that to the bit: it keeps, per group, the running sum and
its compensation and applies pandas' update to the rows in the order they arrive, so feeding a
day's rows in any number of pieces gives the same result. Maxima do not depend on the order and
are grouped by Arrow. Memory grows with the number of groups of the day, not with its rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .gpu import daily_mig_types
from .rules import REPORT_DEFS, ReportDef

# Below this many groups still adding values, the remaining (long) groups are summed in a plain
# loop rather than one vectorised step per value.
_VECTOR_MIN_GROUPS = 16
_MAX_PARTIALS = 4
_GID = "__group"


class KahanSums:
    """Per-group compensated sums of float64 values, updated exactly as pandas' groupby sum does."""

    def __init__(self) -> None:
        self.total = np.zeros(0)
        self.compensation = np.zeros(0)

    def grow(self, groups: int) -> None:
        if groups > len(self.total):
            extra = groups - len(self.total)
            self.total = np.concatenate([self.total, np.zeros(extra)])
            self.compensation = np.concatenate([self.compensation, np.zeros(extra)])

    def add(self, groups: np.ndarray, values: np.ndarray) -> None:
        """Add ``values[i]`` to group ``groups[i]``, in index order within each group; NaN skipped."""
        keep = ~np.isnan(values)
        groups, values = groups[keep], values[keep]
        if not len(values):
            return
        self.grow(int(groups.max()) + 1)
        # Order the rows by (rank within their group, group): the r-th "round" then holds the r-th
        # value of every group with more than r values, at most one per group.
        by_group = np.argsort(groups, kind="stable")
        sorted_groups = groups[by_group]
        starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
        sizes = np.diff(np.r_[starts, len(sorted_groups)])
        rank = np.arange(len(sorted_groups)) - np.repeat(starts, sizes)
        by_rank = np.argsort(rank, kind="stable")
        rows = by_group[by_rank]
        bounds = np.searchsorted(rank[by_rank], np.arange(int(sizes.max()) + 1))
        for r in range(len(bounds) - 1):
            if bounds[r + 1] - bounds[r] < _VECTOR_MIN_GROUPS:
                self._add_in_loop(groups[rows[bounds[r] :]], values[rows[bounds[r] :]])
                return
            self._add_step(groups[rows[bounds[r] : bounds[r + 1]]], values[rows[bounds[r] : bounds[r + 1]]])

    def _add_step(self, groups: np.ndarray, values: np.ndarray) -> None:
        """One value for each of distinct groups."""
        total = self.total[groups]
        with np.errstate(invalid="ignore"):  # inf - inf: NaN, as in pandas
            y = values - self.compensation[groups]
            t = total + y
            compensation = (t - total) - y
        # an infinite value makes the compensation NaN; pandas resets it to 0 to keep the infinity
        compensation[np.isnan(compensation)] = 0.0
        self.total[groups] = t
        self.compensation[groups] = compensation

    def _add_in_loop(self, groups: np.ndarray, values: np.ndarray) -> None:
        """The same update, value by value (Python floats are IEEE doubles: same bits)."""
        total: dict[int, float] = {}
        compensation: dict[int, float] = {}
        for g, value in zip(groups.tolist(), values.tolist(), strict=True):
            s = total[g] if g in total else float(self.total[g])
            c = compensation[g] if g in compensation else float(self.compensation[g])
            y = value - c
            t = s + y
            c = (t - s) - y
            compensation[g] = 0.0 if c != c else c
            total[g] = t
        for g, s in total.items():
            self.total[g] = s
            self.compensation[g] = compensation[g]

    def sums(self, groups: int) -> np.ndarray:
        self.grow(groups)
        return self.total[:groups].copy()


class _GroupIndex:
    """Stable group numbers for rows' key tuples (NULL is a key value of its own, as pandas' dropna=False)."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.known: dict[str, pa.Array] = {}
        self.ids: dict[tuple[int, ...], int] = {}
        self.codes: list[tuple[int, ...]] = []
        self.types: dict[str, pa.DataType] = {}

    def __len__(self) -> int:
        return len(self.codes)

    def _column_codes(self, name: str, column: pa.ChunkedArray | pa.Array) -> np.ndarray:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        self.types.setdefault(name, column.type)
        known = self.known.get(name)
        if known is None:
            known = self.known[name] = pa.array([], column.type)
        codes = pc.index_in(column, value_set=known)
        unseen = pc.and_(pc.is_null(codes), pc.is_valid(column))
        if pc.any(unseen).as_py():
            known = self.known[name] = pa.concat_arrays([known, pc.unique(column.filter(unseen))])
            codes = pc.index_in(column, value_set=known)
        return codes.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)

    def assign(self, rows: pa.Table) -> np.ndarray:
        """The group number of each row (new groups numbered in order of first appearance)."""
        if not self.keys:
            if not self.codes:
                self.codes.append(())
                self.ids[()] = 0
            return np.zeros(rows.num_rows, dtype=np.int64)
        codes = np.stack([self._column_codes(k, rows[k]) for k in self.keys], axis=1)
        unique, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
        local = np.empty(len(unique), dtype=np.int64)
        for i in np.argsort(first, kind="stable").tolist():
            key = tuple(unique[i].tolist())
            gid = self.ids.get(key)
            if gid is None:
                gid = self.ids[key] = len(self.codes)
                self.codes.append(key)
            local[i] = gid
        return local[inverse.reshape(-1)]

    def key_columns(self) -> list[pa.Array]:
        out = []
        for j, name in enumerate(self.keys):
            codes = pa.array([c[j] for c in self.codes], pa.int64())
            indices = pc.if_else(pc.less(codes, 0), pa.scalar(None, pa.int64()), codes)
            out.append(pc.take(self.known[name], indices).cast(self.types[name]))
        return out


class DailyAggregator:
    """koku's daily rows of one day of one CSV, fed that day's typed hourly rows in file order."""

    def __init__(self, report_type: str) -> None:
        self.report_type = report_type
        self.spec: ReportDef = REPORT_DEFS[report_type]
        self.index: _GroupIndex | None = None
        self.day: pa.Scalar | None = None
        self.sums: dict[str, KahanSums] = {}
        self.max_columns: list[str] = []
        self.max_types: dict[str, pa.DataType] = {}
        self.partials: list[pa.Table] = []
        self.columns: list[str] = []  # the aggregated columns, in koku's order

    def _start(self, rows: pa.Table) -> None:
        names = rows.column_names
        self.index = _GroupIndex([k for k in self.spec.group_by if k in names])
        for col, how in self.spec.agg:
            if col not in names:
                continue
            self.columns.append(col)
            if how == "sum":
                self.sums[col] = KahanSums()
            else:
                self.max_columns.append(col)
                self.max_types[col] = rows.schema.field(col).type

    def add(self, rows: pa.Table) -> None:
        if not rows.num_rows:
            return
        if self.index is None:
            self._start(rows)
        assert self.index is not None
        if self.day is None:
            self.day = pc.floor_temporal(rows["interval_start"].slice(0, 1), unit="day")[0]
        gids = self.index.assign(rows)
        for col, sums in self.sums.items():
            values = rows[col].combine_chunks().cast(pa.float64())
            sums.add(gids, values.to_numpy(zero_copy_only=False))
        if self.max_columns:
            self._add_maxima(pa.array(gids), rows)

    def _add_maxima(self, gids: pa.Array, rows: pa.Table) -> None:
        arrays, names = [gids], [_GID]
        for col in self.max_columns:
            values = rows[col]
            if pa.types.is_floating(values.type):  # NaN is skipped like NULL, as pandas does
                values = pc.if_else(pc.is_nan(values), pa.scalar(None, values.type), values)
            arrays.append(values)
            names.append(col)
        self.partials.append(self._group_max(pa.Table.from_arrays(arrays, names=names)))
        if len(self.partials) >= _MAX_PARTIALS:
            self.partials = [self._group_max(pa.concat_tables(self.partials))]

    def _group_max(self, table: pa.Table) -> pa.Table:
        grouped = table.group_by(_GID, use_threads=False).aggregate([(c, "max") for c in self.max_columns])
        return pa.table({_GID: grouped[_GID], **{c: grouped[f"{c}_max"] for c in self.max_columns}})

    def result(self) -> pa.Table:
        """The day's daily rows: keys, day, aggregates, koku's added columns; sorted by the keys."""
        if self.index is None or self.day is None:
            raise ValueError("no rows were added")
        groups = len(self.index)
        keys = self.index.key_columns()
        names = list(self.index.keys) + ["interval_start"]
        arrays: list[pa.Array] = keys + [pa.array([self.day.as_py()] * groups, self.day.type)]
        maxima = self._maxima()
        for col in self.columns:
            if col in self.sums:
                arrays.append(pa.array(self.sums[col].sums(groups), pa.float64()))
            else:  # an all-missing group's max: NaN in pandas, which koku's files store as NULL
                arrays.append(maxima[col])
            names.append(col)
        for col, typ in self.spec.new_required:
            if col not in names:
                arrays.append(pa.nulls(groups, typ))
                names.append(col)
        table = pa.Table.from_arrays(arrays, names=names)
        if self.report_type == "gpu_usage":
            table = daily_mig_types(table)
        order = [(k, "ascending") for k in list(self.index.keys) + ["interval_start"]]
        return table.sort_by(order) if table.num_rows else table

    def _maxima(self) -> dict[str, pa.Array]:
        """Each max column in group-number order (every group has a row in the partial results)."""
        if not self.max_columns:
            return {}
        merged = (
            self.partials[0] if len(self.partials) == 1 else self._group_max(pa.concat_tables(self.partials))
        )
        position = pa.array(np.argsort(merged[_GID].to_numpy(), kind="stable"))
        return {
            c: pc.take(merged[c], position).combine_chunks().cast(self.max_types[c]) for c in self.max_columns
        }


def daily_table(report_type: str, hourly: pa.Table) -> pa.Table:
    """koku's daily rows of hourly rows (of any number of days), days in order."""
    days = pc.floor_temporal(hourly["interval_start"], unit="day")
    tables = []
    for day in sorted(pc.unique(days).to_pylist()):
        aggregator = DailyAggregator(report_type)
        aggregator.add(hourly.filter(pc.equal(days, pa.scalar(day, days.type))))
        tables.append(aggregator.result())
    return pa.concat_tables(tables)
