"""The decode floor: pyarrow decoding exactly what ocpagg reads, and nothing else.

The same files, the same footers, the same kernel columns of each file, the same row groups of the
month's days, strings kept dictionary-encoded (``read_dictionary``) as ocpagg asks, the same
decoding calls (``ocpagg.reader.row_group_batches``), and the same decoding threads as ocpagg's
reader (``ocpagg.reader.DECODE_THREADS`` row groups at once, each on pyarrow's CPU pool when
``DECODE_USE_THREADS``). No kernel, no type
normalisation: no reader can go faster than this on these files, so ocpagg's read + aggregate is
judged against it.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pyarrow.parquet as pq
from ocpagg.layout import list_month_entries
from ocpagg.params import month_ranges
from ocpagg.reader import (
    DECODE_THREADS,
    ReportFile,
    _string_columns,
    open_month_reports,
    row_group_batches,
)
from ocpagg.storage import filesystem_for


def month_units(root: str, account: str, source_uuid: str, start: dt.date, end: dt.date) -> list:
    """(local path, ReportFile, row group) for every row group ocpagg reads in the range, in its order."""
    fs, base = filesystem_for(root)
    units: list[tuple[str, ReportFile, int]] = []
    for year, month, days in month_ranges(start, end):
        files = list_month_entries(fs, base, account, source_uuid, year, month)
        reports = open_month_reports(fs, files, days)
        seen: set[tuple[str, int]] = set()
        for day in days:
            for rt in ("node_labels", "namespace_labels", "pod_usage", "storage_usage"):
                for report in reports[rt]:
                    for rg in report.day_row_groups.get(day, ()):
                        if (report.path, rg) not in seen:  # a row group spanning days is decoded once
                            seen.add((report.path, rg))
                            units.append((report.path, report, rg))
    return units


def _decode(unit: tuple[str, ReportFile, int]) -> int:
    path, report, rg = unit
    parquet = pq.ParquetFile(path, metadata=report.metadata, read_dictionary=_string_columns(report))
    rows = 0
    for batch in row_group_batches(report, parquet, rg):
        rows += batch.num_rows
    return rows


def decode_floor(units: list, threads: int = DECODE_THREADS) -> int:
    """Decode every unit, ``threads`` row groups at once; the rows decoded."""
    if threads <= 1:
        return sum(_decode(u) for u in units)
    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(_decode, units))
