"""Reading koku's Parquet trees for the queries: one row group at a time, projected and typed.

Each query names the columns it reads (:class:`Columns`); a file lacking a required one, holding
one of the wrong type, or a non-finite number, is an :class:`~ocpagg.errors.InputError` naming the
file and column. Row groups whose ``interval_start`` statistics lie outside the requested range
are skipped without being read; the rows of the others are filtered on the range. Memory stays
that of one row group.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InputError
from ..layout import list_report_files, month_dir

LOG = logging.getLogger(__name__)

TIMESTAMP = "timestamp"
STRING = "string"
NUMBER = "number"

_ARROW = {TIMESTAMP: pa.timestamp("ms"), STRING: pa.string(), NUMBER: pa.float64()}


@dataclass(frozen=True)
class Columns:
    """The columns a query reads from one report type, and how strictly."""

    required: Mapping[str, str]
    optional: Mapping[str, str] = field(default_factory=dict)  # read as NULL when a file lacks them
    nan_as_null: frozenset[str] = frozenset()  # nullable numbers that pandas may have written as NaN

    def all(self) -> dict[str, str]:
        return {**self.required, **self.optional}


@dataclass(frozen=True)
class ScanFile:
    """A file's footer and the wanted columns it holds."""

    path: str
    metadata: pq.FileMetaData
    present: tuple[str, ...]
    ts_leaf: int | None  # leaf index of interval_start, for statistics


def day_range(start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """koku's ``interval_start >= TIMESTAMP start AND < date_add('day', 1, TIMESTAMP end)`` bounds."""
    low = start if isinstance(start, dt.datetime) else dt.datetime(start.year, start.month, start.day)
    high = end if isinstance(end, dt.datetime) else dt.datetime(end.year, end.month, end.day)
    return low.replace(tzinfo=None), high.replace(tzinfo=None) + dt.timedelta(days=1)


def _kind_ok(kind: str, t: pa.DataType) -> bool:
    if pa.types.is_null(t):
        return True
    if pa.types.is_dictionary(t):
        return _kind_ok(kind, t.value_type)
    if kind == TIMESTAMP:
        return pa.types.is_timestamp(t) or pa.types.is_date(t)
    if kind == NUMBER:
        return pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def open_file(fs: fsspec.AbstractFileSystem, path: str, columns: Columns) -> ScanFile:
    """Read a file's footer and check the wanted columns' presence and types."""
    try:
        with fs.open(path, "rb") as handle:
            md = pq.read_metadata(handle)
        schema = md.schema.to_arrow_schema()
    except Exception as exc:  # noqa: BLE001 - any reader failure names the file
        raise InputError(path, f"unreadable Parquet file ({exc})") from exc
    present = []
    for name, kind in columns.all().items():
        idx = schema.get_field_index(name)
        if idx < 0:
            if name in columns.required:
                raise InputError(path, f"column {name} is missing")
            continue
        actual = schema.field(idx).type
        if not _kind_ok(kind, actual):
            raise InputError(path, f"column {name} has type {actual}, expected {_ARROW[kind]}")
        present.append(name)
    leaves = md.schema.names
    ts_leaf = leaves.index("interval_start") if "interval_start" in leaves else None
    return ScanFile(path=path, metadata=md, present=tuple(present), ts_leaf=ts_leaf)


def _naive(value: object) -> dt.datetime | None:
    """A statistics value as a naive UTC datetime; None when it is not a usable timestamp."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return None


def row_group_span(scan: ScanFile, rg: int) -> tuple[dt.datetime, dt.datetime] | None:
    """The min and max interval_start of a row group from its statistics, when the footer has them."""
    if scan.ts_leaf is None:
        return None
    stats = scan.metadata.row_group(rg).column(scan.ts_leaf).statistics
    if stats is None or not stats.has_min_max:
        return None
    low, high = _naive(stats.min), _naive(stats.max)
    if low is None or high is None:
        return None
    return low, high


def normalise_timestamps(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Any timestamp or date column as naive ``timestamp[ms]`` (UTC wall time)."""
    t = column.type
    if pa.types.is_dictionary(t):
        column = column.dictionary_decode()
        t = column.type
    if pa.types.is_timestamp(t) and t.tz is not None:
        column = column.cast(pa.timestamp(t.unit))
    return column.cast(pa.timestamp("ms"), safe=False)


def _normalise(scan: ScanFile, table: pa.Table, columns: Columns) -> pa.Table:
    arrays = []
    names = []
    for name, kind in columns.all().items():
        names.append(name)
        if name not in scan.present:
            arrays.append(pa.nulls(table.num_rows, type=_ARROW[kind]))
            continue
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        if kind == TIMESTAMP:
            column = normalise_timestamps(column)
        elif kind == STRING:
            if column.type != pa.string():
                try:
                    column = column.cast(pa.string())
                except pa.ArrowInvalid as exc:
                    raise InputError(scan.path, f"column {name} is not UTF-8 text ({exc})") from exc
        else:
            if column.type != pa.float64():
                column = column.cast(pa.float64())
            finite = pc.is_finite(column)
            if not pc.all(pc.or_kleene(finite, pc.is_null(column))).as_py():
                if name in columns.nan_as_null and not pc.any(pc.is_inf(column)).as_py():
                    column = pc.if_else(pc.is_nan(column), pa.scalar(None, pa.float64()), column)
                else:
                    raise InputError(scan.path, f"column {name} holds a non-finite number")
        arrays.append(column)
    return pa.Table.from_arrays(arrays, names=names)


def iter_row_groups(
    fs: fsspec.AbstractFileSystem,
    scan: ScanFile,
    columns: Columns,
    *,
    low: dt.datetime | None = None,
    high: dt.datetime | None = None,
) -> Iterator[pa.Table]:
    """The rows with ``low <= interval_start < high`` (all without a range), a row group at a time."""
    md = scan.metadata
    wanted = [rg for rg in range(md.num_row_groups) if md.row_group(rg).num_rows > 0]
    if low is not None and high is not None:
        kept = []
        for rg in wanted:
            span = row_group_span(scan, rg)
            if span is not None and (span[1] < low or span[0] >= high):
                continue
            kept.append(rg)
        wanted = kept
    if not wanted:
        return
    try:
        with fs.open(scan.path, "rb") as handle:
            parquet = pq.ParquetFile(handle, metadata=md)
            for rg in wanted:
                table = _normalise(scan, parquet.read_row_group(rg, columns=list(scan.present)), columns)
                if low is not None and high is not None:
                    ts = table.column("interval_start")
                    keep = pc.and_(
                        pc.greater_equal(ts, pa.scalar(low, pa.timestamp("ms"))),
                        pc.less(ts, pa.scalar(high, pa.timestamp("ms"))),
                    )
                    table = table.filter(keep)
                if table.num_rows:
                    yield table
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoding errors name the file
        raise InputError(scan.path, f"unreadable Parquet data ({exc})") from exc


def month_files(
    fs: fsspec.AbstractFileSystem,
    base: str,
    account: str,
    source_uuid: str,
    report_type: str,
    month_of: dt.date,
    *,
    daily: bool,
) -> list[str]:
    """The files koku's SQL reads for a report type: the ``year=/month=`` folder of ``month_of`` only."""
    return list_report_files(
        fs, base, account, source_uuid, report_type, month_of.year, month_of.month, daily=daily
    )


def require_daily_files(
    fs: fsspec.AbstractFileSystem,
    base: str,
    account: str,
    source_uuid: str,
    report_type: str,
    month_of: dt.date,
    why: str = "",
) -> None:
    """Refuse (InputError naming the folder) a month with no daily files of ``report_type``."""
    if month_files(fs, base, account, source_uuid, report_type, month_of, daily=True):
        return
    folder = month_dir(base, account, report_type, source_uuid, month_of.year, month_of.month, daily=True)
    raise InputError(folder, f"no daily {report_type} files for {month_of:%Y-%m}{why}")


def scan_tables(
    fs: fsspec.AbstractFileSystem,
    paths: Iterable[str],
    columns: Columns,
    *,
    low: dt.datetime | None = None,
    high: dt.datetime | None = None,
) -> Iterator[pa.Table]:
    """The rows of every file (each opened and checked first), one row group at a time."""
    for path in paths:
        scan = open_file(fs, path, columns)
        yield from iter_row_groups(fs, scan, columns, low=low, high=high)
