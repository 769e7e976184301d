"""Usage bounds (SPEC §5): the first and last ``interval_start`` of a source's daily pod rows in a range.

koku asks Trino for ``min(interval_start), max(interval_start)`` of its daily pod_usage table for the
source, ``start_date``'s year and month, and the days of the range. ocpagg answers from the Parquet
footers: a row group whose statistics lie wholly inside the range gives its min and max without
being read; one that straddles the range, or has no statistics, has its ``interval_start`` column
read and filtered.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InputError
from ..storage import filesystem_for
from .scan import TIMESTAMP, Columns, day_range, month_files, normalise_timestamps, open_file, row_group_span

LOG = logging.getLogger(__name__)

_COLUMNS = Columns(required={"interval_start": TIMESTAMP})


def _merge(
    found: tuple[dt.datetime | None, dt.datetime | None], low: dt.datetime, high: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    lo, hi = found
    return (low if lo is None or low < lo else lo, high if hi is None or high > hi else hi)


def usage_bounds(
    root: str,
    *,
    account: str,
    source_uuid: str,
    start_date: dt.date,
    end_date: dt.date,
    filesystem: Any = None,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``(min, max)`` interval_start of the source's daily pod rows in ``[start_date, end_date]``.

    Naive UTC datetimes, or ``(None, None)`` when no row falls in the range (koku's accessor then
    substitutes the range's own dates; that is the caller's step). Reads ``start_date``'s month only.
    """
    fs, base = filesystem_for(root, filesystem)
    low, high = day_range(start_date, end_date)
    found: tuple[dt.datetime | None, dt.datetime | None] = (None, None)
    stats_used = columns_read = 0
    for path in month_files(fs, base, account, source_uuid, "pod_usage", start_date, daily=True):
        scan = open_file(fs, path, _COLUMNS)
        to_read = []
        for rg in range(scan.metadata.num_row_groups):
            if scan.metadata.row_group(rg).num_rows == 0:
                continue
            span = row_group_span(scan, rg)
            if span is None:
                to_read.append(rg)
            elif span[1] < low or span[0] >= high:
                continue
            elif span[0] >= low and span[1] < high:
                found = _merge(found, *span)
                stats_used += 1
            else:
                to_read.append(rg)
        if not to_read:
            continue
        try:
            with fs.open(path, "rb") as handle:
                parquet = pq.ParquetFile(handle, metadata=scan.metadata)
                for rg in to_read:
                    column = normalise_timestamps(
                        parquet.read_row_group(rg, columns=["interval_start"]).column(0)
                    )
                    keep = pc.and_(
                        pc.greater_equal(column, pa.scalar(low, pa.timestamp("ms"))),
                        pc.less(column, pa.scalar(high, pa.timestamp("ms"))),
                    )
                    inside = column.filter(keep)
                    columns_read += 1
                    if len(inside) - inside.null_count == 0:
                        continue
                    extremes = pc.min_max(inside)
                    found = _merge(found, extremes["min"].as_py(), extremes["max"].as_py())
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - decoding errors name the file
            raise InputError(path, f"unreadable Parquet data ({exc})") from exc
    LOG.info(
        "usage bounds of %s %s..%s: %s..%s (%d row groups from statistics, %d read)",
        source_uuid,
        start_date,
        end_date,
        found[0],
        found[1],
        stats_used,
        columns_read,
    )
    return found
