"""Reading koku's hourly Parquet files: which row groups hold a day, and their batches in kernel form.

Local files are read by pyarrow natively. On a remote store (S3) every request costs a round trip,
so the footers of a month's files are fetched at once (one ranged GET each when the listing gave
the size) and each row group's column chunks are fetched with concurrent ranged reads
(``fs.cat_ranges``, many row groups in flight) before pyarrow decodes them from memory.
``iter_month_batches`` decodes the next row groups in a worker thread (on pyarrow's pool, with the
GIL released) while the caller aggregates, what is held ahead bounded in bytes and never reaching
past the end of the day the caller is on.
"""

from __future__ import annotations

import bisect
import contextvars
import datetime as dt
import io
import struct
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InputError
from .layout import FileEntry, is_local
from .logs import get_logger, set_day
from .schema import INPUT_COLUMNS, OPTIONAL_COLUMNS

LOG = get_logger(__name__)

# One batch per row group of koku's files (200k rows): each batch carries its row group's
# dictionaries, so smaller batches would repeat them (7 MB a batch at 50M pod rows a month).
BATCH_ROWS = 256 * 1024
# Row groups decoded at once beside the aggregating thread, each on pyarrow's CPU pool (its size:
# the cores), so one row group at a time already decodes on every core. Two at once measured no
# faster on 2 cores and held one more row group (~40 MB at koku's 200k rows) ahead.
DECODE_THREADS = 1
DECODE_USE_THREADS = True
# Requests in flight on a remote store: footers, and row groups being fetched.
REMOTE_THREADS = 16
# Bytes of decoded (and, remote, fetched) row groups held ahead of the aggregation.
AHEAD_BYTES = 32 * 2**20
# Decode the next day's first row groups while the caller finishes a day (its rows, their write)?
# No: a day's finish is its peak of memory (the day's state and its rows), and a row group decoded
# beside it raised the MASU call's peak at 50M pod rows a month from 374 to 410 MiB. The 50M
# stream took 23.5 s without the overlap, 24.2 s with it (within the shared machine's noise).
# Remotely the next day's column chunks are still fetched meanwhile, only their decoding waits.
OVERLAP_DAYS = False
# A remote footer is fetched with the file's last FOOTER_TAIL bytes (a second GET if it is longer).
# A file no longer than that came whole with its footer and is read from those bytes: one request
# instead of two (koku's label files, and small storage files). On a larger file the extra bytes
# of the tail cost ~3 ms at 64 MB/s, against ~20 ms for a request.
FOOTER_TAIL = 256 * 1024
# Bytes of such whole small files kept with their footers across the calls of a process: a month
# of label files of a cluster of 67k pods an hour (the 50M benchmark month) is 11 MiB.
WHOLE_FILE_BYTES = 16 * 2**20


@dataclass(frozen=True)
class ReportFile:
    """One hourly file: its report type, metadata, and the row groups that may hold each day."""

    path: str
    report_type: str
    metadata: pq.FileMetaData
    columns: tuple[str, ...]  # the kernel columns present in the file
    day_row_groups: dict[dt.date, tuple[int, ...]]
    size: int | None = None  # bytes, when the listing gave it
    version: str | None = None  # ETag (or mtime and size), when the listing gave it


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
    and month while its version (ETag, or mtime and size) is unchanged. A remote file that came
    whole with its footer (no longer than FOOTER_TAIL) keeps its bytes too, up to
    ``whole_file_bytes`` in all (oldest out first), so reading it needs no request.
    """

    def __init__(self, capacity: int = 512, whole_file_bytes: int = WHOLE_FILE_BYTES) -> None:
        self.capacity = capacity
        self.whole_file_bytes = whole_file_bytes
        self._items: OrderedDict[tuple[str, str, str], pq.FileMetaData] = OrderedDict()
        self._whole: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self._whole_bytes = 0
        self._lock = threading.Lock()
        self.reads = 0

    def get(
        self, fs: fsspec.AbstractFileSystem, path: str, version: str | None, size: int | None = None
    ) -> pq.FileMetaData:
        key = (str(fs.protocol), path, version or "")
        if version is not None:
            with self._lock:
                found = self._items.get(key)
                if found is not None:
                    self._items.move_to_end(key)
                    return found
        md, whole = _read_footer(fs, path, size)
        with self._lock:
            self.reads += 1
            if version is not None:
                self._items[key] = md
                while len(self._items) > self.capacity:
                    self._forget_whole(self._items.popitem(last=False)[0])
                if whole is not None and len(whole) <= self.whole_file_bytes:
                    self._forget_whole(key)
                    self._whole[key] = whole
                    self._whole_bytes += len(whole)
                    while self._whole_bytes > self.whole_file_bytes:
                        self._forget_whole(next(iter(self._whole)))
        return md

    def whole_file(self, fs: fsspec.AbstractFileSystem, path: str, version: str | None) -> bytes | None:
        """The bytes of a small file that came whole with its footer, if still kept."""
        if version is None:
            return None
        with self._lock:
            return self._whole.get((str(fs.protocol), path, version))

    def _forget_whole(self, key: tuple[str, str, str]) -> None:
        dropped = self._whole.pop(key, None)
        if dropped is not None:
            self._whole_bytes -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._whole.clear()
            self._whole_bytes = 0
            self.reads = 0


FOOTERS = FooterCache()


def _read_footer(
    fs: fsspec.AbstractFileSystem, path: str, size: int | None
) -> tuple[pq.FileMetaData, bytes | None]:
    """A file's footer, and the whole file when its tail was all of it (remote, size known).

    Natively on disk; remotely from its tail (size known) or through fs.open.
    """
    if is_local(fs):
        return pq.read_metadata(fs._strip_protocol(path)), None
    if size is None:
        with fs.open(path, "rb") as handle:
            return pq.read_metadata(handle), None
    if size < 12:
        raise ValueError(f"file of {size} bytes is too small to be Parquet")
    start = max(0, size - FOOTER_TAIL)
    tail = fs.cat_file(path, start=start, end=size)
    if len(tail) != size - start or tail[-4:] != b"PAR1":
        raise ValueError("no Parquet magic bytes at the end of the file")
    length = struct.unpack("<I", tail[-8:-4])[0]
    if length + 8 > size:
        raise ValueError(f"footer of {length} bytes in a file of {size}")
    if length + 8 > len(tail):  # a footer longer than the sample: its start too
        tail = fs.cat_file(path, start=size - length - 8, end=start) + tail
    tail = bytes(tail)
    return pq.read_metadata(pa.BufferReader(pa.py_buffer(tail))), tail if start == 0 else None


def open_report_file(
    fs: fsspec.AbstractFileSystem,
    path: str,
    report_type: str,
    days: list[dt.date],
    version: str | None = None,
    size: int | None = None,
) -> ReportFile:
    """Read a file's footer (cached by version), check its column types, and map days to row groups."""
    try:
        md = FOOTERS.get(fs, path, version, size)
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
        size=size,
        version=version,
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


def open_month_reports(
    fs: fsspec.AbstractFileSystem, files: dict[str, list[FileEntry]], days: list[dt.date]
) -> dict[str, list[ReportFile]]:
    """``open_report_file`` for every listed file, the footers read at once on a remote store.

    The first file (in listing order) that fails raises its InputError, as the serial loop would.
    """
    jobs = [(rt, e) for rt, entries in files.items() for e in entries]

    def one(job: tuple[str, FileEntry]) -> ReportFile:
        rt, e = job
        return open_report_file(fs, e.path, rt, days, e.version, e.size)

    if is_local(fs) or len(jobs) < 2:
        opened = [one(job) for job in jobs]
    else:
        with ThreadPoolExecutor(min(REMOTE_THREADS, len(jobs)), thread_name_prefix="ocpagg-footer") as pool:
            opened = list(pool.map(one, jobs))
    out: dict[str, list[ReportFile]] = {rt: [] for rt in files}
    for (rt, _), report in zip(jobs, opened, strict=True):
        out[rt].append(report)
    return out


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


def _string_columns(report: ReportFile) -> list[str]:
    return [c for c in report.columns if pa.types.is_string(INPUT_COLUMNS[report.report_type][c])]


def _chunk_ranges(report: ReportFile, row_groups: Sequence[int]) -> list[tuple[int, int]]:
    """The byte ranges of the kernel columns' chunks in these row groups, adjacent ones merged."""
    md = report.metadata
    wanted = set(report.columns)
    ranges = []
    for rg in row_groups:
        group = md.row_group(rg)
        for i in range(group.num_columns):
            chunk = group.column(i)
            if chunk.path_in_schema not in wanted:
                continue
            start = chunk.data_page_offset
            if chunk.has_dictionary_page and 0 < chunk.dictionary_page_offset < start:
                start = chunk.dictionary_page_offset
            ranges.append((start, start + chunk.total_compressed_size))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1] + 4096:  # close enough: one read
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


class _RangeFile(io.RawIOBase):
    """A read-only file over byte ranges fetched beforehand; a read outside them fetches it."""

    def __init__(
        self, fs: fsspec.AbstractFileSystem, path: str, size: int, parts: list[tuple[int, bytes]]
    ) -> None:
        self._fs, self._path, self._size, self._pos = fs, path, size, 0
        self._starts = [start for start, _ in parts]
        self._parts = parts

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def size(self) -> int:
        return self._size

    def read(self, n: int = -1) -> bytes:
        start = self._pos
        end = self._size if n is None or n < 0 else min(self._size, start + n)
        if end <= start:
            return b""
        self._pos = end
        i = bisect.bisect_right(self._starts, start) - 1
        if i >= 0:
            part_start, data = self._parts[i]
            if end <= part_start + len(data):
                return data[start - part_start : end - part_start]
        return bytes(self._fs.cat_file(self._path, start=start, end=end))

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)


def _parquet_file(
    fs: fsspec.AbstractFileSystem, report: ReportFile, row_groups: Sequence[int]
) -> tuple[pq.ParquetFile, Callable[[], None]]:
    """The file opened for these row groups: natively on disk, from the bytes that came with its
    footer (a small remote file), else over its prefetched column chunks."""
    strings = _string_columns(report)
    if is_local(fs):
        handle: object = fs._strip_protocol(report.path)
        close: Callable[[], None] = lambda: None  # noqa: E731 - pyarrow owns the native file
    elif (whole := FOOTERS.whole_file(fs, report.path, report.version)) is not None:
        handle = pa.BufferReader(pa.py_buffer(whole))
        close = lambda: None  # noqa: E731 - nothing fetched, nothing to release
    else:
        ranges = _chunk_ranges(report, row_groups)
        data = fs.cat_ranges([report.path] * len(ranges), [a for a, _ in ranges], [b for _, b in ranges])
        parts = []
        for (start, end), blob in zip(ranges, data, strict=True):
            if isinstance(blob, Exception):
                raise blob
            if len(blob) != end - start:
                raise ValueError(f"short read at bytes {start}-{end}")
            parts.append((start, bytes(blob)))
        size = report.size if report.size is not None else int(fs.size(report.path))
        handle = _RangeFile(fs, report.path, size, parts)
        close = handle.close
    parquet = pq.ParquetFile(handle, metadata=report.metadata, read_dictionary=strings)
    return parquet, close


def row_group_batches(
    report: ReportFile,
    parquet: pq.ParquetFile,
    rg: int,
    batch_rows: int = BATCH_ROWS,
    use_threads: bool = DECODE_USE_THREADS,
) -> Iterator[pa.RecordBatch]:
    """One row group's kernel columns as pyarrow decodes them (not yet normalised).

    A row group of at most ``batch_rows`` rows (koku writes 200k) is read whole, as one batch:
    pyarrow then holds about half of what its batch iterator does while decoding (it sizes the
    iterator's buffers for a whole batch and copies each dictionary into every batch). A larger
    row group is read ``batch_rows`` at a time, so memory stays bounded by the batch size.
    """
    columns = list(report.columns)
    if report.metadata.row_group(rg).num_rows <= batch_rows:
        yield from parquet.read_row_group(rg, columns=columns, use_threads=use_threads).to_batches()
        return
    yield from parquet.iter_batches(
        batch_size=batch_rows, row_groups=[rg], columns=columns, use_threads=use_threads
    )


def _decode(
    fs: fsspec.AbstractFileSystem,
    report: ReportFile,
    row_groups: Sequence[int],
    batch_rows: int = BATCH_ROWS,
    use_threads: bool = True,
) -> Iterator[pa.RecordBatch]:
    """The kernel batches of these row groups; any reader failure is an InputError naming the file."""
    try:
        parquet, close = _parquet_file(fs, report, row_groups)
        try:
            for rg in row_groups:
                for batch in row_group_batches(report, parquet, rg, batch_rows, use_threads):
                    yield _normalise(batch, report.report_type)
        finally:
            close()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - decoding errors name the file
        raise InputError(report.path, f"unreadable Parquet data ({exc})") from exc


def iter_day_batches(
    fs: fsspec.AbstractFileSystem, report: ReportFile, day: dt.date, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The batches of the row groups that may hold ``day``, projected and typed for the kernel."""
    row_groups = report.day_row_groups.get(day)
    if not row_groups:
        return
    yield from _decode(fs, report, row_groups, batch_rows)


def row_group_bytes(report: ReportFile, row_group: int) -> int:
    """An estimate of what decoding one row group holds: its kernel columns in Arrow, plus the fetch."""
    group = report.metadata.row_group(row_group)
    wanted = set(report.columns)
    types = INPUT_COLUMNS[report.report_type]
    total = 0
    for i in range(group.num_columns):
        chunk = group.column(i)
        name = chunk.path_in_schema
        if name in wanted:
            # strings decode to int32 dictionary indices (plus the dictionary); the rest to 8 bytes a row
            width = 4 if pa.types.is_string(types[name]) else 8
            total += max(chunk.total_uncompressed_size, width * group.num_rows) + chunk.total_compressed_size
    return total


Unit = tuple[dt.date, str | None, ReportFile | None, int]


def iter_month_batches(
    fs: fsspec.AbstractFileSystem,
    reports: dict[str, list[ReportFile]],
    days: Iterable[dt.date],
    order: Sequence[str],
    *,
    ahead_bytes: int = AHEAD_BYTES,
    threads: int | None = None,
    overlap_days: bool = OVERLAP_DAYS,
) -> Iterator[tuple[dt.date, str | None, ReportFile | None, pa.RecordBatch | None]]:
    """(day, report type, file, batch) in ``order`` and file order, then (day, None, None, None) at
    each day's end, each row group decoded ahead in worker threads.

    Worker threads decode (and, remote, fetch) the next row groups while the caller consumes these
    (each in a copy of the caller's context at submission),
    as long as the estimated bytes in flight (``row_group_bytes``) stay within ``ahead_bytes``, or
    fewer row groups than decoding threads are queued: what is held ahead is at most a few row
    groups (koku writes 200k rows a row group), whatever the cluster's size. Unless
    ``overlap_days``, the next day's row groups are decoded only once the caller comes back from a
    day's end (its finish and write: the day's peak of memory); on a remote store their column
    chunks may be fetched before. Errors are raised in order;
    closing the generator cancels what has not started and waits for what has.
    """
    local = is_local(fs)
    decoders = threads or DECODE_THREADS
    workers = decoders if local else max(decoders, REMOTE_THREADS)
    decoding = threading.BoundedSemaphore(decoders)
    days = list(days)
    # A day's row groups are decoded once the caller is on that day. Locally nothing of the next
    # day is queued before; remotely its column chunks may be fetched ahead (the round trips
    # overlap the day's finish), their decoding waits for the day's gate.
    gates = {day: threading.Event() for day in days}
    for day in days if overlap_days else days[:1]:
        gates[day].set()
    following = dict(zip(days, days[1:], strict=False))

    def units() -> Iterator[Unit]:
        for day in days:
            for report_type in order:
                for report in reports.get(report_type, []):
                    for rg in report.day_row_groups.get(day, ()):
                        yield day, report_type, report, rg
            yield day, None, None, -1

    def work(unit: Unit) -> list[pa.RecordBatch]:
        day, _, report, rg = unit
        assert report is not None
        set_day(day)  # in this task's copy of the context
        if local:
            with decoding:
                return list(_decode(fs, report, [rg], use_threads=DECODE_USE_THREADS))
        # fetch without holding a decoding slot, then decode
        try:
            parquet, close = _parquet_file(fs, report, [rg])
        except Exception as exc:  # noqa: BLE001 - as _decode reports it
            raise InputError(report.path, f"unreadable Parquet data ({exc})") from exc
        try:
            gates[day].wait()
            with decoding:
                return [_normalise(b, report.report_type) for b in _row_group_batches(report, parquet, rg)]
        finally:
            close()

    pending: deque[tuple[Unit, Future[list[pa.RecordBatch]] | None, int]] = deque()

    def queued(queue: deque[tuple[Unit, Future[list[pa.RecordBatch]] | None, int]]) -> int:
        """Row groups submitted and not yet taken (decoded or not): one per decoder at least."""
        return sum(1 for _, f, _ in queue if f is not None)

    in_flight = 0
    source = units()
    exhausted = False
    pool = ThreadPoolExecutor(workers, thread_name_prefix="ocpagg-reader")
    try:
        while True:
            while not exhausted and (queued(pending) < decoders or in_flight < ahead_bytes):
                if local and not overlap_days and pending and pending[-1][1] is None:
                    break  # the next day waits until the caller comes back from this day's end
                unit = next(source, None)
                if unit is None:
                    exhausted = True
                    break
                report = unit[2]
                if report is None:
                    pending.append((unit, None, 0))
                    continue
                cost = row_group_bytes(report, unit[3])
                # each task in a copy of the caller's context (the run's log fields, ocpagg.logs)
                pending.append((unit, pool.submit(contextvars.copy_context().run, work, unit), cost))
                in_flight += cost
            if not pending:
                return
            unit, future, cost = pending.popleft()
            day, report_type, report, _ = unit
            if future is None:
                yield day, None, None, None
                if day in following:  # the caller is back: the next day's row groups may decode
                    gates[following[day]].set()
                continue
            batches = future.result()
            for batch in batches:
                yield day, report_type, report, batch
            del batches
            in_flight -= cost
    finally:
        for _, future, _ in pending:
            if future is not None:
                future.cancel()
        for gate in gates.values():  # a task fetched ahead must not wait for a day that never comes
            gate.set()
        pool.shutdown(wait=True)


def _row_group_batches(report: ReportFile, parquet: pq.ParquetFile, rg: int) -> list[pa.RecordBatch]:
    try:
        return list(row_group_batches(report, parquet, rg))
    except Exception as exc:  # noqa: BLE001 - decoding errors name the file
        raise InputError(report.path, f"unreadable Parquet data ({exc})") from exc
