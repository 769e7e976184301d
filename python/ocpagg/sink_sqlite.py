"""The embedded default: a SQLite file with koku's column names, written through ADBC."""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid as uuidlib
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .schema import SUMMARY_SCHEMA
from .sink import SUMMARY_TABLE, DatabaseSink, WriteError, one_line, quote_ident
from .sink_postgres import PLATFORM_CATEGORY, PLATFORM_NAMESPACES
from .summarize import RunParameters

LOG = logging.getLogger(__name__)

_EXTRA_SUMMARY_COLUMNS = (
    ("infrastructure_raw_cost", "NUMERIC"),
    ("infrastructure_project_raw_cost", "NUMERIC"),
    ("infrastructure_data_in_gigabytes", "NUMERIC"),
    ("infrastructure_data_out_gigabytes", "NUMERIC"),
    ("infrastructure_markup_cost", "NUMERIC"),
    ("infrastructure_project_markup_cost", "NUMERIC"),
    ("infrastructure_monthly_cost", "NUMERIC"),
    ("infrastructure_monthly_cost_json", "TEXT"),
    ("infrastructure_project_monthly_cost", "TEXT"),
    ("supplementary_usage_cost", "TEXT"),
    ("supplementary_monthly_cost", "NUMERIC"),
    ("supplementary_monthly_cost_json", "TEXT"),
    ("supplementary_project_monthly_cost", "TEXT"),
    ("cost_model_cpu_cost", "NUMERIC"),
    ("cost_model_memory_cost", "NUMERIC"),
    ("cost_model_volume_cost", "NUMERIC"),
    ("cost_model_gpu_cost", "NUMERIC"),
    ("cost_model_rate_type", "TEXT"),
    ("monthly_cost_type", "TEXT"),
    ("raw_currency", "TEXT"),
    ("distributed_cost", "NUMERIC"),
)


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
    summary_cols += [f"{quote_ident(n)} {t}" for n, t in _EXTRA_SUMMARY_COLUMNS]
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


class SqliteSink(DatabaseSink):
    """A SQLite file holding koku's tables (no schema: ``--schema`` only names the Parquet account)."""

    @classmethod
    def connect(cls, path: str) -> SqliteSink:
        import adbc_driver_sqlite.dbapi as sqlite

        if not os.path.exists(path):
            raise WriteError(f"no SQLite database {path} (run: ocpagg init-db --db sqlite:///{path})")
        try:
            connection = sqlite.connect(path)
        except Exception as exc:  # noqa: BLE001
            raise WriteError(f"cannot open SQLite database {path}: {one_line(exc)}") from exc
        return cls(connection, owns_connection=True)

    def table(self, name: str) -> str:
        return quote_ident(name)

    def param(self, index: int) -> str:
        return "?"

    def begin(self, params: RunParameters) -> int:
        if not self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [SUMMARY_TABLE]):
            raise WriteError(f"no table {SUMMARY_TABLE} in the SQLite database (run: ocpagg init-db)")
        self.ensure_report_period(params)
        self.execute(
            f"DELETE FROM {self.table(SUMMARY_TABLE)} "
            "WHERE usage_start >= ? AND usage_start <= ? AND report_period_id = ? "
            "AND (infrastructure_raw_cost IS NULL OR infrastructure_raw_cost = 0)",
            [params.start_date.isoformat(), params.end_date.isoformat(), params.report_period_id],
        )
        deleted = int(self.query("SELECT changes()")[0][0])
        LOG.info("deleted %d rows of report period %d", deleted, params.report_period_id)
        return max(deleted, 0)

    def write(self, day: dt.date, batch: pa.RecordBatch) -> int:
        if batch.num_rows == 0:
            return 0
        table = pa.Table.from_batches([batch]).select(SUMMARY_SCHEMA.names)
        ids = table.column("uuid")
        if ids.null_count:
            fresh = pa.array([str(uuidlib.uuid4()) for _ in range(table.num_rows)], pa.string())
            table = table.set_column(0, "uuid", pc.coalesce(ids, fresh))
        with self.connection.cursor() as cur:
            return cur.adbc_ingest(SUMMARY_TABLE, table, mode="append")

    def ensure_report_period(self, params: RunParameters) -> None:
        """Register the report period (and the source) when the file lacks it, as MASU would have."""
        if self.query("SELECT 1 FROM reporting_ocpusagereportperiod WHERE id = ?", [params.report_period_id]):
            return
        start = params.start_date.replace(day=1)
        end = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
        self.execute(
            "INSERT OR IGNORE INTO reporting_tenant_api_provider (uuid, name, type) VALUES (?, ?, 'OCP')",
            [params.source_uuid, params.cluster_alias or params.cluster_id],
        )
        self.execute(
            "INSERT INTO reporting_ocpusagereportperiod "
            "(id, cluster_id, cluster_alias, report_period_start, report_period_end, provider_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                params.report_period_id,
                params.cluster_id,
                params.cluster_alias,
                f"{start.isoformat()} 00:00:00+00:00",
                f"{end.isoformat()} 00:00:00+00:00",
                params.source_uuid,
            ],
        )
        LOG.info("registered report period %d for cluster %s", params.report_period_id, params.cluster_id)


def init_db(path: str) -> None:
    """Create the SQLite file's tables if missing and seed koku's default cost category."""
    import adbc_driver_sqlite.dbapi as sqlite

    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise WriteError(f"cannot create SQLite database {path}: no directory {parent}")
    connection: Any = sqlite.connect(path)
    sink = SqliteSink(connection, owns_connection=True)
    try:
        for statement in init_db_statements():
            sink.execute(statement)
        name, description, source_type = PLATFORM_CATEGORY
        sink.execute(
            "INSERT OR IGNORE INTO reporting_ocp_cost_category "
            "(name, description, source_type, system_default, label) VALUES (?, ?, ?, 1, '[]')",
            [name, description, source_type],
        )
        for pattern in PLATFORM_NAMESPACES:
            sink.execute(
                "INSERT OR IGNORE INTO reporting_ocp_cost_category_namespace (namespace, system_default, "
                "cost_category_id) SELECT ?, 1, id FROM reporting_ocp_cost_category WHERE name = ?",
                [pattern, name],
            )
        connection.commit()
    except Exception as exc:
        sink.rollback()
        raise WriteError(f"init-db {path}: {one_line(exc)}") from exc
    finally:
        sink.close()
