"""What every database sink does: quoting, bound queries, koku's delete, the staged day-by-day write.

A run stages each day's rows in a temporary table of its transaction, then — only when the whole
range was read — applies koku's delete and moves the staged rows into the table, and commits. The
sinks know nothing of the run: ``ocpagg.run`` drives them.
"""

from __future__ import annotations

import abc
import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError, WriteError
from ..logs import get_logger
from ..params import RunParameters, next_month
from ..schema import SUMMARY_SCHEMA
from .seed import SUMMARY_TABLE

LOG = get_logger(__name__)

STAGE_TABLE = "ocpagg_summary_stage"

# numeric(33,15) holds at most 18 digits before the point.
NUMERIC_LIMIT = 1e18


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


def check_values(day: dt.date, batch: pa.RecordBatch, text_limits: dict[str, int]) -> None:
    """Refuse a day whose values koku's column types cannot hold, naming the day and the column.

    NUL characters in text, text longer than the column's varchar limit, numbers beyond
    numeric(33,15). The database would refuse them too, without naming the column.
    """
    for field in batch.schema:
        column = batch.column(field.name)
        if column.null_count == len(column):
            continue
        if pa.types.is_string(field.type):
            if pc.any(pc.match_substring(column, "\x00")).as_py():
                raise WriteError(
                    f"{day}: column {field.name} holds a NUL character", day=str(day), column=field.name
                )
            limit = text_limits.get(field.name)
            if limit is not None:
                longest = pc.max(pc.utf8_length(column)).as_py() or 0
                if longest > limit:
                    raise WriteError(
                        f"{day}: column {field.name} holds a value of {longest} characters "
                        f"(koku's column allows {limit})",
                        day=str(day),
                        column=field.name,
                    )
        elif pa.types.is_floating(field.type):
            largest = pc.max(pc.abs(column)).as_py()
            if largest is not None and largest >= NUMERIC_LIMIT:
                raise WriteError(
                    f"{day}: column {field.name} holds {largest:g}, beyond numeric(33,15)",
                    day=str(day),
                    column=field.name,
                )


class DatabaseSink(abc.ABC):
    """One database connection holding a run's transaction on a tenant's tables."""

    def __init__(self, connection: Any, *, owns_connection: bool, target: str = SUMMARY_TABLE) -> None:
        if getattr(connection, "_autocommit", False):
            raise ConfigError("the connection is in autocommit mode; a run needs its own transaction")
        self.connection = connection
        self.owns_connection = owns_connection
        self.target = target
        self._text_limits: dict[str, int] | None = None

    # ---- dialect ---------------------------------------------------------------------------------

    @abc.abstractmethod
    def table(self, name: str) -> str:
        """The quoted, qualified name of a table of the tenant."""

    @abc.abstractmethod
    def param(self, index: int) -> str:
        """The dialect's placeholder for the ``index``-th (1-based) bound value."""

    @abc.abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether the tenant has the table."""

    @abc.abstractmethod
    def text_limits(self) -> dict[str, int]:
        """The varchar length of each limited text column of the target table."""

    @abc.abstractmethod
    def timestamp(self, day: dt.date) -> Any:
        """A midnight-UTC timestamp value as the dialect binds it."""

    @abc.abstractmethod
    def open_stage(self) -> None:
        """Create the run's temporary staging table."""

    @abc.abstractmethod
    def stage(self, day: dt.date, batch: pa.RecordBatch) -> int:
        """Copy one day's rows (ocpagg.schema.KERNEL_SCHEMA) into the staging table; rows staged."""

    @abc.abstractmethod
    def insert_staged(self) -> int:
        """Move the staged rows into the target table, in koku's types; rows inserted."""

    # ---- statements ------------------------------------------------------------------------------

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

    @abc.abstractmethod
    def counted(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """Run an INSERT or DELETE; the exact number of rows it changed."""

    def placeholders(self, count: int) -> list[str]:
        return [self.param(i) for i in range(1, count + 1)]

    # ---- checks before anything is written --------------------------------------------------------

    def check_idle(self) -> None:  # noqa: B027 - dialects that can tell override it
        """Refuse a caller's connection that holds uncommitted work (it would be rolled back or committed)."""

    def check_tables(self) -> None:
        """The tables a run needs exist."""
        for name in (self.target, "reporting_ocpusagereportperiod"):
            if not self.has_table(name):
                raise ConfigError(f"no table {self.describe(name)} (run: ocpagg init-db{self.init_hint})")

    init_hint = ""

    def describe(self, name: str) -> str:
        """A table's name as a person reads it."""
        return f"{name} in the database"

    def report_period(self, report_period_id: int) -> tuple[str, str | None, str] | None:
        """(cluster_id, cluster_alias, provider uuid) of a report period, or None when it does not exist."""
        p = self.placeholders(1)
        rows = self.query(
            "SELECT cluster_id, cluster_alias, CAST(provider_id AS TEXT) "
            f"FROM {self.table('reporting_ocpusagereportperiod')} WHERE id = {p[0]}",
            [int(report_period_id)],
        )
        if not rows:
            return None
        cluster_id, alias, provider = rows[0]
        return str(cluster_id), (None if alias is None else str(alias)), str(provider)

    def report_period_for(self, source_uuid: str, cluster_id: str, month_start: dt.date) -> int | None:
        """The id of the source's and cluster's report period starting in ``month_start``'s month."""
        p = self.placeholders(4)
        rows = self.query(
            f"SELECT id FROM {self.table('reporting_ocpusagereportperiod')} "
            f"WHERE CAST(provider_id AS TEXT) = {p[0]} AND cluster_id = {p[1]} "
            f"AND report_period_start >= {p[2]} AND report_period_start < {p[3]} ORDER BY id",
            [
                str(source_uuid),
                cluster_id,
                self.timestamp(month_start.replace(day=1)),
                self.timestamp(next_month(month_start)),
            ],
        )
        return int(rows[0][0]) if rows else None

    def replaceable_days(self, params: RunParameters) -> list[dt.date]:
        """The days of the range holding rows that koku's delete would remove."""
        p = self.placeholders(3)
        rows = self.query(
            f"SELECT DISTINCT usage_start FROM {self.table(self.target)} "
            f"WHERE usage_start >= {p[0]} AND usage_start <= {p[1]} AND report_period_id = {p[2]} "
            "AND (infrastructure_raw_cost IS NULL OR infrastructure_raw_cost = 0)",
            self._range_values(params),
        )
        return sorted(v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)[:10]) for (v,) in rows)

    def _range_values(self, params: RunParameters) -> list[Any]:
        return [params.start_date, params.end_date, params.report_period_id]

    def check_day(self, day: dt.date, batch: pa.RecordBatch) -> None:
        """Refuse a day whose values koku's columns cannot hold."""
        if self._text_limits is None:
            self._text_limits = self.text_limits()
        check_values(day, batch, self._text_limits)

    # ---- the write -----------------------------------------------------------------------------------

    def prepare(self, params: RunParameters) -> None:  # noqa: B027 - partitioned dialects override it
        """Work done in short transactions of its own before the run's (partitions)."""

    def lock_run(self, params: RunParameters) -> None:  # noqa: B027 - dialects with locks override it
        """Keep two runs of the same table and report period from interleaving."""

    def delete(self, params: RunParameters) -> int:
        """koku's delete: the range's rows of the report period without OCP-on-cloud cost; rows deleted."""
        p = self.placeholders(3)
        deleted = self.counted(
            f"DELETE FROM {self.table(self.target)} "
            f"WHERE usage_start >= {p[0]} AND usage_start <= {p[1]} AND report_period_id = {p[2]} "
            "AND (infrastructure_raw_cost IS NULL OR infrastructure_raw_cost = 0)",
            self._range_values(params),
        )
        LOG.info(
            "deleted %d rows of report period %d from %s..%s",
            deleted,
            params.report_period_id,
            params.start_date,
            params.end_date,
        )
        return max(deleted, 0)

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

    # ---- registering what koku's MASU creates --------------------------------------------------------

    def register_report_period(
        self,
        *,
        report_period_id: int,
        source_uuid: str,
        cluster_id: str,
        cluster_alias: str | None,
        month_start: dt.date,
    ) -> bool:
        """Create the provider, cluster and report period as koku's MASU would; False when present.

        For the embedded database and on-prem use (``init-db --register-...``); ``summarize``
        never calls it. A report period id taken by another source or cluster is a ConfigError.
        """
        existing = self.report_period(report_period_id)
        if existing is not None:
            if existing[0] != cluster_id or existing[2] != source_uuid:
                raise ConfigError(
                    f"report period {report_period_id} belongs to cluster {existing[0]} "
                    f"of source {existing[2]}"
                )
            return False
        providers = self.table("reporting_tenant_api_provider")
        p = self.placeholders(6)
        if self.has_table("reporting_tenant_api_provider"):
            self.execute(
                f"INSERT INTO {providers} (uuid, name, type) SELECT {self._uuid(p[0])}, {p[1]}, 'OCP' "
                f"WHERE NOT EXISTS (SELECT 1 FROM {providers} WHERE CAST(uuid AS TEXT) = {p[2]})",
                [source_uuid, cluster_alias or cluster_id, source_uuid],
            )
        if self.has_table("reporting_ocp_clusters"):
            clusters = self.table("reporting_ocp_clusters")
            self.execute(
                f"INSERT INTO {clusters} (uuid, cluster_id, cluster_alias, provider_id) "
                f"SELECT {self._new_uuid()}, {p[0]}, {p[1]}, {self._uuid(p[2])} "
                f"WHERE NOT EXISTS (SELECT 1 FROM {clusters} WHERE cluster_id = {p[3]} "
                f"AND CAST(provider_id AS TEXT) = {p[4]})",
                [cluster_id, cluster_alias, source_uuid, cluster_id, source_uuid],
            )
        self.execute(
            f"INSERT INTO {self.table('reporting_ocpusagereportperiod')} (id, cluster_id, cluster_alias, "
            f"report_period_start, report_period_end, provider_id) "
            f"VALUES ({p[0]}, {p[1]}, {p[2]}, {p[3]}, {p[4]}, {self._uuid(p[5])})",
            [
                int(report_period_id),
                cluster_id,
                cluster_alias,
                self.timestamp(month_start),
                self.timestamp(next_month(month_start)),
                source_uuid,
            ],
        )
        self.after_explicit_id("reporting_ocpusagereportperiod")
        LOG.info("registered report period %d for cluster %s", report_period_id, cluster_id)
        return True

    def _uuid(self, placeholder: str) -> str:
        return placeholder

    @abc.abstractmethod
    def _new_uuid(self) -> str:
        """The dialect's expression for a fresh uuid value."""

    def after_explicit_id(self, table: str) -> None:  # noqa: B027 - serial sequences need it
        """Keep the table's id sequence past an id inserted explicitly."""


def summary_rows_of(batch: pa.RecordBatch) -> pa.Table:
    """A day's kernel rows in koku's insert columns."""
    return pa.Table.from_batches([batch]).select(SUMMARY_SCHEMA.names)
