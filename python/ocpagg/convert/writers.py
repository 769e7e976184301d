"""Writing one CSV's rows to koku's hourly and daily Parquet trees."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..layout import month_dir
from .daily import DailyAggregator

FLUSH_ROWS = 65_536  # hourly rows buffered before a write (and a Parquet row group)


def nan_to_null(table: pa.Table) -> pa.Table:
    """NaN as NULL in float columns: koku writes through pandas, whose Parquet files hold no NaN."""
    for i, field in enumerate(table.schema):
        if pa.types.is_floating(field.type):
            column = table.column(i)
            if pc.any(pc.is_nan(column)).as_py():
                table = table.set_column(
                    i, field, pc.if_else(pc.is_nan(column), pa.scalar(None, field.type), column)
                )
    return table


class DayWriters:
    """Hourly Parquet files of one CSV: per day, one file per flush of at most ~``flush_rows`` rows.

    Like koku's ``{name}_{i}.parquet`` chunk files. No writer stays open, so memory does not grow
    with the number of days a CSV holds; each day keeps only its running daily aggregate, fed the
    day's rows in file order. :meth:`write_daily` writes koku's daily file of each day.
    """

    def __init__(
        self,
        root: Path,
        account: str,
        source_uuid: str,
        report_type: str,
        tag: str,
        flush_rows: int = FLUSH_ROWS,
    ) -> None:
        self.root, self.account, self.source_uuid = root, account, source_uuid
        self.report_type, self.tag, self.flush_rows = report_type, tag, flush_rows
        self.buffers: dict[date, list[pa.Table]] = {}
        self.buffered = 0
        self.paths: dict[date, list[Path]] = {}
        self.daily: dict[date, DailyAggregator] = {}
        self.schema: pa.Schema | None = None

    def folder(self, day: date, *, daily: bool) -> Path:
        return Path(
            month_dir(
                str(self.root),
                self.account,
                self.report_type,
                self.source_uuid,
                day.year,
                day.month,
                daily=daily,
            )
        )

    def stem(self, day: date) -> str:
        return f"{self.report_type}.{day.isoformat()}.{self.tag}"

    def daily_path(self, day: date) -> Path:
        return self.folder(day, daily=True) / f"{self.stem(day)}_daily_0.parquet"

    def add(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        if self.schema is None:
            self.schema = table.schema
        elif table.schema != self.schema:
            table = table.cast(self.schema)
        days = pc.floor_temporal(table["interval_start"], unit="day")
        for value in pc.unique(days).to_pylist():
            part = table.filter(pc.equal(days, pa.scalar(value, days.type)))
            self.buffers.setdefault(value.date(), []).append(part)
            self.buffered += part.num_rows
        if self.buffered >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        for day, parts in sorted(self.buffers.items()):
            paths = self.paths.get(day)
            if paths is None:
                # a rerun of the same CSV replaces what it wrote before
                folder = self.folder(day, daily=False)
                folder.mkdir(parents=True, exist_ok=True)
                for stale in folder.glob(f"{self.stem(day)}_*.parquet"):
                    stale.unlink()
                self.daily_path(day).unlink(missing_ok=True)
                paths = self.paths[day] = []
            rows = pa.concat_tables(parts)
            path = self.folder(day, daily=False) / f"{self.stem(day)}_{len(paths)}.parquet"
            pq.write_table(nan_to_null(rows), path)
            paths.append(path)
            self.daily.setdefault(day, DailyAggregator(self.report_type)).add(rows)
        self.buffers.clear()
        self.buffered = 0

    def write_daily(self) -> list[Path]:
        """Write each day's daily file; their paths, days in order."""
        written = []
        for day in sorted(self.daily):
            path = self.daily_path(day)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(nan_to_null(self.daily[day].result()), path)
            written.append(path)
        return written

    def written(self) -> list[Path]:
        return [p for paths in self.paths.values() for p in paths]
