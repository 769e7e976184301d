"""koku's PostgreSQL table as the sink: monthly partitions, koku's delete, COPY through ADBC.

Each day's rows are COPYed (ADBC bulk ingestion, binary) into a temporary staging table whose
columns are the kernel's Arrow types, then moved into the real table with one INSERT … SELECT that
casts to koku's types (uuid, numeric(33,15), jsonb). Everything happens in the run's transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pyarrow as pa

from .errors import ConfigError
from .schema import SUMMARY_SCHEMA
from .sink import SUMMARY_TABLE, DatabaseSink, WriteError, one_line, quote_ident
from .summarize import ReferenceData, RunParameters, month_ranges

LOG = logging.getLogger(__name__)

STAGE_TABLE = "ocpagg_summary_stage"

_NUMERIC = "numeric(33,15)"


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_date(t):
        return "date"
    return "text"


# How each staged column becomes koku's column type.
_CASTS: dict[str, str] = {
    "uuid": "coalesce(CAST(s.uuid AS uuid), gen_random_uuid())",
    "report_period_id": "CAST(s.report_period_id AS integer)",
    "cost_category_id": "CAST(s.cost_category_id AS integer)",
    "source_uuid": "CAST(s.source_uuid AS uuid)",
}
for _field in SUMMARY_SCHEMA:
    if _field.name in _CASTS:
        continue
    if pa.types.is_floating(_field.type):
        # float8 → text is the shortest exact representation (extra_float_digits > 0), rounded to scale 15.
        _CASTS[_field.name] = f"CAST(CAST(s.{quote_ident(_field.name)} AS text) AS {_NUMERIC})"
    elif _field.name.endswith("_labels") or _field.name == "infrastructure_usage_cost":
        _CASTS[_field.name] = f"CAST(s.{quote_ident(_field.name)} AS jsonb)"
    else:
        _CASTS[_field.name] = f"s.{quote_ident(_field.name)}"


def partition_name(month_start: dt.date) -> str:
    """koku's name of a monthly partition of the daily summary table."""
    return f"{SUMMARY_TABLE}_{month_start:%Y_%m}"


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


class PostgresSink(DatabaseSink):
    """A tenant schema of koku's PostgreSQL database."""

    def __init__(self, connection: Any, schema: str, *, owns_connection: bool) -> None:
        super().__init__(connection, owns_connection=owns_connection)
        if not schema:
            raise ConfigError("no schema given")
        self.schema = schema
        self._stage_ready = False
        self._staged = 0

    @classmethod
    def connect(cls, url: str, schema: str) -> PostgresSink:
        import adbc_driver_postgresql.dbapi as pg

        try:
            connection = pg.connect(url)
        except Exception as exc:  # noqa: BLE001 - connection failures become one line
            raise WriteError(f"cannot connect to PostgreSQL: {one_line(exc)}") from exc
        return cls(connection, schema, owns_connection=True)

    def table(self, name: str) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(name)}"

    def param(self, index: int) -> str:
        return f"${index}"

    def _require_schema(self) -> None:
        rows = self.query(
            "SELECT to_regclass($1) IS NOT NULL",
            [self.table(SUMMARY_TABLE)],
        )
        if not rows or not rows[0][0]:
            raise ConfigError(f"no table {self.schema}.{SUMMARY_TABLE} (run: ocpagg init-db --schema ...)")

    def reference(self, source_uuid: str) -> tuple[ReferenceData, bool]:
        self._require_schema()
        return super().reference(source_uuid)

    # ---- the transaction -------------------------------------------------------------------------

    def begin(self, params: RunParameters) -> int:
        self._require_schema()
        self.execute("SET LOCAL extra_float_digits = 3")
        # One run per tenant table and report period at a time; the lock ends with the transaction.
        self.query(
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            [f"ocpagg:{self.schema}:{params.report_period_id}"],
        )
        for year, month, _ in month_ranges(params.start_date, params.end_date):
            self.ensure_partition(dt.date(year, month, 1))
        self.ensure_report_period(params)
        deleted = int(
            self.query(
                f"WITH gone AS (DELETE FROM {self.table(SUMMARY_TABLE)} "
                "WHERE usage_start >= $1 AND usage_start <= $2 AND report_period_id = $3 "
                "AND (infrastructure_raw_cost IS NULL OR infrastructure_raw_cost = 0) RETURNING 1) "
                "SELECT count(*) FROM gone",
                [params.start_date, params.end_date, params.report_period_id],
            )[0][0]
        )
        LOG.info(
            "deleted %d rows of report period %d from %s..%s",
            deleted,
            params.report_period_id,
            params.start_date,
            params.end_date,
        )
        columns = ", ".join(f"{quote_ident(f.name)} {_pg_type(f.type)}" for f in SUMMARY_SCHEMA)
        self.execute(f"CREATE TEMPORARY TABLE {quote_ident(STAGE_TABLE)} ({columns}) ON COMMIT DROP")
        self._stage_ready = True
        return max(deleted, 0)

    def write(self, day: dt.date, batch: pa.RecordBatch) -> int:
        if not self._stage_ready:
            raise WriteError("write before begin")
        if batch.num_rows == 0:
            return 0
        rows = pa.Table.from_batches([batch]).select(SUMMARY_SCHEMA.names)
        with self.connection.cursor() as cur:
            cur.adbc_ingest(STAGE_TABLE, rows, mode="append", temporary=True)
        names = ", ".join(quote_ident(n) for n in SUMMARY_SCHEMA.names)
        values = ", ".join(_CASTS[n] for n in SUMMARY_SCHEMA.names)
        inserted = self.execute(
            f"INSERT INTO {self.table(SUMMARY_TABLE)} ({names}) "
            f"SELECT {values} FROM pg_temp.{quote_ident(STAGE_TABLE)} AS s"
        )
        self.execute(f"TRUNCATE pg_temp.{quote_ident(STAGE_TABLE)}")
        return inserted

    # ---- partitions and report periods -----------------------------------------------------------

    def ensure_partition(self, month_start: dt.date) -> None:
        """Create the month's partition as koku does when no partition holds the month.

        Rows of that month already in the default partition are moved into the new partition, and
        koku's partitioned_tables tracking row is added when the schema has that table.
        """
        parent = self.table(SUMMARY_TABLE)
        name = partition_name(month_start)
        upper = _next_month(month_start)
        bound = f"FOR VALUES FROM ('{month_start.isoformat()}') TO ('{upper.isoformat()}')"
        kind = self.query("SELECT c.relkind FROM pg_class c WHERE c.oid = CAST($1 AS regclass)", [parent])
        if kind and kind[0][0] != "p":
            return  # not partitioned: nothing to create

        def existing() -> list[tuple[str, str]]:
            return self.query(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST($1 AS regclass)",
                [parent],
            )

        def present(partitions: list[tuple[str, str]]) -> bool:
            return any(relname == name or expr == bound for relname, expr in partitions)

        if present(existing()):
            return
        # Runs of other report periods may need the same partition: create it under a schema-wide lock
        # (held to the end of the transaction), looking again once we hold it.
        self.query("SELECT pg_advisory_xact_lock(hashtext($1))", [f"ocpagg-partitions:{self.schema}"])
        partitions = existing()
        if present(partitions):
            return
        default = [relname for relname, expr in partitions if expr == "DEFAULT"]
        target = self.table(name)
        in_default = 0
        if default:
            rows = self.query(
                f"SELECT count(*) FROM {self.table(default[0])} WHERE usage_start >= $1 AND usage_start < $2",
                [month_start, upper],
            )
            in_default = int(rows[0][0])
        if in_default:
            # koku's move: a detached table takes the month's rows from the default partition, then attaches.
            self.execute(f"CREATE TABLE {target} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            self.execute(
                f"WITH moved AS (DELETE FROM {self.table(default[0])} "
                f"WHERE usage_start >= '{month_start.isoformat()}' AND usage_start < '{upper.isoformat()}' "
                f"RETURNING *) INSERT INTO {target} SELECT * FROM moved"
            )
            self.execute(f"ALTER TABLE {parent} ATTACH PARTITION {target} {bound}")
        else:
            self.execute(f"CREATE TABLE {target} PARTITION OF {parent} {bound}")
        LOG.info(
            "created partition %s.%s (%d rows moved from the default partition)",
            self.schema,
            name,
            in_default,
        )
        tracking = self.query("SELECT to_regclass($1) IS NOT NULL", [self.table("partitioned_tables")])
        if tracking and tracking[0][0]:
            self.execute(
                f"INSERT INTO {self.table('partitioned_tables')} (schema_name, table_name, "
                "partition_of_table_name, partition_type, partition_col, partition_parameters, active) "
                "SELECT $1, $2, $3, 'range', 'usage_start', CAST($4 AS jsonb), true "
                f"WHERE NOT EXISTS (SELECT 1 FROM {self.table('partitioned_tables')} "
                "WHERE schema_name = $1 AND table_name = $2)",
                [
                    self.schema,
                    name,
                    SUMMARY_TABLE,
                    f'{{"default": false, "from": "{month_start.isoformat()}", "to": "{upper.isoformat()}"}}',
                ],
            )

    def ensure_report_period(self, params: RunParameters) -> None:
        """Register the report period (and the source as tenant provider) when the schema lacks it.

        koku's MASU creates both before summarizing; a standalone run after ``init-db`` has neither.
        """
        periods = self.table("reporting_ocpusagereportperiod")
        if self.query(f"SELECT 1 FROM {periods} WHERE id = $1", [params.report_period_id]):
            return
        month_start = params.start_date.replace(day=1)
        providers = self.table("reporting_tenant_api_provider")
        has_providers = self.query("SELECT to_regclass($1) IS NOT NULL", [providers])
        if has_providers and has_providers[0][0]:
            self.execute(
                f"INSERT INTO {providers} (uuid, name, type) SELECT CAST($1 AS uuid), $2, 'OCP' "
                f"WHERE NOT EXISTS (SELECT 1 FROM {providers} WHERE uuid = CAST($1 AS uuid))",
                [params.source_uuid, params.cluster_alias or params.cluster_id],
            )
        self.execute(
            f"INSERT INTO {periods} (id, cluster_id, cluster_alias, report_period_start, report_period_end, "
            "provider_id) VALUES ($1, $2, $3, $4, $5, CAST($6 AS uuid))",
            [
                params.report_period_id,
                params.cluster_id,
                params.cluster_alias,
                dt.datetime.combine(month_start, dt.time(), tzinfo=dt.UTC),
                dt.datetime.combine(_next_month(month_start), dt.time(), tzinfo=dt.UTC),
                params.source_uuid,
            ],
        )
        self.query(
            f"SELECT setval(pg_get_serial_sequence($1, 'id'), (SELECT max(id) FROM {periods}))",
            [periods],
        )
        LOG.info("registered report period %d for cluster %s", params.report_period_id, params.cluster_id)


# ---- init-db ---------------------------------------------------------------------------------------

_NUM = "numeric(33,15)"


def _summary_columns() -> list[str]:
    # The summary's measures, then koku's cost columns that ocpagg never fills.
    numeric = [
        *(f.name for f in SUMMARY_SCHEMA if pa.types.is_floating(f.type)),
        "infrastructure_raw_cost",
        "infrastructure_project_raw_cost",
        "infrastructure_data_in_gigabytes",
        "infrastructure_data_out_gigabytes",
        "infrastructure_markup_cost",
        "infrastructure_project_markup_cost",
        "infrastructure_monthly_cost",
        "supplementary_monthly_cost",
        "cost_model_cpu_cost",
        "cost_model_memory_cost",
        "cost_model_volume_cost",
        "cost_model_gpu_cost",
        "distributed_cost",
    ]
    jsonb = [
        "pod_labels",
        "volume_labels",
        "all_labels",
        "infrastructure_usage_cost",
        "infrastructure_monthly_cost_json",
        "infrastructure_project_monthly_cost",
        "supplementary_usage_cost",
        "supplementary_monthly_cost_json",
        "supplementary_project_monthly_cost",
    ]
    return [
        "uuid uuid NOT NULL",
        "report_period_id integer NULL",
        "cost_category_id integer NULL",
        "cluster_id varchar(50) NULL",
        "cluster_alias varchar(256) NULL",
        "data_source varchar(64) NULL",
        "namespace varchar(253) NULL",
        "node varchar(253) NULL",
        "resource_id varchar(253) NULL",
        "usage_start date NOT NULL",
        "usage_end date NOT NULL",
        "persistentvolumeclaim varchar(253) NULL",
        "persistentvolume varchar(253) NULL",
        "storageclass varchar(253) NULL",
        "cost_model_rate_type text NULL",
        "monthly_cost_type text NULL",
        "source_uuid uuid NULL",
        "raw_currency text NULL",
        *(f"{c} {_NUM} NULL" for c in numeric),
        *(f"{c} jsonb NULL" for c in jsonb),
    ]


def init_db_statements(schema: str) -> list[str]:
    """DDL for the tables ocpagg reads and writes, koku-compatible, each created only if missing."""
    s = quote_ident(schema)
    summary = f"{s}.{quote_ident(SUMMARY_TABLE)}"
    default = f"{s}.{quote_ident(SUMMARY_TABLE + '_default')}"
    cols = ",\n    ".join(_summary_columns())
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_tenant_api_provider (
    uuid uuid PRIMARY KEY, name text NOT NULL, type text NOT NULL, provider_id uuid NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_ocpusagereportperiod (
    id serial PRIMARY KEY,
    cluster_id varchar(50) NOT NULL,
    cluster_alias varchar(256) NULL,
    report_period_start timestamptz NOT NULL,
    report_period_end timestamptz NOT NULL,
    summary_data_creation_datetime timestamptz NULL,
    summary_data_updated_datetime timestamptz NULL,
    ocp_on_cloud_updated_datetime timestamptz NULL,
    derived_cost_datetime timestamptz NULL,
    provider_id uuid NOT NULL REFERENCES {s}.reporting_tenant_api_provider (uuid)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    UNIQUE (cluster_id, report_period_start, provider_id))""",
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_ocp_cost_category (
    id serial PRIMARY KEY, name text NOT NULL UNIQUE, description text NOT NULL,
    source_type text NOT NULL, system_default boolean NOT NULL DEFAULT false, label text[] NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_ocp_cost_category_namespace (
    id serial PRIMARY KEY, namespace text NOT NULL UNIQUE, system_default boolean NOT NULL DEFAULT false,
    cost_category_id integer NOT NULL REFERENCES {s}.reporting_ocp_cost_category (id)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED)""",
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_enabledtagkeys (
    uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), key varchar(512) NOT NULL,
    enabled boolean NOT NULL DEFAULT true, provider_type varchar(50) NOT NULL,
    UNIQUE (key, provider_type))""",
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_ocp_clusters (
    uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), cluster_id text NOT NULL, cluster_alias text NULL,
    provider_id uuid NOT NULL REFERENCES {s}.reporting_tenant_api_provider (uuid)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    UNIQUE (cluster_id, cluster_alias, provider_id))""",
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_ocp_nodes (
    uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), node text NOT NULL, resource_id text NULL,
    node_capacity_cpu_cores numeric(18,2) NULL,
    cluster_id uuid NOT NULL REFERENCES {s}.reporting_ocp_clusters (uuid)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    node_role text NULL, architecture text NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {summary} (
    {cols},
    CONSTRAINT {quote_ident(SUMMARY_TABLE + "_pk")} PRIMARY KEY (usage_start, uuid),
    FOREIGN KEY (report_period_id) REFERENCES {s}.reporting_ocpusagereportperiod (id)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (cost_category_id) REFERENCES {s}.reporting_ocp_cost_category (id)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
) PARTITION BY RANGE (usage_start)""",
        f"CREATE TABLE IF NOT EXISTS {default} PARTITION OF {summary} DEFAULT",
        f"CREATE INDEX IF NOT EXISTS summary_ocp_usage_idx ON {summary} (usage_start)",
        f"CREATE INDEX IF NOT EXISTS summary_namespace_idx ON {summary} (namespace varchar_pattern_ops)",
        f"CREATE INDEX IF NOT EXISTS summary_node_idx ON {summary} (node varchar_pattern_ops)",
        f"CREATE INDEX IF NOT EXISTS summary_data_source_idx ON {summary} (data_source)",
        f"CREATE INDEX IF NOT EXISTS all_labels_idx ON {summary} USING gin (all_labels)",
        f"CREATE INDEX IF NOT EXISTS pod_labels_idx ON {summary} USING gin (pod_labels)",
        f"CREATE INDEX IF NOT EXISTS volume_labels_idx ON {summary} USING gin (volume_labels)",
    ]


# koku's default cost category and its namespace patterns (reporting migrations 0300 and 0315).
PLATFORM_CATEGORY = ("Platform", "Default OpenShift projects bucketed into a Platform group", "OCP")
PLATFORM_NAMESPACES = ("openshift-%", "kube-%", "Platform unallocated", "openshift")


def init_db(url: str, schema: str) -> None:
    """Create the koku-compatible tables of ``schema`` if missing and seed koku's default cost category."""
    import adbc_driver_postgresql.dbapi as pg

    try:
        connection = pg.connect(url)
    except Exception as exc:  # noqa: BLE001
        raise WriteError(f"cannot connect to PostgreSQL: {one_line(exc)}") from exc
    sink = PostgresSink(connection, schema, owns_connection=True)
    s = quote_ident(schema)
    try:
        for statement in init_db_statements(schema):
            sink.execute(statement)
        name, description, source_type = PLATFORM_CATEGORY
        sink.execute(
            f"INSERT INTO {s}.reporting_ocp_cost_category "
            "(name, description, source_type, system_default, label) "
            "VALUES ($1, $2, $3, true, CAST('{}' AS text[])) ON CONFLICT (name) DO NOTHING",
            [name, description, source_type],
        )
        for pattern in PLATFORM_NAMESPACES:
            sink.execute(
                f"INSERT INTO {s}.reporting_ocp_cost_category_namespace "
                "(namespace, system_default, cost_category_id) "
                f"SELECT $1, true, id FROM {s}.reporting_ocp_cost_category WHERE name = $2 "
                "ON CONFLICT (namespace) DO NOTHING",
                [pattern, name],
            )
        connection.commit()
    except Exception as exc:
        sink.rollback()
        raise WriteError(f"init-db {schema}: {one_line(exc)}") from exc
    finally:
        sink.close()
