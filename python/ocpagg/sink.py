"""Writing a run's rows to a database (and the optional Hive twin) in one transaction.

``run_summary`` is the job around the kernel: read the tenant's reference rows, open the
transaction, apply koku's delete, stream each day's rows into the table, commit. Any failure rolls
the transaction back, so the table is as it was before the run.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from .errors import ConfigError, OcpaggError
from .refdata import read_reference_rows, with_derived_roles
from .summarize import ReferenceData, RunParameters, iter_summary_batches

LOG = logging.getLogger(__name__)

SUMMARY_TABLE = "reporting_ocpusagelineitem_daily_summary"


class WriteError(OcpaggError):
    """The database refused or lost the rows; the run was rolled back."""


def quote_ident(name: str) -> str:
    """A SQL identifier in double quotes, embedded quotes doubled."""
    if "\x00" in name:
        raise ConfigError("identifier contains a NUL character")
    return '"' + name.replace('"', '""') + '"'


_QUERY_ECHO = re.compile(r"Failed to (?:execute|prepare) query '.*'(?:: |$)", re.DOTALL)


def one_line(exc: BaseException) -> str:
    """The first meaningful line of an exception's message (without the SQL a driver echoes)."""
    text = str(exc).strip() or type(exc).__name__
    text = _QUERY_ECHO.sub("", text.split("\nQuery was:", 1)[0])
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What a run wrote."""

    rows: int
    days: int
    deleted: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


class DatabaseSink(abc.ABC):
    """One database connection holding a run's transaction."""

    def __init__(self, connection: Any, *, owns_connection: bool) -> None:
        if getattr(connection, "_autocommit", False):
            raise ConfigError("the connection is in autocommit mode; a run needs its own transaction")
        self.connection = connection
        self.owns_connection = owns_connection

    @abc.abstractmethod
    def table(self, name: str) -> str:
        """The quoted, qualified name of a table of the tenant."""

    @abc.abstractmethod
    def param(self, index: int) -> str:
        """The dialect's placeholder for the ``index``-th (1-based) bound value."""

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a statement with bound values."""
        with self.connection.cursor() as cur:
            cur.execute(sql, parameters=list(parameters) if parameters else None)
            return cur.fetchall()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """Run a statement with bound values; its row count (-1 when unknown)."""
        with self.connection.cursor() as cur:
            cur.execute(sql, parameters=list(parameters) if parameters else None)
            return cur.rowcount

    def reference(self, source_uuid: str) -> tuple[ReferenceData, bool]:
        """The tenant's reference rows and whether reporting_ocp_nodes knows the source's nodes."""
        return read_reference_rows(self.query, self.table, self.param, source_uuid)

    @abc.abstractmethod
    def begin(self, params: RunParameters) -> int:
        """Prepare the table for the run inside the transaction and apply koku's delete; rows deleted."""

    @abc.abstractmethod
    def write(self, day: dt.date, batch: pa.RecordBatch) -> int:
        """Add one day's rows (ocpagg.schema.KERNEL_SCHEMA) to the transaction; rows written."""

    def finish(self) -> None:  # noqa: B027 - optional hook
        """Flush anything buffered before the commit."""

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        try:
            self.connection.rollback()
        except Exception as exc:  # noqa: BLE001 - the connection may be gone; the server rolls back
            LOG.info("rollback failed (%s); the server discards the open transaction", one_line(exc))

    def close(self) -> None:
        if self.owns_connection:
            try:
                self.connection.close()
            except Exception as exc:  # noqa: BLE001 - closing a dead connection is not an error of the run
                LOG.debug("closing the connection failed: %s", one_line(exc))


def parse_db_url(url: str) -> tuple[str, str]:
    """('postgresql', url) or ('sqlite', path) from ``postgresql://…`` or ``sqlite:///path``."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql", url
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise ConfigError(f"bad SQLite URL {url!r}: use sqlite:///relative/path or sqlite:////abs/path")
        path = rest[1:]
        if not path:
            raise ConfigError(f"bad SQLite URL {url!r}: no file path")
        return "sqlite", path
    raise ConfigError(f"unsupported database URL {url.split('://', 1)[0]!r}: use postgresql:// or sqlite:///")


def open_sink(db: Any, schema: str) -> DatabaseSink:
    """The sink for a database URL or an open ADBC connection (PostgreSQL or SQLite)."""
    if isinstance(db, str):
        kind, target = parse_db_url(db)
        if kind == "postgresql":
            from .sink_postgres import PostgresSink

            return PostgresSink.connect(target, schema)
        from .sink_sqlite import SqliteSink

        return SqliteSink.connect(target)
    vendor = str(db.adbc_get_info().get("vendor_name", "")).lower()
    if "postgres" in vendor:
        from .sink_postgres import PostgresSink

        return PostgresSink(db, schema, owns_connection=False)
    if "sqlite" in vendor:
        from .sink_sqlite import SqliteSink

        return SqliteSink(db, owns_connection=False)
    raise ConfigError(f"unsupported ADBC connection to {vendor or 'an unknown database'}")


def run_summary(
    params: RunParameters,
    *,
    db: Any | None,
    schema: str,
    hive_output: str | None = None,
    on_day: Callable[[dt.date], None] | None = None,
) -> RunResult:
    """Summarize ``params`` into the database (and the Hive twin) in one transaction.

    ``db`` is a URL (``postgresql://…``, ``sqlite:///path``) or an open ADBC connection; ``None``
    writes the Hive twin only. The reference rows of ``params`` are replaced by the database's.
    Raises OcpaggError subclasses (InputError, ConfigError, WriteError); on any error nothing is written.
    """
    from .hive import HiveWriter

    if db is None and hive_output is None:
        raise ConfigError("no output: give --db (or set OCPAGG_DATABASE_URL) or --hive-output")
    started = time.monotonic()
    sink = open_sink(db, schema) if db is not None else None
    hive = HiveWriter(hive_output, schema, params.source_uuid) if hive_output else None
    rows = days = deleted = 0
    try:
        if sink is not None:
            try:
                reference, known = sink.reference(params.source_uuid)
            except OcpaggError:
                raise
            except Exception as exc:  # noqa: BLE001 - database errors become one-line WriteErrors
                sink.rollback()
                raise WriteError(f"reading reference tables: {one_line(exc)}") from exc
            sink.rollback()  # end the read transaction: its snapshot must not serve the write
        else:
            reference, known = params.reference, bool(params.reference.node_roles)
        reference = with_derived_roles(
            reference,
            known,
            root=params.root,
            account=params.account,
            source_uuid=params.source_uuid,
            start_date=params.start_date,
            end_date=params.end_date,
        )
        params = dataclasses.replace(params, reference=reference)
        try:
            if sink is not None:
                deleted = sink.begin(params)
            for day, batch in iter_summary_batches(params, on_day=on_day):
                if sink is not None:
                    written = sink.write(day, batch)
                    if written != batch.num_rows:
                        raise WriteError(f"{day}: {written} of {batch.num_rows} rows written")
                if hive is not None:
                    hive.write(day, batch)
                rows += batch.num_rows
                days += 1
            if sink is not None:
                sink.finish()
                sink.commit()
        except OcpaggError:
            if sink is not None:
                sink.rollback()
            raise
        except Exception as exc:  # noqa: BLE001 - database errors become one-line WriteErrors
            if sink is not None:
                sink.rollback()
            raise WriteError(one_line(exc)) from exc
    except BaseException:
        if hive is not None:
            hive.abort()
        raise
    finally:
        if sink is not None:
            sink.close()
    if hive is not None:
        hive.commit()
    result = RunResult(rows=rows, days=days, deleted=deleted, seconds=time.monotonic() - started)
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


def as_date(value: dt.date | dt.datetime | str) -> dt.date:
    """A date from a date, a datetime or an ISO string (koku passes all three)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.datetime.fromisoformat(str(value)).date()
    except ValueError as exc:
        raise ConfigError(f"not a date: {value!r}") from exc


def populate_line_item_daily_summary_table(
    connection: Any,
    schema: str,
    start_date: dt.date | dt.datetime | str,
    end_date: dt.date | dt.datetime | str,
    report_period_id: int,
    cluster_id: str,
    cluster_alias: str | None,
    source: Any,
    *,
    root: str | None = None,
    hive_output: str | None = None,
) -> RunResult:
    """koku's populate_line_item_daily_summary_table_trino, for MASU: delete and insert in one transaction.

    ``connection`` is an ADBC connection (adbc_driver_postgresql / adbc_driver_sqlite) or a database URL;
    ``root`` is the Parquet root (``s3://bucket`` or a directory), by default koku's bucket,
    ``s3://$S3_BUCKET_NAME``. The connection must not be in autocommit mode nor hold uncommitted
    work: the run rolls back or commits its own transaction.
    """
    from .layout import account_from_schema

    if root is None:
        bucket = os.environ.get("S3_BUCKET_NAME")
        if not bucket:
            raise ConfigError("no Parquet root: pass root= or set S3_BUCKET_NAME (koku's bucket)")
        root = f"s3://{bucket}"
    params = RunParameters(
        root=root,
        account=account_from_schema(schema),
        source_uuid=str(source),
        start_date=as_date(start_date),
        end_date=as_date(end_date),
        report_period_id=int(report_period_id),
        cluster_id=cluster_id,
        cluster_alias=cluster_alias,
    )
    return run_summary(params, db=connection, schema=schema, hive_output=hive_output)
