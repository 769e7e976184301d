"""koku's tenant tables, as koku's Django models and migrations create them (not ocpagg's init-db).

Written from koku/reporting/provider/ocp/models.py (OCPUsageReportPeriod, OCPUsageLineItemDailySummary,
OpenshiftCostCategory, OpenshiftCostCategoryNamespace, OCPCluster, OCPNode, OCPPVC, OCPProject,
OCPGpuSummaryP),
koku/reporting/provider/all/models.py (EnabledTagKeys), koku/reporting/partition/models.py
(PartitionedTable) and koku/koku/database.py (partitioned tables: PRIMARY KEY (usage_start, uuid),
a DEFAULT partition named ``<table>_default``). Django puts no DEFAULT in the database for
``default=`` fields and makes foreign keys DEFERRABLE INITIALLY DEFERRED.
"""

from __future__ import annotations

import uuid
from typing import Any

DEC = "numeric(33,15)"
FK = "DEFERRABLE INITIALLY DEFERRED"


def statements(schema: str) -> list[str]:
    """CREATE statements of koku's tables in ``schema`` (quoted), in dependency order."""
    s = '"' + schema.replace('"', '""') + '"'
    t = f"{s}.reporting_ocpusagelineitem_daily_summary"
    dec_cols = [
        "pod_usage_cpu_core_hours",
        "pod_request_cpu_core_hours",
        "pod_effective_usage_cpu_core_hours",
        "pod_limit_cpu_core_hours",
        "pod_usage_memory_gigabyte_hours",
        "pod_request_memory_gigabyte_hours",
        "pod_effective_usage_memory_gigabyte_hours",
        "pod_limit_memory_gigabyte_hours",
        "node_capacity_cpu_cores",
        "node_capacity_cpu_core_hours",
        "node_capacity_memory_gigabytes",
        "node_capacity_memory_gigabyte_hours",
        "cluster_capacity_cpu_core_hours",
        "cluster_capacity_memory_gigabyte_hours",
    ]
    volume_dec = [
        "persistentvolumeclaim_capacity_gigabyte",
        "persistentvolumeclaim_capacity_gigabyte_months",
        "volume_request_storage_gigabyte_months",
        "persistentvolumeclaim_usage_gigabyte_months",
        "infrastructure_raw_cost",
        "infrastructure_project_raw_cost",
        "infrastructure_data_in_gigabytes",
        "infrastructure_data_out_gigabytes",
    ]
    return [
        f"CREATE SCHEMA {s}",
        f"""CREATE TABLE {s}.partitioned_tables (
            id serial PRIMARY KEY,
            schema_name text NOT NULL,
            table_name text NOT NULL,
            partition_of_table_name text NOT NULL,
            partition_type text NOT NULL,
            partition_col text NOT NULL,
            partition_parameters jsonb NOT NULL,
            active boolean NOT NULL,
            subpartition_type text NULL,
            subpartition_col text NULL,
            UNIQUE (schema_name, table_name))""",
        f"""CREATE TABLE {s}.reporting_tenant_api_provider (
            uuid uuid PRIMARY KEY,
            name text NOT NULL,
            type text NOT NULL,
            provider_id uuid NULL)""",
        f"""CREATE TABLE {s}.reporting_ocpusagereportperiod (
            id serial PRIMARY KEY,
            cluster_id varchar(50) NOT NULL,
            cluster_alias varchar(256) NULL,
            report_period_start timestamp with time zone NOT NULL,
            report_period_end timestamp with time zone NOT NULL,
            summary_data_creation_datetime timestamp with time zone NULL,
            summary_data_updated_datetime timestamp with time zone NULL,
            ocp_on_cloud_updated_datetime timestamp with time zone NULL,
            derived_cost_datetime timestamp with time zone NULL,
            provider_id uuid NOT NULL REFERENCES {s}.reporting_tenant_api_provider (uuid) {FK},
            UNIQUE (cluster_id, report_period_start, provider_id))""",
        f"""CREATE TABLE {s}.reporting_ocp_cost_category (
            id serial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            description text NOT NULL,
            source_type text NOT NULL,
            system_default boolean NOT NULL,
            label text[] NOT NULL)""",
        f"""CREATE TABLE {s}.reporting_ocp_cost_category_namespace (
            id serial PRIMARY KEY,
            namespace text NOT NULL UNIQUE,
            system_default boolean NOT NULL,
            cost_category_id integer NOT NULL REFERENCES {s}.reporting_ocp_cost_category (id) {FK})""",
        f"""CREATE TABLE {s}.reporting_enabledtagkeys (
            uuid uuid PRIMARY KEY,
            key varchar(512) NOT NULL,
            enabled boolean NOT NULL,
            provider_type varchar(50) NOT NULL,
            UNIQUE (key, provider_type))""",
        f"""CREATE TABLE {s}.reporting_ocp_clusters (
            uuid uuid PRIMARY KEY,
            cluster_id text NOT NULL,
            cluster_alias text NULL,
            provider_id uuid NOT NULL REFERENCES {s}.reporting_tenant_api_provider (uuid) {FK},
            UNIQUE (cluster_id, cluster_alias, provider_id))""",
        f"""CREATE TABLE {s}.reporting_ocp_nodes (
            uuid uuid PRIMARY KEY,
            node text NOT NULL,
            resource_id text NULL,
            node_capacity_cpu_cores numeric(18,2) NULL,
            cluster_id uuid NOT NULL REFERENCES {s}.reporting_ocp_clusters (uuid) {FK},
            node_role text NULL,
            architecture text NULL)""",
        # OCPPVC, OCPProject (unique_together as UNIQUE constraints)
        f"""CREATE TABLE {s}.reporting_ocp_pvcs (
            uuid uuid PRIMARY KEY,
            persistent_volume_claim text NOT NULL,
            persistent_volume text NOT NULL,
            cluster_id uuid NOT NULL REFERENCES {s}.reporting_ocp_clusters (uuid) {FK},
            csi_volume_handle text NULL,
            UNIQUE (persistent_volume, persistent_volume_claim, cluster_id))""",
        f"""CREATE TABLE {s}.reporting_ocp_projects (
            uuid uuid PRIMARY KEY,
            project text NOT NULL,
            cluster_id uuid NOT NULL REFERENCES {s}.reporting_ocp_clusters (uuid) {FK},
            UNIQUE (project, cluster_id))""",
        # OCPGpuSummaryP: partitioned by usage_start, PRIMARY KEY (usage_start, id), a DEFAULT partition
        f"""CREATE TABLE {s}.reporting_ocp_gpu_summary_p (
            id uuid NOT NULL,
            cluster_id text NOT NULL,
            cluster_alias text NULL,
            namespace varchar(253) NULL,
            node varchar(253) NULL,
            usage_start date NOT NULL,
            usage_end date NOT NULL,
            vendor_name varchar(128) NULL,
            model_name varchar(128) NULL,
            memory_capacity_gb {DEC} NULL,
            gpu_count integer NULL,
            mig_instance_id varchar(128) NULL,
            gpu_uuid varchar(128) NULL,
            gpu_mode varchar(32) NULL,
            mig_profile varchar(64) NULL,
            mig_slice_count integer NULL,
            mig_memory_capacity_gb {DEC} NULL,
            mig_strategy varchar(10) NULL,
            gpu_max_slices integer NULL,
            cost_model_gpu_cost {DEC} NULL,
            source_uuid uuid NULL REFERENCES {s}.reporting_tenant_api_provider (uuid) {FK},
            cost_category_id integer NULL REFERENCES {s}.reporting_ocp_cost_category (id) {FK},
            raw_currency text NULL,
            cost_model_cpu_cost {DEC} NULL,
            cost_model_memory_cost {DEC} NULL,
            cost_model_volume_cost {DEC} NULL,
            cost_model_rate_type text NULL,
            PRIMARY KEY (usage_start, id)
        ) PARTITION BY RANGE (usage_start)""",
        f"""CREATE TABLE {s}.reporting_ocp_gpu_summary_p_default
            PARTITION OF {s}.reporting_ocp_gpu_summary_p DEFAULT""",
        f"""CREATE TABLE {t} (
            uuid uuid NOT NULL,
            cluster_id varchar(50) NULL,
            cluster_alias varchar(256) NULL,
            data_source varchar(64) NULL,
            namespace varchar(253) NULL,
            node varchar(253) NULL,
            resource_id varchar(253) NULL,
            usage_start date NOT NULL,
            usage_end date NOT NULL,
            pod_labels jsonb NULL,
            {", ".join(f"{c} {DEC} NULL" for c in dec_cols)},
            persistentvolumeclaim varchar(253) NULL,
            persistentvolume varchar(253) NULL,
            storageclass varchar(253) NULL,
            volume_labels jsonb NULL,
            all_labels jsonb NULL,
            {", ".join(f"{c} {DEC} NULL" for c in volume_dec)},
            infrastructure_usage_cost jsonb NULL,
            infrastructure_markup_cost {DEC} NULL,
            infrastructure_project_markup_cost {DEC} NULL,
            infrastructure_monthly_cost {DEC} NULL,
            infrastructure_monthly_cost_json jsonb NULL,
            infrastructure_project_monthly_cost jsonb NULL,
            supplementary_usage_cost jsonb NULL,
            supplementary_monthly_cost {DEC} NULL,
            supplementary_monthly_cost_json jsonb NULL,
            supplementary_project_monthly_cost jsonb NULL,
            cost_model_cpu_cost {DEC} NULL,
            cost_model_memory_cost {DEC} NULL,
            cost_model_volume_cost {DEC} NULL,
            cost_model_gpu_cost {DEC} NULL,
            cost_model_rate_type text NULL,
            monthly_cost_type text NULL,
            source_uuid uuid NULL,
            raw_currency text NULL,
            distributed_cost {DEC} NULL,
            report_period_id integer NULL,
            cost_category_id integer NULL
        ) PARTITION BY RANGE (usage_start)""",
        f"""ALTER TABLE {t}
            ADD CONSTRAINT reporting_ocpusagelineitem_daily_summary_pk PRIMARY KEY (usage_start, uuid)""",
        f"""ALTER TABLE {t}
            ADD CONSTRAINT reporting_ocpusageli_report_period_id_fk FOREIGN KEY (report_period_id)
            REFERENCES {s}.reporting_ocpusagereportperiod (id) {FK}""",
        f"""ALTER TABLE {t}
            ADD CONSTRAINT reporting_ocpusageli_cost_category_id_fk FOREIGN KEY (cost_category_id)
            REFERENCES {s}.reporting_ocp_cost_category (id) {FK}""",
        f"CREATE TABLE {t}_default PARTITION OF {t} DEFAULT",
        f"""INSERT INTO {s}.partitioned_tables (schema_name, table_name, partition_of_table_name,
            partition_type, partition_col, partition_parameters, active)
            VALUES ('{schema.replace("'", "''")}',
            'reporting_ocpusagelineitem_daily_summary_default', 'reporting_ocpusagelineitem_daily_summary',
            'range', 'usage_start', '{{"default": true}}', true)""",
        f"CREATE INDEX summary_ocp_usage_idx ON {t} (usage_start)",
        f"""CREATE INDEX summary_namespace_idx ON {t}
            (namespace varchar_pattern_ops)""",
        f"""CREATE INDEX summary_node_idx ON {t}
            (node varchar_pattern_ops)""",
        f"CREATE INDEX summary_data_source_idx ON {t} (data_source)",
        f"CREATE INDEX monthly_cost_type_idx ON {t} (monthly_cost_type)",
        f"""CREATE INDEX cost_model_rate_type_idx ON {t}
            (cost_model_rate_type)""",
        f"CREATE INDEX all_labels_idx ON {t} USING gin (all_labels)",
        f"CREATE INDEX pod_labels_idx ON {t} USING gin (pod_labels)",
        f"CREATE INDEX volume_labels_idx ON {t} USING gin (volume_labels)",
        # koku's migrations seed the Platform category (0300) and its namespace patterns (0315).
        f"""INSERT INTO {s}.reporting_ocp_cost_category
            (name, description, source_type, system_default, label)
            VALUES ('Platform', 'Default OpenShift projects bucketed into a Platform group', 'OCP', true,
            '{{}}')""",
        f"""INSERT INTO {s}.reporting_ocp_cost_category_namespace
            (namespace, system_default, cost_category_id)
            SELECT ns, true, c.id FROM {s}.reporting_ocp_cost_category c,
            unnest(ARRAY['openshift-%', 'kube-%', 'Platform unallocated', 'openshift']) AS ns
            WHERE c.name = 'Platform'""",
    ]


def create_schema(conn: Any, schema: str) -> None:
    """Create koku's tenant tables in ``schema`` over an ADBC PostgreSQL connection, committed."""
    with conn.cursor() as cur:
        for statement in statements(schema):
            cur.execute(statement)
    conn.commit()


def add_report_period(
    conn: Any, schema: str, *, period_id: int, cluster_id: str, source_uuid: str, year: int, month: int
) -> None:
    """A tenant provider (if missing) and report period row, as MASU creates them."""
    s = '"' + schema.replace('"', '""') + '"'
    end_year, end_month = year + month // 12, month % 12 + 1
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO {s}.reporting_tenant_api_provider (uuid, name, type) "
            "VALUES (CAST($1 AS uuid), $2, 'OCP') "
            "ON CONFLICT DO NOTHING",
            parameters=[source_uuid, cluster_id],
        )
        cur.execute(
            f"INSERT INTO {s}.reporting_ocpusagereportperiod (id, cluster_id, report_period_start, "
            "report_period_end, provider_id) "
            "VALUES ($1, $2, CAST($3 AS timestamptz), CAST($4 AS timestamptz), "
            "CAST($5 AS uuid))",
            parameters=[
                period_id,
                cluster_id,
                f"{year:04d}-{month:02d}-01 00:00:00+00",
                f"{end_year:04d}-{end_month:02d}-01 00:00:00+00",
                source_uuid,
            ],
        )
    conn.commit()


def enable_keys(conn: Any, schema: str, keys: list[str], provider_type: str = "OCP") -> None:
    """Enabled tag keys, as koku's settings API writes them."""
    s = '"' + schema.replace('"', '""') + '"'
    with conn.cursor() as cur:
        for key in keys:
            cur.execute(
                f"INSERT INTO {s}.reporting_enabledtagkeys (uuid, key, enabled, provider_type) "
                "VALUES (CAST($1 AS uuid), $2, true, $3)",
                parameters=[str(uuid.uuid4()), key, provider_type],
            )
    conn.commit()


def add_nodes(
    conn: Any, schema: str, source_uuid: str, cluster_id: str, nodes: list[tuple[str, str, str]]
) -> None:
    """Cluster and node rows, as MASU's populate_openshift_cluster_information_tables writes them."""
    s = '"' + schema.replace('"', '""') + '"'
    cluster_uuid = str(uuid.uuid4())
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO {s}.reporting_ocp_clusters (uuid, cluster_id, provider_id) "
            "VALUES (CAST($1 AS uuid), $2, CAST($3 AS uuid))",
            parameters=[cluster_uuid, cluster_id, source_uuid],
        )
        for node, resource_id, role in nodes:
            cur.execute(
                f"INSERT INTO {s}.reporting_ocp_nodes (uuid, node, resource_id, cluster_id, node_role) "
                "VALUES (CAST($1 AS uuid), $2, $3, CAST($4 AS uuid), $5)",
                parameters=[str(uuid.uuid4()), node, resource_id, cluster_uuid, role],
            )
    conn.commit()


# The summary columns ocpagg writes, read back in the Arrow types of ocpagg.schema.SUMMARY_SCHEMA.
def read_summary(conn: Any, schema: str, where: str = "TRUE", parameters: list[Any] | None = None) -> Any:
    """The rows of the schema's daily summary as an Arrow table (numeric → float8, jsonb/uuid → text)."""
    import pyarrow as pa
    from ocpagg.schema import SUMMARY_SCHEMA

    s = '"' + schema.replace('"', '""') + '"'
    select = []
    for f in SUMMARY_SCHEMA:
        if pa.types.is_floating(f.type):
            select.append(f"CAST({f.name} AS double precision) AS {f.name}")
        elif pa.types.is_integer(f.type):
            select.append(f"CAST({f.name} AS bigint) AS {f.name}")
        elif pa.types.is_date(f.type):
            select.append(f.name)
        else:
            select.append(f"CAST({f.name} AS text) AS {f.name}")
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(select)} FROM {s}.reporting_ocpusagelineitem_daily_summary WHERE {where}",
            parameters=parameters,
        )
        table = cur.fetch_arrow_table()
    conn.commit()
    return table.cast(SUMMARY_SCHEMA)
