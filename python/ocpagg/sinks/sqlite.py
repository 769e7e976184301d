"""The embedded default: a SQLite file with koku's column names, written through ADBC."""

from __future__ import annotations

import datetime as dt
import os
import uuid as uuidlib
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import WriteError
from ..logs import get_logger
from ..schema import SUMMARY_SCHEMA
from .base import STAGE_TABLE, DatabaseSink, one_line, quote_ident, summary_rows_of
from .seed import COST_COLUMNS, SUMMARY_TABLE

LOG = get_logger(__name__)

_KIND_TYPES = {"numeric": "NUMERIC", "json": "TEXT", "text": "TEXT"}


def _sqlite_type(t: pa.DataType) -> str:
    if pa.types.is_floating(t):
        return "REAL"
    if pa.types.is_integer(t):
        return "INTEGER"
    if pa.types.is_date(t):
        return "DATE"
    return "TEXT"


def init_db_statements() -> list[str]:
    """koku's tables ocpagg uses, in SQLite types (dates as ISO text, JSON as text), if missing."""
    summary_cols = [
        f"{quote_ident(f.name)} {_sqlite_type(f.type)}"
        + (" NOT NULL" if f.name in ("uuid", "usage_start", "usage_end") else "")
        for f in SUMMARY_SCHEMA
    ]
    summary_cols += [f"{quote_ident(n)} {_KIND_TYPES[kind]}" for n, kind in COST_COLUMNS]
    summary_cols.append("PRIMARY KEY (usage_start, uuid)")
    body = ",\n    ".join(summary_cols)
    return [
        """CREATE TABLE IF NOT EXISTS reporting_tenant_api_provider (
    uuid TEXT PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, provider_id TEXT)""",
        """CREATE TABLE IF NOT EXISTS reporting_ocpusagereportperiod (
    id INTEGER PRIMARY KEY, cluster_id TEXT NOT NULL, cluster_alias TEXT,
    report_period_start TEXT NOT NULL, report_period_end TEXT NOT NULL,
    summary_data_creation_datetime TEXT, summary_data_updated_datetime TEXT,
    ocp_on_cloud_updated_datetime TEXT, derived_cost_datetime TEXT,
    provider_id TEXT NOT NULL REFERENCES reporting_tenant_api_provider (uuid),
    UNIQUE (cluster_id, report_period_start, provider_id))""",
        """CREATE TABLE IF NOT EXISTS reporting_ocp_cost_category (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL,
    source_type TEXT NOT NULL, system_default BOOLEAN NOT NULL DEFAULT 0,
    label TEXT NOT NULL DEFAULT '[]')""",
        """CREATE TABLE IF NOT EXISTS reporting_ocp_cost_category_namespace (
    id INTEGER PRIMARY KEY, namespace TEXT NOT NULL UNIQUE, system_default BOOLEAN NOT NULL DEFAULT 0,
    cost_category_id INTEGER NOT NULL REFERENCES reporting_ocp_cost_category (id))""",
        """CREATE TABLE IF NOT EXISTS reporting_enabledtagkeys (
    uuid TEXT PRIMARY KEY, key TEXT NOT NULL, enabled BOOLEAN NOT NULL DEFAULT 1,
    provider_type TEXT NOT NULL, UNIQUE (key, provider_type))""",
        """CREATE TABLE IF NOT EXISTS reporting_ocp_clusters (
    uuid TEXT PRIMARY KEY, cluster_id TEXT NOT NULL, cluster_alias TEXT,
    provider_id TEXT NOT NULL REFERENCES reporting_tenant_api_provider (uuid))""",
        """CREATE TABLE IF NOT EXISTS reporting_ocp_nodes (
    uuid TEXT PRIMARY KEY, node TEXT NOT NULL, resource_id TEXT, node_capacity_cpu_cores NUMERIC,
    cluster_id TEXT NOT NULL REFERENCES reporting_ocp_clusters (uuid),
    node_role TEXT, architecture TEXT)""",
        f"CREATE TABLE IF NOT EXISTS {SUMMARY_TABLE} (\n    {body})",
        f"CREATE INDEX IF NOT EXISTS summary_ocp_usage_idx ON {SUMMARY_TABLE} (usage_start)",
    ]


def connect(path: str, *, create: bool = False) -> Any:
    """An ADBC SQLite connection to an existing file (or a new one with ``create``)."""
    import adbc_driver_sqlite.dbapi as sqlite

    parent = os.path.dirname(os.path.abspath(path))
    if create and not os.path.isdir(parent):
        raise WriteError(f"cannot create SQLite database {path}: no directory {parent}")
    if not create and not os.path.exists(path):
        raise WriteError(f"no SQLite database {path} (run: ocpagg init-db --db sqlite:///{path})")
    try:
        return sqlite.connect(path)
    except Exception as exc:  # noqa: BLE001
        raise WriteError(f"cannot open SQLite database {path}: {one_line(exc)}") from exc


class SqliteSink(DatabaseSink):
    """A SQLite file holding koku's tables (no schema: ``--schema`` only names the Parquet account)."""

    @classmethod
    def connect(cls, path: str, *, target: str = SUMMARY_TABLE) -> SqliteSink:
        return cls(connect(path), owns_connection=True, target=target)

    def table(self, name: str) -> str:
        return quote_ident(name)

    def param(self, index: int) -> str:
        return "?"

    def counted(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        self.execute(sql, parameters)
        return int(self.query("SELECT changes()")[0][0])

    def has_table(self, name: str) -> bool:
        return bool(self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]))

    def text_limits(self) -> dict[str, int]:
        return {}  # SQLite text has no length limit

    def timestamp(self, day: dt.date) -> Any:
        return f"{day.isoformat()} 00:00:00+00:00"

    def _new_uuid(self) -> str:
        return "lower(hex(randomblob(16)))"

    def _range_values(self, params: Any) -> list[Any]:
        return [params.start_date.isoformat(), params.end_date.isoformat(), params.report_period_id]

    def open_stage(self) -> None:
        columns = ", ".join(f"{quote_ident(f.name)} {_sqlite_type(f.type)}" for f in SUMMARY_SCHEMA)
        self.execute(f"CREATE TEMPORARY TABLE {quote_ident(STAGE_TABLE)} ({columns})")

    def stage(self, day: dt.date, batch: pa.RecordBatch) -> int:
        if batch.num_rows == 0:
            return 0
        table = summary_rows_of(batch)
        ids = table.column("uuid")
        if ids.null_count:
            fresh = pa.array([str(uuidlib.uuid4()) for _ in range(table.num_rows)], pa.string())
            table = table.set_column(0, "uuid", pc.coalesce(ids, fresh))
        with self.connection.cursor() as cur:
            cur.adbc_ingest(STAGE_TABLE, table, mode="append", temporary=True)
        return table.num_rows

    def insert_staged(self) -> int:
        names = ", ".join(quote_ident(n) for n in SUMMARY_SCHEMA.names)
        stage = f"temp.{quote_ident(STAGE_TABLE)}"
        target = self.table(self.target)
        inserted = self.counted(f"INSERT INTO {target} ({names}) SELECT {names} FROM {stage}")
        self.execute(f"DROP TABLE temp.{quote_ident(STAGE_TABLE)}")
        return inserted
