"""Reading koku's hourly Parquet files: which row groups hold a day, and their batches in kernel form."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InputError
from .logs import get_logger
from .schema import INPUT_COLUMNS, OPTIONAL_COLUMNS

LOG = get_logger(__name__)

BATCH_ROWS = 128 * 1024


@dataclass(frozen=True)
class ReportFile:
    """One hourly file: its report type, metadata, and the row groups that may hold each day."""

    path: str
    report_type: str
    metadata: pq.FileMetaData
    columns: tuple[str, ...]  # the kernel columns present in the file
    day_row_groups: dict[dt.date, tuple[int, ...]]


def use_lean_allocator() -> str:
    """Make pyarrow allocate from jemalloc (else the system allocator) instead of mimalloc.

    Decoding koku's 200k-row row groups day after day, mimalloc keeps about 80 MB more resident
    at 10M rows a month. The pool is process-wide, so only the CLI calls this; returns its name.
    """
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:
        pool = pa.system_memory_pool()
    pa.set_memory_pool(pool)
    return pool.backend_name


def _is_string(t: pa.DataType) -> bool:
    """Text, or bytes without Parquet's UTF8 annotation (cast to text, which checks the encoding)."""
    if pa.types.is_dictionary(t):
        return _is_string(t.value_type)
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t)


def _check_type(path: str, name: str, actual: pa.DataType, wanted: pa.DataType) -> None:
    ok = (
        (pa.types.is_timestamp(wanted) and (pa.types.is_timestamp(actual) or pa.types.is_date(actual)))
        or (pa.types.is_floating(wanted) and _is_number(actual))
        or (pa.types.is_string(wanted) and _is_string(actual))
        or pa.types.is_null(actual)
    )
    if not ok:
        raise InputError(path, f"column {name} has type {actual}, expected {wanted}", column=name)


def _stat_day(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


def _row_group_days(md: pq.FileMetaData, column_index: int, days: list[dt.date]) -> dict[dt.date, list[int]]:
    """Row groups per requested day, from interval_start statistics (all days when stats are missing)."""
    by_day: dict[dt.date, list[int]] = {d: [] for d in days}
    for rg in range(md.num_row_groups):
        chunk = md.row_group(rg)
        if chunk.num_rows == 0:
            continue
        stats = chunk.column(column_index).statistics
        low = high = None
        if stats is not None and stats.has_min_max:
            low, high = _stat_day(stats.min), _stat_day(stats.max)
        for d in days:
            if low is None or high is None or low <= d <= high:
                by_day[d].append(rg)
    return by_day


class FooterCache:
    """Parquet footers by (filesystem, path, version), least recently used first out, bounded.

    koku's updater calls a month in 5-day windows: each file's footer is read once per process
    and month while its version (ETag, or mtime and size) is unchanged.
    """

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str, str], pq.FileMetaData] = OrderedDict()
        self._lock = threading.Lock()
        self.reads = 0

    def get(self, fs: fsspec.AbstractFileSystem, path: str, version: str | None) -> pq.FileMetaData:
        key = (str(fs.protocol), path, version or "")
        if version is not None:
            with self._lock:
                found = self._items.get(key)
                if found is not None:
                    self._items.move_to_end(key)
                    return found
        with fs.open(path, "rb") as handle:
            md = pq.read_metadata(handle)
        with self._lock:
            self.reads += 1
            if version is not None:
                self._items[key] = md
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        return md

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.reads = 0


FOOTERS = FooterCache()


def open_report_file(
    fs: fsspec.AbstractFileSystem,
    path: str,
    report_type: str,
    days: list[dt.date],
    version: str | None = None,
) -> ReportFile:
    """Read a file's footer (cached by version), check its column types, and map days to row groups."""
    try:
        md = FOOTERS.get(fs, path, version)
        schema = md.schema.to_arrow_schema()
    except Exception as exc:  # noqa: BLE001 - any reader failure is reported with the file name
        raise InputError(path, f"unreadable Parquet file ({exc})") from exc
    wanted = INPUT_COLUMNS[report_type]
    optional = OPTIONAL_COLUMNS[report_type]
    present = []
    for name, wanted_type in wanted.items():
        idx = schema.get_field_index(name)
        if idx < 0:
            if name in optional:
                continue  # koku added it later: older files read as NULL (SPEC §1)
            raise InputError(path, f"column {name} is missing", column=name)
        _check_type(path, name, schema.field(idx).type, wanted_type)
        present.append(name)
    ts_index = md.schema.names.index("interval_start") if "interval_start" in md.schema.names else None
    if ts_index is None:  # nested or renamed leaf: no statistics to use
        day_rgs = {d: list(range(md.num_row_groups)) for d in days}
    else:
        day_rgs = _row_group_days(md, ts_index, days)
    return ReportFile(
        path=path,
        report_type=report_type,
        metadata=md,
        columns=tuple(present),
        day_row_groups={d: tuple(rgs) for d, rgs in day_rgs.items() if rgs},
    )


def compressed_bytes(report: ReportFile, day: dt.date) -> int:
    """Compressed bytes of the column chunks read for ``day`` (the file's columns the kernel uses).

    From the footer alone; a row group holding several days counts once per day it is read for.
    """
    wanted = set(report.columns)
    total = 0
    for rg in report.day_row_groups.get(day, ()):
        group = report.metadata.row_group(rg)
        for index in range(group.num_columns):
            chunk = group.column(index)
            if chunk.path_in_schema in wanted:
                total += chunk.total_compressed_size
    return total


def _normalise(batch: pa.RecordBatch, report_type: str) -> pa.RecordBatch:
    """The batch with every kernel column, koku's types, and NULL for absent columns."""
    arrays = []
    for name, wanted in INPUT_COLUMNS[report_type].items():
        idx = batch.schema.get_field_index(name)
        if idx < 0:
            arrays.append(pa.nulls(batch.num_rows, type=wanted))
            continue
        column = batch.column(idx)
        if pa.types.is_string(wanted):
            if pa.types.is_dictionary(column.type):
                if not pa.types.is_string(column.type.value_type) or column.type.index_type != pa.int32():
                    column = column.cast(pa.dictionary(pa.int32(), pa.string()))
            elif not pa.types.is_string(column.type):
                column = column.cast(pa.string())
        elif column.type != wanted:
            column = column.cast(wanted)
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, names=list(INPUT_COLUMNS[report_type]))


def iter_day_batches(
    fs: fsspec.AbstractFileSystem, report: ReportFile, day: dt.date, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The batches of the row groups that may hold ``day``, projected and typed for the kernel."""
    row_groups = report.day_row_groups.get(day)
    if not row_groups:
        return
    string_columns = [c for c in report.columns if pa.types.is_string(INPUT_COLUMNS[report.report_type][c])]
    try:
        with fs.open(report.path, "rb") as handle:
            parquet = pq.ParquetFile(handle, metadata=report.metadata, read_dictionary=string_columns)
            for batch in parquet.iter_batches(
                batch_size=batch_rows, row_groups=list(row_groups), columns=list(report.columns)
            ):
                yield _normalise(batch, report.report_type)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoding errors name the file
        raise InputError(report.path, f"unreadable Parquet data ({exc})") from exc
