"""A summary run: check, read and aggregate the range, then replace koku's rows in one transaction.

The order is what makes a run safe for a billing table (SPEC §3):

1. open the database; refuse a caller's connection that holds uncommitted work;
2. read the tenant's reference rows and the report period; refuse a period that is missing or
   belongs to another source or cluster;
3. create missing monthly partitions in short transactions of their own (no lock held for the run);
4. stream every day through the kernel into a temporary staging table (and the hidden Hive
   staging folder) — any input error stops here, before anything is deleted;
5. refuse when a day whose rows koku's delete would remove got no pod rows from the input;
6. koku's delete, one INSERT from the staging table, commit; then publish the Hive days.

Any failure before the commit rolls back the run's own transaction: every table is as it was, and
the error says ``database_committed = False``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from .errors import ConfigError, InputError, OcpaggError, RefusedError, WriteError, outcome_of
from .layout import month_dir
from .logs import get_logger, run_context, set_day
from .memory import release_free_heap
from .params import RunParameters
from .refdata import read_reference_rows, with_derived_roles
from .sinks import DatabaseSink, one_line, open_sink
from .sinks.hive import HiveWriter
from .sinks.seed import SUMMARY_TABLE
from .storage import filesystem_for
from .summarize import iter_summary_batches

LOG = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a run wrote."""

    rows: int
    days: int
    deleted: int
    seconds: float
    rows_by_data_source: dict[str, int] = dataclasses.field(default_factory=dict)
    hive_partitions: tuple[str, ...] = ()
    missing_days: tuple[dt.date, ...] = ()

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


class RunObserver(Protocol):
    """Receives a run's phases and counts (metrics, logs); every method is optional to act on.

    Phases: ``list`` (reference rows, folders, footers), ``read`` (waiting for Parquet data),
    ``aggregate`` (the kernel), ``write`` (staging, delete, insert), ``commit``.
    """

    def phase(self, name: str, seconds: float) -> None: ...

    def input_read(self, report_type: str, rows: int, compressed_bytes: int) -> None: ...

    def day_done(self, day: dt.date, batch: pa.RecordBatch) -> None: ...

    def finish(self, outcome: str, seconds: float, result: RunResult | None) -> None:
        """The run ended: ``outcome`` is ``ocpagg.errors.outcome_of`` its error; ``result`` when ok."""


def check_report_period(sink: DatabaseSink, params: RunParameters) -> None:
    """Refuse a report period that does not exist or belongs to another source or cluster."""
    period = sink.report_period(params.report_period_id)
    if period is None:
        raise RefusedError(
            f"report period {params.report_period_id} does not exist; koku's MASU creates report periods "
            "(for a standalone database: ocpagg init-db --register-source ...)"
        )
    cluster_id, _, provider = period
    if provider != params.source_uuid:
        raise RefusedError(
            f"report period {params.report_period_id} belongs to source {provider}, not {params.source_uuid}"
        )
    if cluster_id != params.cluster_id:
        raise RefusedError(
            f"report period {params.report_period_id} belongs to cluster {cluster_id}, "
            f"not {params.cluster_id}"
        )


def target_table_for(shadow_table: str | None) -> str:
    """The table a run writes: koku's, or the shadow table named (never koku's under another role)."""
    if shadow_table is None:
        return SUMMARY_TABLE
    if not shadow_table.strip():
        raise ConfigError("the shadow table name is empty")
    if shadow_table == SUMMARY_TABLE:
        raise ConfigError(
            f"shadow table {shadow_table} is koku's table {SUMMARY_TABLE}: give the shadow table its own name"
        )
    return shadow_table


def check_input_root(root: str, filesystem: Any = None) -> None:
    """Refuse an input root (directory or bucket) that does not exist."""
    fs, base = filesystem_for(root, filesystem)
    try:
        exists = fs.exists(base)
    except Exception as exc:  # noqa: BLE001 - a storage failure names the root
        raise InputError(root, f"cannot read the input root ({one_line(exc)})") from exc
    if not exists:
        raise InputError(root, "the input root does not exist (no such directory or bucket)")


def _pod_prefix(params: RunParameters, day: dt.date) -> str:
    _, base = filesystem_for(params.root, params.filesystem)
    return month_dir(base, params.account, "pod_usage", params.source_uuid, day.year, day.month)


def _has_pod_rows(batch: pa.RecordBatch) -> bool:
    if batch.num_rows == 0:
        return False
    return bool(pc.any(pc.equal(batch.column("data_source"), "Pod")).as_py())


def _count_sources(batch: pa.RecordBatch, counts: dict[str, int]) -> None:
    if batch.num_rows == 0:
        return
    for entry in pc.value_counts(batch.column("data_source")).to_pylist():
        key = str(entry["values"])
        counts[key] = counts.get(key, 0) + int(entry["counts"])


def run_summary(
    params: RunParameters,
    *,
    db: Any | None,
    schema: str,
    hive_output: str | None = None,
    on_day: Callable[[dt.date], None] | None = None,
    allow_missing_days: bool = False,
    target_table: str = SUMMARY_TABLE,
    observer: RunObserver | None = None,
    hive_fs: Any = None,
    tracing_id: str | None = None,
) -> RunResult:
    """Summarize ``params`` into the database (and the Hive twin): koku's delete and insert, one transaction.

    ``db`` is a ``postgresql://`` URL, a libpq keyword string, a Django ``DATABASES`` entry, a
    ``sqlite:///path`` URL, or an open idle ADBC connection; ``None`` writes the Hive twin only.
    ``target_table`` names the table written (koku's, or a shadow table of the same shape). The
    reference rows of ``params`` are replaced by the database's. Raises OcpaggError subclasses
    (InputError, ConfigError, RefusedError, WriteError, InternalError), each with
    ``database_committed``: False means every table is exactly as before the run.

    Every record logged meanwhile carries ``schema``, ``source``, ``tracing_id`` and ``day``
    (``ocpagg.logs``); ``observer`` gets the phases, the counts and, last, ``finish``.
    """
    started = time.monotonic()
    with run_context(schema=schema, source=params.source_uuid, tracing_id=tracing_id):
        try:
            result = _run(
                params, db, schema, hive_output, on_day, allow_missing_days, target_table, observer, hive_fs
            )
        except BaseException as exc:
            if observer is not None:
                observer.finish(outcome_of(exc), time.monotonic() - started, None)
            raise
        if observer is not None:
            observer.finish(outcome_of(None), result.seconds, result)
        return result


def _run(
    params: RunParameters,
    db: Any | None,
    schema: str,
    hive_output: str | None,
    on_day: Callable[[dt.date], None] | None,
    allow_missing_days: bool,
    target_table: str,
    observer: RunObserver | None,
    hive_fs: Any,
) -> RunResult:
    """The run itself (see ``run_summary``)."""
    if db is None and hive_output is None:
        raise ConfigError("no output: give --db (or set OCPAGG_DATABASE_URL) or --hive-output")
    started = time.monotonic()
    committed = False
    sink: DatabaseSink | None = None
    hive: HiveWriter | None = None

    def phase(name: str, since: float) -> float:
        now = time.monotonic()
        if observer is not None:
            observer.phase(name, now - since)
        return now

    try:
        check_input_root(params.root, params.filesystem)
        sink = open_sink(db, schema, target=target_table) if db is not None else None
        hive = HiveWriter(hive_output, schema, params.source_uuid, hive_fs) if hive_output else None
        mark = time.monotonic()
        if sink is not None:
            try:
                sink.check_tables()
                reference, known = read_reference_rows(sink.query, sink.table, sink.param, params.source_uuid)
                check_report_period(sink, params)
            except OcpaggError:
                raise
            except Exception as exc:  # noqa: BLE001 - database errors become one-line WriteErrors
                raise WriteError(f"reading reference tables: {one_line(exc)}") from exc
            finally:
                sink.rollback()  # end the read transaction (ours: the connection was idle)
        else:
            reference, known = params.reference, bool(params.reference.node_roles)
        params = with_derived_roles(params, reference, known)
        mark = phase("list", mark)
        result = _write(params, sink, hive, on_day, allow_missing_days, observer, phase, mark)
        committed = sink is not None
        partitions: tuple[str, ...] = ()
        if hive is not None:
            partitions = tuple(hive.publish())
        result = dataclasses.replace(result, seconds=time.monotonic() - started, hive_partitions=partitions)
    except BaseException as exc:
        if sink is not None and not committed:
            sink.rollback()
        if hive is not None:
            hive.abort()
        if isinstance(exc, OcpaggError):
            exc.database_committed = committed
            raise
        if isinstance(exc, Exception):
            error = WriteError(one_line(exc))
            error.database_committed = committed
            raise error from exc
        raise
    finally:
        if sink is not None:
            sink.close()
    LOG.info(
        "source %s %s..%s: %d rows over %d days written (%d old rows deleted) in %.2fs",
        params.source_uuid,
        params.start_date,
        params.end_date,
        result.rows,
        result.days,
        result.deleted,
        result.seconds,
    )
    return result


def _write(
    params: RunParameters,
    sink: DatabaseSink | None,
    hive: HiveWriter | None,
    on_day: Callable[[dt.date], None] | None,
    allow_missing_days: bool,
    observer: RunObserver | None,
    phase: Callable[[str, float], float],
    mark: float,
) -> RunResult:
    """Stages 4–6 of the run: stream the days, check, replace, commit."""
    rows = days = deleted = 0
    counts: dict[str, int] = {}
    pod_days: set[dt.date] = set()
    if sink is not None:
        sink.prepare(params)
        sink.lock_run(params)
        sink.open_stage()
    write_seconds = 0.0
    for day, batch in iter_summary_batches(params, on_day=on_day, observer=observer):
        set_day(day)
        begun = time.monotonic()
        if sink is not None:
            sink.check_day(day, batch)
            staged = sink.stage(day, batch)
            if staged != batch.num_rows:
                raise WriteError(f"{day}: {staged} of {batch.num_rows} rows staged", day=str(day))
        if hive is not None:
            hive.write(day, batch)
        write_seconds += time.monotonic() - begun
        if _has_pod_rows(batch):
            pod_days.add(day)
        _count_sources(batch, counts)
        rows += batch.num_rows
        days += 1
        if observer is not None:
            observer.day_done(day, batch)
        LOG.debug("%d summary rows staged", batch.num_rows)
        del batch  # staged: not kept while the next day is aggregated
        release_free_heap()
    set_day(None)
    missing: tuple[dt.date, ...] = ()
    if sink is not None:
        missing = tuple(d for d in sink.replaceable_days(params) if d not in pod_days)
        if missing and not allow_missing_days:
            first = missing[0]
            raise RefusedError(
                f"{first}: the table holds rows of report period {params.report_period_id} for this day but "
                f"the input has no pod_usage rows for it under {_pod_prefix(params, first)}"
                + (
                    f" ({len(missing)} such days: {', '.join(str(d) for d in missing[:5])}"
                    f"{' ...' if len(missing) > 5 else ''})"
                    if len(missing) > 1
                    else ""
                )
                + "; nothing was deleted (pass --allow-missing-days / allow_missing_days=True to replace "
                "them with nothing)"
            )
        if missing:
            LOG.warning(
                "%d days have rows in the table but no pod_usage input; their rows are deleted "
                "(allow_missing_days): %s",
                len(missing),
                ", ".join(str(d) for d in missing),
            )
        begun = time.monotonic()
        deleted = sink.delete(params)
        inserted = sink.insert_staged()
        if inserted != rows:
            raise WriteError(f"{inserted} of {rows} rows inserted")
        write_seconds += time.monotonic() - begun
        if observer is not None:
            observer.phase("write", write_seconds)
        mark = time.monotonic()
        sink.commit()
        mark = phase("commit", mark)
    elif observer is not None:
        observer.phase("write", write_seconds)
    return RunResult(
        rows=rows,
        days=days,
        deleted=deleted,
        seconds=0.0,
        rows_by_data_source=counts,
        missing_days=missing,
    )
