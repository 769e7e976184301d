"""koku-compatible DDL for PostgreSQL: the tables ocpagg reads and writes, each created only if missing."""

from __future__ import annotations

from ..schema import MEASURE_COLUMNS
from .base import quote_ident
from .seed import COST_COLUMNS, SUMMARY_TABLE

NUMERIC = "numeric(33,15)"
_KIND_TYPES = {"numeric": NUMERIC, "json": "jsonb", "text": "text"}


def summary_columns() -> list[str]:
    """The summary table's columns in koku's types: the usage columns, then koku's cost columns."""
    jsonb = ["pod_labels", "volume_labels", "all_labels", "infrastructure_usage_cost"]
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
        "source_uuid uuid NULL",
        *(f"{c} {NUMERIC} NULL" for c in MEASURE_COLUMNS),
        *(f"{c} jsonb NULL" for c in jsonb),
        *(f"{c} {_KIND_TYPES[kind]} NULL" for c, kind in COST_COLUMNS),
    ]


# koku's indexes of the summary table: name suffix, definition.
_INDEXES = (
    ("ocp_usage_idx", "(usage_start)"),
    ("namespace_idx", "(namespace varchar_pattern_ops)"),
    ("node_idx", "(node varchar_pattern_ops)"),
    ("data_source_idx", "(data_source)"),
    ("all_labels_idx", "USING gin (all_labels)"),
    ("pod_labels_idx", "USING gin (pod_labels)"),
    ("volume_labels_idx", "USING gin (volume_labels)"),
)


def summary_table_statements(
    schema: str, table: str = SUMMARY_TABLE, *, foreign_keys: bool = True
) -> list[str]:
    """koku's daily summary table (or a shadow of it): partitioned by month, a default partition, indexes."""
    s = quote_ident(schema)
    summary = f"{s}.{quote_ident(table)}"
    default = f"{s}.{quote_ident(table + '_default')}"
    cols = ",\n    ".join(summary_columns())
    keys = (
        f""",
    FOREIGN KEY (report_period_id) REFERENCES {s}.reporting_ocpusagereportperiod (id)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (cost_category_id) REFERENCES {s}.reporting_ocp_cost_category (id)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"""
        if foreign_keys
        else ""
    )
    index = table if table != SUMMARY_TABLE else "summary"
    return [
        f"""CREATE TABLE IF NOT EXISTS {summary} (
    {cols},
    CONSTRAINT {quote_ident(table + "_pk")} PRIMARY KEY (usage_start, uuid){keys}
) PARTITION BY RANGE (usage_start)""",
        f"CREATE TABLE IF NOT EXISTS {default} PARTITION OF {summary} DEFAULT",
        *(
            f"CREATE INDEX IF NOT EXISTS {quote_ident(f'{index}_{suffix}')} ON {summary} {method}"
            for suffix, method in _INDEXES
        ),
    ]


def init_db_statements(schema: str) -> list[str]:
    """DDL for the tables ocpagg reads and writes, koku-compatible, each created only if missing."""
    s = quote_ident(schema)
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
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_ocp_pvcs (
    uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), persistent_volume_claim text NOT NULL,
    persistent_volume text NOT NULL,
    cluster_id uuid NOT NULL REFERENCES {s}.reporting_ocp_clusters (uuid)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    csi_volume_handle text NULL,
    UNIQUE (persistent_volume, persistent_volume_claim, cluster_id))""",
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_ocp_projects (
    uuid uuid PRIMARY KEY DEFAULT gen_random_uuid(), project text NOT NULL,
    cluster_id uuid NOT NULL REFERENCES {s}.reporting_ocp_clusters (uuid)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    UNIQUE (project, cluster_id))""",
        *gpu_summary_statements(s),
        *summary_table_statements(schema),
    ]


def gpu_summary_statements(s: str) -> list[str]:
    """koku's reporting_ocp_gpu_summary_p (SPEC §7's target), partitioned by usage_start, with a default."""
    dec = "numeric(33,15)"
    return [
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_ocp_gpu_summary_p (
    id uuid NOT NULL, cluster_id text NOT NULL, cluster_alias text NULL, namespace varchar(253) NULL,
    node varchar(253) NULL, usage_start date NOT NULL, usage_end date NOT NULL,
    vendor_name varchar(128) NULL, model_name varchar(128) NULL, memory_capacity_gb {dec} NULL,
    gpu_count integer NULL, mig_instance_id varchar(128) NULL, gpu_uuid varchar(128) NULL,
    gpu_mode varchar(32) NULL, mig_profile varchar(64) NULL, mig_slice_count integer NULL,
    mig_memory_capacity_gb {dec} NULL, mig_strategy varchar(10) NULL, gpu_max_slices integer NULL,
    cost_model_gpu_cost {dec} NULL,
    source_uuid uuid NULL REFERENCES {s}.reporting_tenant_api_provider (uuid) DEFERRABLE INITIALLY DEFERRED,
    cost_category_id integer NULL REFERENCES {s}.reporting_ocp_cost_category (id)
        DEFERRABLE INITIALLY DEFERRED,
    raw_currency text NULL, cost_model_cpu_cost {dec} NULL, cost_model_memory_cost {dec} NULL,
    cost_model_volume_cost {dec} NULL, cost_model_rate_type text NULL,
    PRIMARY KEY (usage_start, id)
) PARTITION BY RANGE (usage_start)""",
        f"""CREATE TABLE IF NOT EXISTS {s}.reporting_ocp_gpu_summary_p_default
    PARTITION OF {s}.reporting_ocp_gpu_summary_p DEFAULT""",
    ]
