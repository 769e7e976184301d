"""The pipeline: list a source's files, stream each day's batches through the kernel, yield its rows."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, TypeVar

import pyarrow as pa

from . import _kernel
from .errors import InputError, InternalError, OcpaggError
from .layout import list_month_entries
from .logs import get_logger, set_day
from .memory import release_free_heap
from .params import ReferenceData, RunParameters, month_ranges
from .reader import ReportFile, compressed_bytes, iter_month_batches, open_month_reports
from .schema import KERNEL_SCHEMA, SUMMARY_SCHEMA
from .storage import filesystem_for

LOG = get_logger(__name__)

T = TypeVar("T")

# Labels first so the kernel knows each node's and namespace's sets before pods arrive (any order works).
_PUSH_ORDER = ("node_labels", "namespace_labels", "pod_usage", "storage_usage")


def kernel_config(reference: ReferenceData) -> _kernel.KernelConfig:
    """The kernel's view of the reference rows."""
    return _kernel.KernelConfig(
        reference.kernel_keys(),
        [(str(p), int(i)) for p, i in reference.cost_categories],
        [(str(n), str(r), str(role)) for n, r, role in reference.node_roles],
    )


def kernel_error(path: str | None, exc: Exception) -> OcpaggError:
    """A kernel exception as ocpagg's: bad data names the file, column and hour; anything else is a bug."""
    if path is not None and isinstance(exc, _kernel.InputDataError):
        return InputError(path, str(exc), column=exc.column, hour=exc.hour)
    where = f" while reading {path}" if path else ""
    return InternalError(f"{exc}{where} (a bug in ocpagg, not in the input)")


def _push(aggregator: _kernel.DayAggregator, report_type: str) -> Callable[[pa.RecordBatch], None]:
    return getattr(aggregator, f"push_{report_type}")


class PipelineObserver(Protocol):
    """Told where a day's time went and what it read (``ocpagg.metrics.RunMetrics`` is one)."""

    def phase(self, name: str, seconds: float) -> None:
        """``list`` (folders, footers), ``read`` (waiting for the reader) or ``aggregate`` (kernel)."""

    def input_read(self, report_type: str, rows: int, compressed_bytes: int) -> None:
        """Rows of a report type pushed to the kernel for a day, and their row groups' compressed bytes."""


class _DayTally:
    """One day's read and aggregate seconds and rows pushed per report type."""

    def __init__(self) -> None:
        self.read = 0.0
        self.aggregate = 0.0
        self.rows: dict[str, int] = {}

    def waited(self, items: Iterator[T]) -> Iterator[T]:
        """``items``, adding the time spent waiting for each to ``read``; closes ``items`` when done."""
        try:
            while True:
                begun = time.monotonic()
                try:
                    item = next(items)
                except StopIteration:
                    return
                finally:
                    self.read += time.monotonic() - begun
                yield item
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def report(self, observer: PipelineObserver, day: dt.date, reports: dict[str, list[ReportFile]]) -> None:
        """Hand the day's figures to ``observer`` and start the next day from zero."""
        observer.phase("read", self.read)
        observer.phase("aggregate", self.aggregate)
        for report_type, files in reports.items():
            nbytes = sum(compressed_bytes(report, day) for report in files)
            observer.input_read(report_type, self.rows.get(report_type, 0), nbytes)
        self.read = self.aggregate = 0.0
        self.rows = {}


def iter_summary_batches(
    params: RunParameters,
    on_day: Callable[[dt.date], None] | None = None,
    observer: PipelineObserver | None = None,
) -> Iterator[tuple[dt.date, pa.RecordBatch]]:
    """(day, rows) for each day of the range, in order, with ocpagg.schema.KERNEL_SCHEMA.

    Memory holds one day's state at a time: the files' footers are read once per month, and
    each day reads only the row groups whose interval_start statistics may hold it. Reader
    threads decode the next row groups (a bounded number of bytes ahead) while the kernel
    aggregates the current one. ``observer`` is
    told, day by day, the seconds spent waiting for the reader and in the kernel, and what was read.
    """
    fs, base = filesystem_for(params.root, params.filesystem)
    config = kernel_config(params.reference)
    for year, month, days in month_ranges(params.start_date, params.end_date):
        listed = time.monotonic()
        files = list_month_entries(fs, base, params.account, params.source_uuid, year, month)
        reports: dict[str, list[ReportFile]] = open_month_reports(fs, files, days)
        if not reports["pod_usage"]:
            LOG.warning(
                "source %s %04d-%02d: no pod_usage files under %s; the range gets no rows",
                params.source_uuid,
                year,
                month,
                base,
            )
        LOG.info(
            "source %s %04d-%02d: %s",
            params.source_uuid,
            year,
            month,
            ", ".join(f"{len(v)} {k} files" for k, v in reports.items()),
        )
        if observer is not None:
            observer.phase("list", time.monotonic() - listed)
        aggregator: _kernel.DayAggregator | None = None
        tally = _DayTally()
        for day, report_type, report, batch in tally.waited(
            iter_month_batches(fs, reports, days, _PUSH_ORDER)
        ):
            begun = time.monotonic()
            if aggregator is None:
                set_day(day)
                aggregator = _kernel.DayAggregator(config, day)
            if report_type is not None and report is not None and batch is not None:
                try:
                    _push(aggregator, report_type)(batch)
                except _kernel.KernelError as exc:
                    raise kernel_error(report.path, exc) from exc
                tally.rows[report_type] = tally.rows.get(report_type, 0) + batch.num_rows
                tally.aggregate += time.monotonic() - begun
                continue
            try:
                rows = aggregator.finish(
                    report_period_id=params.report_period_id,
                    cluster_id=params.cluster_id,
                    cluster_alias=params.cluster_alias,
                    source_uuid=params.source_uuid,
                )
            except _kernel.KernelError as exc:
                raise kernel_error(None, exc) from exc
            tally.aggregate += time.monotonic() - begun
            aggregator = None
            release_free_heap()  # the day's state is gone: its pages go back before the next day's
            LOG.debug(
                "aggregated %s into %d rows",
                ", ".join(f"{n} {t} rows" for t, n in tally.rows.items()) or "no rows",
                rows.num_rows,
            )
            if observer is not None:
                tally.report(observer, day, reports)
            if on_day is not None:
                on_day(day)
            yield day, rows
            del rows  # the caller has the day's rows: this frame must not keep them through the next day


def summary_rows(batches: Iterable[pa.RecordBatch]) -> pa.Table:
    """The kernel's batches as one table in koku's insert columns (csi_volume_handle dropped)."""
    table = pa.Table.from_batches(list(batches), schema=KERNEL_SCHEMA)
    return table.select(SUMMARY_SCHEMA.names)


def summarize_table(
    root: str,
    *,
    account: str,
    source_uuid: str,
    start_date: dt.date,
    end_date: dt.date,
    report_period_id: int,
    cluster_id: str,
    cluster_alias: str | None = None,
    enabled_keys: Iterable[str] = (),
    cost_categories: Iterable[tuple[str, int]] = (),
    node_roles: Iterable[tuple[str, str, str]] = (),
) -> pa.Table:
    """koku's daily summary rows for a source and inclusive date range, with no database.

    ``enabled_keys`` are the enabled OCP keys of reporting_enabledtagkeys (vm_kubevirt_io_name is
    added when any is given), ``cost_categories`` the (LIKE pattern, id) pairs of
    reporting_ocp_cost_category_namespace, ``node_roles`` the (node, resource_id, node_role) rows of
    reporting_ocp_nodes. A range spanning months is computed month by month.
    """
    params = RunParameters(
        root=root,
        account=account,
        source_uuid=source_uuid,
        start_date=start_date,
        end_date=end_date,
        report_period_id=report_period_id,
        cluster_id=cluster_id,
        cluster_alias=cluster_alias,
        reference=ReferenceData(
            enabled_keys=tuple(enabled_keys),
            cost_categories=tuple(cost_categories),
            node_roles=tuple(node_roles),
        ),
    )
    return summary_rows(rows for _, rows in iter_summary_batches(params))
