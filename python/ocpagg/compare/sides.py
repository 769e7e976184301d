"""The two sides of a comparison, each read one day at a time and normalised to the compared columns.

- ``TableSide``: rows of a summary table of the tenant schema — koku's (what Trino wrote) or a shadow
  table ocpagg wrote — one ``usage_start`` per query, without the OCP-on-cloud rows
  (``infrastructure_raw_cost`` set), exactly the rows koku's delete would replace.
- ``ComputedSide``: the rows ocpagg computes from the Parquet files, day by day, written nowhere.

Memory holds one day of each side at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from ..errors import ComparisonError
from ..params import RunParameters
from ..schema import SUMMARY_SCHEMA
from ..sinks import DatabaseSink, one_line, quote_ident
from ..summarize import iter_summary_batches
from .columns import COMPARED_COLUMNS, NUMERIC_COLUMNS, normalise

LOG = logging.getLogger(__name__)

_INTEGERS = ("report_period_id", "cost_category_id")
_DATES = ("usage_start", "usage_end")


def _select_list() -> str:
    """The compared columns in Arrow-friendly PostgreSQL types (numbers as float8, jsonb and uuid as text)."""
    parts = []
    for name in COMPARED_COLUMNS:
        column = quote_ident(name)
        if name in NUMERIC_COLUMNS:
            parts.append(f"CAST({column} AS double precision) AS {column}")
        elif name in _INTEGERS:
            parts.append(f"CAST({column} AS bigint) AS {column}")
        elif name in _DATES:
            parts.append(column)
        else:
            parts.append(f"CAST({column} AS text) AS {column}")
    return ", ".join(parts)


class TableSide:
    """A summary table's rows of one report period, read one day per query."""

    def __init__(self, sink: DatabaseSink, table: str, report_period_id: int, label: str) -> None:
        self.sink = sink
        self.table = table
        self.report_period_id = int(report_period_id)
        self.label = label
        p = sink.placeholders(2)
        self._sql = (
            f"SELECT {_select_list()} FROM {sink.table(table)} "
            f"WHERE usage_start = {p[0]} AND report_period_id = {p[1]} "
            "AND (infrastructure_raw_cost IS NULL OR infrastructure_raw_cost = 0)"
        )

    def check(self) -> None:
        """The table exists."""
        if not self.sink.has_table(self.table):
            raise ComparisonError(f"no table {self.sink.describe(self.table)} ({self.label})")

    def read_day(self, day: dt.date) -> pa.Table:
        """The day's rows, normalised; the read transaction ends with the query."""
        try:
            with self.sink.connection.cursor() as cur:
                cur.execute(self._sql, parameters=[day, self.report_period_id])
                table = cur.fetch_arrow_table()
        except Exception as exc:  # noqa: BLE001 - a database failure is one line naming the table and day
            raise ComparisonError(
                f"{day}: reading {self.sink.describe(self.table)}: {one_line(exc)}"
            ) from exc
        finally:
            self.sink.rollback()
        LOG.debug("%s %s: %d rows", self.label, day, table.num_rows)
        return normalise(table)

    def iter_days(self, days: list[dt.date]) -> Iterator[tuple[dt.date, pa.Table]]:
        for day in days:
            yield day, self.read_day(day)


class ComputedSide:
    """The rows ocpagg computes from the Parquet files (nothing is written)."""

    def __init__(
        self, params: RunParameters, label: str, on_day: Callable[[dt.date], None] | None = None
    ) -> None:
        self.params = params
        self.label = label
        self.on_day = on_day

    def iter_days(self, days: list[dt.date]) -> Iterator[tuple[dt.date, pa.Table]]:
        wanted = set(days)
        for day, batch in iter_summary_batches(self.params, on_day=self.on_day):
            if day not in wanted:
                continue
            table = pa.Table.from_batches([batch]).select(SUMMARY_SCHEMA.names)
            del batch
            yield day, normalise(table, round_numbers=True)


def zip_days(
    days: list[dt.date],
    koku: Iterator[tuple[dt.date, pa.Table]],
    ocpagg: Iterator[tuple[dt.date, pa.Table]],
) -> Iterator[tuple[dt.date, pa.Table, pa.Table]]:
    """(day, koku's rows, ocpagg's rows) for each day, both sides advancing together."""
    for day in days:
        k_day, k_rows = _next(koku, day, "koku")
        o_day, o_rows = _next(ocpagg, day, "ocpagg")
        yield day, k_rows, o_rows


def _next(side: Iterator[tuple[dt.date, Any]], day: dt.date, name: str) -> tuple[dt.date, Any]:
    try:
        got, rows = next(side)
    except StopIteration:
        raise ComparisonError(f"{name}'s side ended before {day}") from None
    if got != day:
        raise ComparisonError(f"{name}'s side gave {got} where {day} was expected")
    return got, rows
