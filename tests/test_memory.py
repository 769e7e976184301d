"""What keeps a run's memory within a worker's limit: bounded COPYs, whole row groups, a day barrier.

The figures themselves (peak RSS of the MASU call at 10M and 50M pod rows a month) are measured by
``benches/bench_masu.py`` in fresh processes; these tests check the mechanisms give the same rows.
"""

from __future__ import annotations

import ctypes
import datetime as dt
from pathlib import Path
from typing import Any

import fsspec
import koku_ddl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import test_run_safety
from compare import assert_tables_match
from ocpagg import memory, reader
from ocpagg.layout import list_month_entries
from ocpagg.sinks import postgres
from test_run_safety import _masu

MB = 2**20
small = test_run_safety.small  # the fixture: a small cluster's 12 days, its period and nodes


def _rss_anon() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")


@pytest.mark.skipif(memory._TRIM is None, reason="the C library has no malloc_trim")
def test_release_free_heap_returns_freed_pages() -> None:
    """64 MB freed in the middle of the C heap stays resident until release_free_heap returns it."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    size = 64 * 1024  # below glibc's mmap threshold: from the heap
    blocks = [libc.malloc(size) for _ in range(1024)]
    assert all(blocks)
    for block in blocks:
        ctypes.memset(block, 1, size)  # resident
    for block in blocks[:-1]:  # the last one keeps the freed space from the heap's top
        libc.free(block)
    before = _rss_anon()
    assert memory.release_free_heap() is True
    after = _rss_anon()
    libc.free(blocks[-1])
    assert before - after >= 48 * MB, f"{(before - after) / MB:.0f} MB returned"


def test_a_day_staged_in_many_copies_gives_the_same_rows(
    tmp_path: Path,
    pg_url: str,
    pg_conn: Any,
    pg_schema: str,
    small: dict[str, Any],
    monkeypatch: Any,
) -> None:
    """Each COPY into the staging table holds ~STAGE_CHUNK_BYTES; a day split over many is the same."""
    root = tmp_path / "in"
    whole = _masu(root, pg_schema, pg_url, small["start_date"], small["end_date"])
    whole_rows = koku_ddl.read_summary(pg_conn, pg_schema)
    copies = []
    original = postgres.stage_chunk_rows

    def counted_chunks(rows: pa.Table) -> int:
        n = original(rows)
        copies.append(-(-rows.num_rows // n))
        return n

    monkeypatch.setattr(postgres, "STAGE_CHUNK_BYTES", 4096)
    monkeypatch.setattr(postgres, "stage_chunk_rows", counted_chunks)
    again = _masu(root, pg_schema, pg_url, small["start_date"], small["end_date"])
    assert again.rows == whole.rows
    assert len(copies) == whole.days and min(copies) >= 2  # every day in several COPYs
    assert_tables_match(koku_ddl.read_summary(pg_conn, pg_schema), whole_rows, rel=0.0)


def _one_group_file(path: Path, rows: int, group_rows: int) -> reader.ReportFile:
    start = dt.datetime(2026, 8, 1)
    table = pa.table(
        {
            "interval_start": pa.array(
                [start + dt.timedelta(hours=i % 24) for i in range(rows)], pa.timestamp("ms")
            ),
            "namespace": pa.array([f"ns{i % 7}" for i in range(rows)]),
            "node_labels": pa.array(['{"a": "b"}'] * rows),
            "node": pa.array([f"node{i % 3}" for i in range(rows)]),
        }
    )
    pq.write_table(table, path, row_group_size=group_rows)
    return reader.open_report_file(fsspec.filesystem("file"), str(path), "node_labels", [start.date()])


def test_small_row_groups_are_read_whole_and_large_ones_in_batches(tmp_path: Path) -> None:
    report = _one_group_file(tmp_path / "small.parquet", 1000, 1000)
    parquet = pq.ParquetFile(report.path, metadata=report.metadata)
    assert [b.num_rows for b in reader.row_group_batches(report, parquet, 0, batch_rows=1000)] == [1000]
    assert [b.num_rows for b in reader.row_group_batches(report, parquet, 0, batch_rows=300)] == [
        300,
        300,
        300,
        100,
    ]
    whole = pa.Table.from_batches(list(reader.row_group_batches(report, parquet, 0, batch_rows=1000)))
    parts = pa.Table.from_batches(list(reader.row_group_batches(report, parquet, 0, batch_rows=300)))
    assert whole.equals(parts)


def test_the_next_day_is_not_decoded_while_a_day_finishes(
    tmp_path: Path,
    small: dict[str, Any],
    monkeypatch: Any,
) -> None:
    """At a day's end marker no row group of the next day has been queued (the day barrier)."""
    fs = fsspec.filesystem("file")
    start = small["start_date"]
    days = [start + dt.timedelta(days=i) for i in range(3)]
    files = list_month_entries(
        fs, str(tmp_path / "in"), small["account"], small["source_uuid"], start.year, start.month
    )
    reports = reader.open_month_reports(fs, files, days)
    queued: list[dt.date] = []
    day_of = {id(r): d for rs in reports.values() for r in rs for d in r.day_row_groups}
    original = reader.row_group_bytes

    def recorded(report: reader.ReportFile, rg: int) -> int:
        queued.append(day_of[id(report)])
        return original(report, rg)

    monkeypatch.setattr(reader, "row_group_bytes", recorded)
    ends = []
    pushed = 0
    for day, _, _, batch in reader.iter_month_batches(
        fs,
        reports,
        days,
        ("node_labels", "namespace_labels", "pod_usage", "storage_usage"),
        ahead_bytes=2**40,
    ):
        if batch is None:
            ends.append(day)
            assert all(d <= day for d in queued), f"at the end of {day}: {sorted(set(queued))}"
        else:
            pushed += batch.num_rows
    assert ends == days
    assert pushed > 0 and set(queued) == set(days)
