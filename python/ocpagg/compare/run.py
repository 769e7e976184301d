"""A comparison run: check the arguments and both sides, then match the range one day at a time.

koku's table (what Trino wrote) is compared against a shadow table ocpagg wrote, or against rows
ocpagg computes from the Parquet files with the tenant's reference rows read from the database —
as a summary run reads them, node roles derived from the files when the database knows none.
Nothing is written. Every failure to run is a ``ComparisonError`` (or another ``OcpaggError``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from ..errors import ComparisonError, OcpaggError
from ..layout import account_from_schema
from ..params import RunParameters
from ..refdata import read_reference_rows, with_derived_roles
from ..run import check_input_root, check_report_period
from ..sinks import DatabaseSink, one_line, open_sink
from ..sinks.seed import SUMMARY_TABLE
from .match import DayMatch, match_day
from .result import CompareScope, ComparisonResult
from .sides import ComputedSide, TableSide, zip_days

LOG = logging.getLogger(__name__)

DEFAULT_RTOL = 1e-9
DEFAULT_ATOL = 1e-15  # one unit of numeric(33,15)
DEFAULT_MAX_ROWS = 20


@dataclasses.dataclass(frozen=True)
class CompareRequest:
    """What to compare. Exactly one of ``input_root`` and ``shadow_table`` names ocpagg's side."""

    db: Any
    schema: str
    source_uuid: str
    start_date: dt.date
    end_date: dt.date
    report_period_id: int
    cluster_id: str
    cluster_alias: str | None = None
    input_root: str | None = None
    shadow_table: str | None = None
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    max_rows: int = DEFAULT_MAX_ROWS
    koku_table: str = SUMMARY_TABLE
    filesystem: Any = dataclasses.field(default=None, compare=False, repr=False)

    def check(self) -> None:
        """Refuse arguments a comparison cannot run with."""
        if (self.input_root is None) == (self.shadow_table is None):
            raise ComparisonError("give exactly one of --input ROOT and --shadow-table NAME")
        if self.shadow_table is not None and self.shadow_table == self.koku_table:
            raise ComparisonError(f"the shadow table cannot be koku's table {self.koku_table}")
        if self.end_date < self.start_date:
            raise ComparisonError(f"end date {self.end_date} is before start date {self.start_date}")
        if (self.start_date.year, self.start_date.month) != (self.end_date.year, self.end_date.month):
            raise ComparisonError(
                f"{self.start_date}..{self.end_date} spans months and a report period covers one: "
                "compare each month with its own --report-period-id"
            )
        if not (self.rtol >= 0 and self.atol >= 0):
            raise ComparisonError("--rtol and --atol must be zero or positive")
        if self.max_rows < 0:
            raise ComparisonError("--max-rows must be zero or positive")

    @property
    def days(self) -> list[dt.date]:
        return [
            self.start_date + dt.timedelta(days=i) for i in range((self.end_date - self.start_date).days + 1)
        ]


def _params(request: CompareRequest, cluster_alias: str | None) -> RunParameters:
    return RunParameters(
        root=request.input_root or "",
        account=account_from_schema(request.schema),
        source_uuid=request.source_uuid,
        start_date=request.start_date,
        end_date=request.end_date,
        report_period_id=request.report_period_id,
        cluster_id=request.cluster_id,
        cluster_alias=cluster_alias,
        filesystem=request.filesystem,
    )


def _open(request: CompareRequest) -> DatabaseSink:
    from ..sinks.postgres import PostgresSink

    sink = open_sink(request.db, request.schema)
    if not isinstance(sink, PostgresSink):
        sink.close()
        raise ComparisonError("compare reads koku's PostgreSQL tables: give a postgresql:// database")
    return sink


def _ocpagg_side(
    request: CompareRequest, sink: DatabaseSink, params: RunParameters
) -> TableSide | ComputedSide:
    if request.shadow_table is not None:
        side = TableSide(
            sink, request.shadow_table, request.report_period_id, f"shadow table {request.shadow_table}"
        )
        side.check()
        return side
    assert request.input_root is not None
    check_input_root(request.input_root, request.filesystem)
    reference, known = read_reference_rows(sink.query, sink.table, sink.param, request.source_uuid)
    params = with_derived_roles(params, reference, known)
    return ComputedSide(params, f"computed from {request.input_root}")


def compare_summaries(
    request: CompareRequest,
    *,
    on_day: Callable[[DayMatch], None] | None = None,
) -> ComparisonResult:
    """Compare koku's rows with ocpagg's over the request's range, one day at a time.

    ``on_day`` receives each day's match as soon as it is known. Raises ``ComparisonError`` (or
    another ``OcpaggError``) when the comparison cannot run; differences are results, not errors.
    """
    request.check()
    started = time.monotonic()
    sink = _open(request)
    try:
        koku = TableSide(sink, request.koku_table, request.report_period_id, f"koku's {request.koku_table}")
        try:
            koku.check()
            period = sink.report_period(request.report_period_id)
            alias = request.cluster_alias
            if alias is None and period is not None:
                alias = period[1]
                LOG.info("cluster alias from report period %d: %r", request.report_period_id, alias)
            params = _params(request, alias)
            check_report_period(sink, params)
            ocpagg = _ocpagg_side(request, sink, params)
        except OcpaggError as exc:
            raise ComparisonError(one_line(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - database errors become one line
            raise ComparisonError(f"reading the tenant's tables: {one_line(exc)}") from exc
        finally:
            sink.rollback()
        scope = CompareScope(
            schema=request.schema,
            source_uuid=request.source_uuid,
            start_date=request.start_date,
            end_date=request.end_date,
            report_period_id=request.report_period_id,
            cluster_id=request.cluster_id,
            cluster_alias=alias,
            koku_label=koku.label,
            ocpagg_label=ocpagg.label,
            rtol=request.rtol,
            atol=request.atol,
        )
        days = request.days
        matches: list[DayMatch] = []
        left = request.max_rows
        for day, koku_rows, ocpagg_rows in zip_days(days, koku.iter_days(days), ocpagg.iter_days(days)):
            match = match_day(
                day, koku_rows, ocpagg_rows, rtol=request.rtol, atol=request.atol, max_rows=left
            )
            left -= len(match.rows)
            matches.append(match)
            LOG.info(
                "%s: %d matched, %d only in koku, %d only in ocpagg, %d differ",
                day,
                match.counts.matched,
                match.counts.only_koku,
                match.counts.only_ocpagg,
                match.counts.differ,
            )
            if on_day is not None:
                on_day(match)
    finally:
        sink.close()
    return ComparisonResult(
        scope=scope, days=matches, max_rows=request.max_rows, seconds=time.monotonic() - started
    )
