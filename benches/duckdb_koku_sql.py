"""Baseline: koku's daily-summary SQL run by DuckDB at its best settings, over the same hourly files.

koku runs ``reporting_ocpusagelineitem_daily_summary.sql`` (Trino, masu/database/trino_sql/openshift,
koku commit 768be82) over Hive tables: the hourly pod table (for node capacity) and the *daily*
tables its post-processor writes beside the hourly files at ingest (one row per pod, label set and
day). ocpagg reads the hourly files only, so to do the same work this baseline first builds the
daily tables from the same hourly files, grouped as the post-processor groups them (koku's
``POD_GROUP_BY``/``STORAGE_GROUP_BY``... by day), and then runs our DuckDB rendering of the
script, statement by statement:

1. the INSERT of the pod rows ``UNION`` the storage rows (the CTEs: enabled keys, node and
   namespace labels by day, node capacity from the hourly rows, cluster capacity, volume nodes,
   shared-volume node counts), into a summary table;
2. the INSERT of the unallocated-capacity rows, read back from that summary table;
3. the final SELECT that koku inserts into PostgreSQL (``all_labels`` = pod labels ∪ volume
   labels), returned as an Arrow table.

The translation is ours (DuckDB has no ``map_filter`` or ``json_format``): a Trino map becomes a
DuckDB MAP, ``map_filter(m, (k, v) -> contains(keys, k))`` a ``list_filter`` over its entries,
and ``json_format(cast(m as json))`` (Trino sorts the keys) a JSON text with sorted keys, which is
also what the GROUP BY on the map ordinal groups by. ``uuid`` stays NULL, as in ocpagg's rows.

Settings: threads = cores (or ``threads``), no memory limit, insertion order not preserved;
DuckDB reads the Parquet files itself (``read_parquet``, projection and filter push-down).
Unlike tests/reference.py (the tests' oracle, simple on purpose: it loads whole months into
Arrow first), this is meant to be DuckDB at its fastest doing koku's work.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
from ocpagg.layout import month_dir
from ocpagg.schema import INFRASTRUCTURE_USAGE_COST, SUMMARY_SCHEMA

_MACROS = [
    # cast(json_parse(j) as map(varchar, varchar))
    "CREATE OR REPLACE TEMP MACRO json_map(j) AS CAST(CAST(j AS JSON) AS MAP(VARCHAR, VARCHAR))",
    # map_filter(m, (k, v) -> contains(ks, k)); contains(NULL, k) keeps nothing, as in Trino
    "CREATE OR REPLACE TEMP MACRO map_keep(m, ks) AS "
    "map_from_entries(list_filter(map_entries(m), lambda e: list_contains(ks, e.key)))",
    # json_format(cast(m as json)): Trino writes a map's keys sorted
    "CREATE OR REPLACE TEMP MACRO map_json(m) AS "
    "CAST(to_json(map_from_entries(list_sort(map_entries(m)))) AS VARCHAR)",
]

# koku's post-processor (ocp_post_processor._generate_daily_data): the daily tables, from the hourly files.
_DAILY = [
    """
CREATE TEMP TABLE openshift_pod_usage_line_items_daily AS
SELECT namespace, node, pod, pod_labels, date_trunc('day', interval_start) AS interval_start,
    max(resource_id) AS resource_id,
    sum(pod_usage_cpu_core_seconds) AS pod_usage_cpu_core_seconds,
    sum(pod_request_cpu_core_seconds) AS pod_request_cpu_core_seconds,
    sum(pod_effective_usage_cpu_core_seconds) AS pod_effective_usage_cpu_core_seconds,
    sum(pod_limit_cpu_core_seconds) AS pod_limit_cpu_core_seconds,
    sum(pod_usage_memory_byte_seconds) AS pod_usage_memory_byte_seconds,
    sum(pod_request_memory_byte_seconds) AS pod_request_memory_byte_seconds,
    sum(pod_effective_usage_memory_byte_seconds) AS pod_effective_usage_memory_byte_seconds,
    sum(pod_limit_memory_byte_seconds) AS pod_limit_memory_byte_seconds,
    max(node_capacity_cpu_cores) AS node_capacity_cpu_cores,
    sum(node_capacity_cpu_core_seconds) AS node_capacity_cpu_core_seconds,
    max(node_capacity_memory_bytes) AS node_capacity_memory_bytes,
    sum(node_capacity_memory_byte_seconds) AS node_capacity_memory_byte_seconds
FROM openshift_pod_usage_line_items
GROUP BY ALL
""",
    """
CREATE TEMP TABLE openshift_storage_usage_line_items_daily AS
SELECT namespace, node, pod, persistentvolumeclaim, persistentvolume, storageclass, csi_driver,
    csi_volume_handle, persistentvolume_labels, persistentvolumeclaim_labels,
    date_trunc('day', interval_start) AS interval_start,
    max(persistentvolumeclaim_capacity_bytes) AS persistentvolumeclaim_capacity_bytes,
    sum(persistentvolumeclaim_capacity_byte_seconds) AS persistentvolumeclaim_capacity_byte_seconds,
    sum(volume_request_storage_byte_seconds) AS volume_request_storage_byte_seconds,
    sum(persistentvolumeclaim_usage_byte_seconds) AS persistentvolumeclaim_usage_byte_seconds
FROM openshift_storage_usage_line_items
GROUP BY ALL
""",
    """
CREATE TEMP TABLE openshift_node_labels_line_items_daily AS
SELECT node, node_labels, date_trunc('day', interval_start) AS interval_start
FROM openshift_node_labels_line_items GROUP BY ALL
""",
    """
CREATE TEMP TABLE openshift_namespace_labels_line_items_daily AS
SELECT namespace, namespace_labels, date_trunc('day', interval_start) AS interval_start
FROM openshift_namespace_labels_line_items GROUP BY ALL
""",
]

_CTES = """
WITH cte_pg_enabled_keys AS (
    SELECT ['vm_kubevirt_io_name'] || (SELECT array_agg(key ORDER BY key) FROM reporting_enabledtagkeys
                                        WHERE enabled AND provider_type = 'OCP') AS keys
),
cte_ocp_node_label_line_item_daily AS (
    SELECT CAST(nli.interval_start AS DATE) AS usage_start, nli.node,
        map_json(map_keep(json_map(nli.node_labels), pek.keys)) AS node_labels
    FROM openshift_node_labels_line_items_daily AS nli
    CROSS JOIN cte_pg_enabled_keys AS pek
    WHERE nli.interval_start >= $start AND nli.interval_start < $end
    GROUP BY 1, 2, 3
),
cte_ocp_namespace_label_line_item_daily AS (
    SELECT CAST(nli.interval_start AS DATE) AS usage_start, nli.namespace,
        map_json(map_keep(json_map(nli.namespace_labels), pek.keys)) AS namespace_labels
    FROM openshift_namespace_labels_line_items_daily AS nli
    CROSS JOIN cte_pg_enabled_keys AS pek
    WHERE nli.interval_start >= $start AND nli.interval_start < $end
    GROUP BY 1, 2, 3
),
cte_ocp_node_capacity AS (
    SELECT CAST(nc.interval_start AS DATE) AS usage_start, nc.node,
        sum(nc.node_capacity_cpu_core_seconds) AS node_capacity_cpu_core_seconds,
        sum(nc.node_capacity_memory_byte_seconds) AS node_capacity_memory_byte_seconds
    FROM (
        SELECT li.interval_start, li.node,
            max(li.node_capacity_cpu_core_seconds) AS node_capacity_cpu_core_seconds,
            max(li.node_capacity_memory_byte_seconds) AS node_capacity_memory_byte_seconds
        FROM openshift_pod_usage_line_items AS li
        WHERE li.interval_start >= $start AND li.interval_start < $end
        GROUP BY li.interval_start, li.node
    ) AS nc
    GROUP BY CAST(nc.interval_start AS DATE), nc.node
),
cte_ocp_cluster_capacity AS (
    SELECT nc.usage_start,
        sum(nc.node_capacity_cpu_core_seconds) AS cluster_capacity_cpu_core_seconds,
        sum(nc.node_capacity_memory_byte_seconds) AS cluster_capacity_memory_byte_seconds
    FROM cte_ocp_node_capacity AS nc
    GROUP BY nc.usage_start
),
cte_volume_nodes AS (
    SELECT CAST(sli.interval_start AS DATE) AS usage_start, sli.persistentvolumeclaim,
        sli.persistentvolume, sli.pod, sli.namespace, uli.node, uli.resource_id
    FROM openshift_storage_usage_line_items_daily AS sli
    JOIN openshift_pod_usage_line_items_daily AS uli
        ON uli.namespace = sli.namespace
        AND uli.pod = sli.pod
        AND CAST(uli.interval_start AS DATE) = CAST(sli.interval_start AS DATE)
    WHERE sli.interval_start >= $start AND sli.interval_start < $end
    GROUP BY 1, 2, 3, 4, 5, 6, 7
),
cte_shared_volume_node_count AS (
    SELECT usage_start, persistentvolume, count(DISTINCT node) AS node_count
    FROM cte_volume_nodes
    GROUP BY usage_start, persistentvolume
)
"""

_POD = f"""
SELECT NULL::VARCHAR AS uuid, $report_period_id AS report_period_id, $cluster_id AS cluster_id,
    CAST($cluster_alias AS VARCHAR) AS cluster_alias, 'Pod' AS data_source, pua.usage_start,
    pua.usage_start AS usage_end,
    pua.namespace, pua.node, pua.resource_id, pua.pod_labels,
    pua.pod_usage_cpu_core_hours, pua.pod_request_cpu_core_hours, pua.pod_effective_usage_cpu_core_hours,
    pua.pod_limit_cpu_core_hours, pua.pod_usage_memory_gigabyte_hours,
    pua.pod_request_memory_gigabyte_hours, pua.pod_effective_usage_memory_gigabyte_hours,
    pua.pod_limit_memory_gigabyte_hours, pua.node_capacity_cpu_cores, pua.node_capacity_cpu_core_hours,
    pua.node_capacity_memory_gigabytes, pua.node_capacity_memory_gigabyte_hours,
    pua.cluster_capacity_cpu_core_hours, pua.cluster_capacity_memory_gigabyte_hours,
    NULL::VARCHAR AS persistentvolumeclaim, NULL::VARCHAR AS persistentvolume,
    NULL::VARCHAR AS storageclass, NULL::VARCHAR AS volume_labels,
    NULL::DOUBLE AS persistentvolumeclaim_capacity_gigabyte,
    NULL::DOUBLE AS persistentvolumeclaim_capacity_gigabyte_months,
    NULL::DOUBLE AS volume_request_storage_gigabyte_months,
    NULL::DOUBLE AS persistentvolumeclaim_usage_gigabyte_months,
    pua.source_uuid, '{INFRASTRUCTURE_USAGE_COST}' AS infrastructure_usage_cost,
    NULL::VARCHAR AS csi_volume_handle, pua.cost_category_id
FROM (
    SELECT CAST(li.interval_start AS DATE) AS usage_start, li.namespace, li.node,
        max(cat_ns.cost_category_id) AS cost_category_id, $source AS source_uuid,
        map_json(map_concat(
            json_map(coalesce(nli.node_labels, '{{}}')),
            json_map(coalesce(nsli.namespace_labels, '{{}}')),
            map_keep(json_map(li.pod_labels), pek.keys)
        )) AS pod_labels,
        max(li.resource_id) AS resource_id,
        sum(li.pod_usage_cpu_core_seconds) / 3600.0 AS pod_usage_cpu_core_hours,
        sum(li.pod_request_cpu_core_seconds) / 3600.0 AS pod_request_cpu_core_hours,
        sum(coalesce(li.pod_effective_usage_cpu_core_seconds,
                     greatest(li.pod_usage_cpu_core_seconds, li.pod_request_cpu_core_seconds))) / 3600.0
            AS pod_effective_usage_cpu_core_hours,
        sum(li.pod_limit_cpu_core_seconds) / 3600.0 AS pod_limit_cpu_core_hours,
        sum(li.pod_usage_memory_byte_seconds) / 3600.0 * power(2, -30) AS pod_usage_memory_gigabyte_hours,
        sum(li.pod_request_memory_byte_seconds) / 3600.0 * power(2, -30)
            AS pod_request_memory_gigabyte_hours,
        sum(coalesce(li.pod_effective_usage_memory_byte_seconds,
                     greatest(li.pod_usage_memory_byte_seconds, li.pod_request_memory_byte_seconds)))
            / 3600.0 * power(2, -30) AS pod_effective_usage_memory_gigabyte_hours,
        sum(li.pod_limit_memory_byte_seconds) / 3600.0 * power(2, -30) AS pod_limit_memory_gigabyte_hours,
        max(li.node_capacity_cpu_cores) AS node_capacity_cpu_cores,
        max(nc.node_capacity_cpu_core_seconds) / 3600.0 AS node_capacity_cpu_core_hours,
        max(li.node_capacity_memory_bytes) * power(2, -30) AS node_capacity_memory_gigabytes,
        max(nc.node_capacity_memory_byte_seconds) / 3600.0 * power(2, -30)
            AS node_capacity_memory_gigabyte_hours,
        max(cc.cluster_capacity_cpu_core_seconds) / 3600.0 AS cluster_capacity_cpu_core_hours,
        max(cc.cluster_capacity_memory_byte_seconds) / 3600.0 * power(2, -30)
            AS cluster_capacity_memory_gigabyte_hours
    FROM openshift_pod_usage_line_items_daily AS li
    CROSS JOIN cte_pg_enabled_keys AS pek
    LEFT JOIN cte_ocp_node_label_line_item_daily AS nli
        ON nli.node = li.node AND nli.usage_start = CAST(li.interval_start AS DATE)
    LEFT JOIN cte_ocp_namespace_label_line_item_daily AS nsli
        ON nsli.namespace = li.namespace AND nsli.usage_start = CAST(li.interval_start AS DATE)
    LEFT JOIN cte_ocp_node_capacity AS nc
        ON nc.usage_start = CAST(li.interval_start AS DATE) AND nc.node = li.node
    LEFT JOIN cte_ocp_cluster_capacity AS cc
        ON cc.usage_start = CAST(li.interval_start AS DATE)
    LEFT JOIN reporting_ocp_cost_category_namespace AS cat_ns
        ON li.namespace LIKE cat_ns.namespace
    WHERE li.interval_start >= $start AND li.interval_start < $end
        AND li.node != ''
    GROUP BY CAST(li.interval_start AS DATE), li.namespace, li.node, 5, 6
) AS pua
"""

_STORAGE = f"""
SELECT NULL::VARCHAR, $report_period_id, $cluster_id, CAST($cluster_alias AS VARCHAR), 'Storage',
    sua.usage_start, sua.usage_start, sua.namespace, sua.node, sua.resource_id, NULL::VARCHAR,
    NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE,
    NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE,
    sua.persistentvolumeclaim, sua.persistentvolume, sua.storageclass, sua.volume_labels,
    sua.persistentvolumeclaim_capacity_bytes * power(2, -30),
    sua.persistentvolumeclaim_capacity_byte_seconds
        / (86400 * CAST(extract(day FROM last_day(sua.usage_start)) AS INTEGER)) * power(2, -30),
    sua.volume_request_storage_byte_seconds
        / (86400 * CAST(extract(day FROM last_day(sua.usage_start)) AS INTEGER)) * power(2, -30),
    sua.persistentvolumeclaim_usage_byte_seconds
        / (86400 * CAST(extract(day FROM last_day(sua.usage_start)) AS INTEGER)) * power(2, -30),
    sua.source_uuid, '{INFRASTRUCTURE_USAGE_COST}', sua.csi_volume_handle, sua.cost_category_id
FROM (
    SELECT sli.namespace, vn.node, vn.resource_id, sli.persistentvolumeclaim, sli.persistentvolume,
        sli.storageclass, CAST(sli.interval_start AS DATE) AS usage_start,
        map_json(map_concat(
            json_map(coalesce(nli.node_labels, '{{}}')),
            json_map(coalesce(nsli.namespace_labels, '{{}}')),
            map_keep(json_map(sli.persistentvolume_labels), pek.keys),
            map_keep(json_map(sli.persistentvolumeclaim_labels), pek.keys)
        )) AS volume_labels,
        $source AS source_uuid, sli.csi_volume_handle AS csi_volume_handle,
        max(cat_ns.cost_category_id) AS cost_category_id,
        max(sli.persistentvolumeclaim_capacity_bytes) AS persistentvolumeclaim_capacity_bytes,
        sum(sli.persistentvolumeclaim_capacity_byte_seconds) AS persistentvolumeclaim_capacity_byte_seconds,
        sum(sli.volume_request_storage_byte_seconds) / max(nc.node_count)
            AS volume_request_storage_byte_seconds,
        sum(sli.persistentvolumeclaim_usage_byte_seconds) / max(nc.node_count)
            AS persistentvolumeclaim_usage_byte_seconds
    FROM openshift_storage_usage_line_items_daily AS sli
    CROSS JOIN cte_pg_enabled_keys AS pek
    LEFT JOIN cte_volume_nodes AS vn
        ON vn.usage_start = CAST(sli.interval_start AS DATE)
        AND vn.persistentvolumeclaim = sli.persistentvolumeclaim
        AND vn.pod = sli.pod
        AND vn.namespace = sli.namespace
    LEFT JOIN cte_shared_volume_node_count AS nc
        ON nc.usage_start = CAST(sli.interval_start AS DATE) AND nc.persistentvolume = sli.persistentvolume
    LEFT JOIN cte_ocp_node_label_line_item_daily AS nli
        ON nli.node = vn.node AND nli.usage_start = vn.usage_start
    LEFT JOIN cte_ocp_namespace_label_line_item_daily AS nsli
        ON nsli.namespace = sli.namespace AND nsli.usage_start = CAST(sli.interval_start AS DATE)
    LEFT JOIN reporting_ocp_cost_category_namespace AS cat_ns
        ON sli.namespace LIKE cat_ns.namespace
    WHERE sli.interval_start >= $start AND sli.interval_start < $end
    GROUP BY sli.namespace, vn.node, vn.resource_id, sli.persistentvolumeclaim, sli.persistentvolume,
        sli.storageclass, sli.csi_volume_handle, CAST(sli.interval_start AS DATE), 8, 9
) AS sua
"""

_UNALLOCATED = """
INSERT INTO summary (uuid, report_period_id, cluster_id, cluster_alias, usage_start, usage_end, namespace,
    node, resource_id, pod_usage_cpu_core_hours, pod_request_cpu_core_hours,
    pod_effective_usage_cpu_core_hours, pod_usage_memory_gigabyte_hours, pod_request_memory_gigabyte_hours,
    pod_effective_usage_memory_gigabyte_hours, node_capacity_cpu_cores, node_capacity_cpu_core_hours,
    node_capacity_memory_gigabytes, node_capacity_memory_gigabyte_hours, cluster_capacity_cpu_core_hours,
    cluster_capacity_memory_gigabyte_hours, data_source, source_uuid, cost_category_id)
WITH cte_node_role AS (
    SELECT max(node_role) AS node_role, node, resource_id
    FROM reporting_ocp_nodes
    GROUP BY node, resource_id
),
cte_unallocated_capacity AS (
    SELECT NULL AS uuid, $report_period_id AS report_period_id, $cluster_id AS cluster_id,
        CAST($cluster_alias AS VARCHAR) AS cluster_alias,
        max(lids.usage_start) AS usage_start, max(lids.usage_end) AS usage_end,
        CASE max(nodes.node_role)
            WHEN 'master' THEN 'Platform unallocated'
            WHEN 'infra' THEN 'Platform unallocated'
            WHEN 'worker' THEN 'Worker unallocated'
        END AS namespace,
        lids.node,
        max(lids.resource_id) AS resource_id,
        max(lids.node_capacity_cpu_core_hours) - sum(lids.pod_usage_cpu_core_hours)
            AS pod_usage_cpu_core_hours,
        max(lids.node_capacity_cpu_core_hours) - sum(lids.pod_request_cpu_core_hours)
            AS pod_request_cpu_core_hours,
        max(lids.node_capacity_cpu_core_hours) - sum(lids.pod_effective_usage_cpu_core_hours)
            AS pod_effective_usage_cpu_core_hours,
        max(lids.node_capacity_memory_gigabyte_hours) - sum(lids.pod_usage_memory_gigabyte_hours)
            AS pod_usage_memory_gigabyte_hours,
        max(lids.node_capacity_memory_gigabyte_hours) - sum(lids.pod_request_memory_gigabyte_hours)
            AS pod_request_memory_gigabyte_hours,
        max(lids.node_capacity_memory_gigabyte_hours) - sum(lids.pod_effective_usage_memory_gigabyte_hours)
            AS pod_effective_usage_memory_gigabyte_hours,
        max(lids.node_capacity_cpu_cores) AS node_capacity_cpu_cores,
        max(lids.node_capacity_cpu_core_hours) AS node_capacity_cpu_core_hours,
        max(lids.node_capacity_memory_gigabytes) AS node_capacity_memory_gigabytes,
        max(lids.node_capacity_memory_gigabyte_hours) AS node_capacity_memory_gigabyte_hours,
        max(lids.cluster_capacity_cpu_core_hours) AS cluster_capacity_cpu_core_hours,
        max(lids.cluster_capacity_memory_gigabyte_hours) AS cluster_capacity_memory_gigabyte_hours,
        max(lids.data_source) AS data_source,
        lids.source_uuid
    FROM summary AS lids
    LEFT JOIN cte_node_role AS nodes
        ON lids.node = nodes.node AND lids.resource_id = nodes.resource_id
    WHERE lids.usage_start >= $start AND lids.usage_start < $end
        AND lids.namespace != 'Platform unallocated'
        AND lids.namespace != 'Worker unallocated'
        AND lids.namespace != 'Network unattributed'
        AND lids.namespace != 'Storage unattributed'
        AND lids.node IS NOT NULL
        AND lids.data_source = 'Pod'
    GROUP BY lids.node, lids.usage_start, lids.source_uuid
)
SELECT uuid, report_period_id, cluster_id, cluster_alias, usage_start, usage_end, uc.namespace, node,
    resource_id, pod_usage_cpu_core_hours, pod_request_cpu_core_hours, pod_effective_usage_cpu_core_hours,
    pod_usage_memory_gigabyte_hours, pod_request_memory_gigabyte_hours,
    pod_effective_usage_memory_gigabyte_hours, node_capacity_cpu_cores, node_capacity_cpu_core_hours,
    node_capacity_memory_gigabytes, node_capacity_memory_gigabyte_hours, cluster_capacity_cpu_core_hours,
    cluster_capacity_memory_gigabyte_hours, data_source, source_uuid,
    cat_ns.cost_category_id AS cost_category_id
FROM cte_unallocated_capacity AS uc
LEFT JOIN reporting_ocp_cost_category_namespace AS cat_ns
    ON uc.namespace LIKE cat_ns.namespace
"""

# The last INSERT of koku's script: from the Hive summary into PostgreSQL, with all_labels.
_FINAL = """
SELECT uuid, report_period_id, cluster_id, cluster_alias, data_source, usage_start, usage_end, namespace,
    node, resource_id, pod_labels, pod_usage_cpu_core_hours, pod_request_cpu_core_hours,
    pod_effective_usage_cpu_core_hours, pod_limit_cpu_core_hours, pod_usage_memory_gigabyte_hours,
    pod_request_memory_gigabyte_hours, pod_effective_usage_memory_gigabyte_hours,
    pod_limit_memory_gigabyte_hours, node_capacity_cpu_cores, node_capacity_cpu_core_hours,
    node_capacity_memory_gigabytes, node_capacity_memory_gigabyte_hours, cluster_capacity_cpu_core_hours,
    cluster_capacity_memory_gigabyte_hours, persistentvolumeclaim, persistentvolume, storageclass,
    volume_labels,
    map_json(map_concat(json_map(coalesce(pod_labels, '{}')), json_map(coalesce(volume_labels, '{}'))))
        AS all_labels,
    persistentvolumeclaim_capacity_gigabyte, persistentvolumeclaim_capacity_gigabyte_months,
    volume_request_storage_gigabyte_months, persistentvolumeclaim_usage_gigabyte_months, source_uuid,
    infrastructure_usage_cost, cost_category_id
FROM summary
"""

_SUMMARY_DDL = """
CREATE OR REPLACE TEMP TABLE summary (
    uuid VARCHAR, report_period_id BIGINT, cluster_id VARCHAR, cluster_alias VARCHAR, data_source VARCHAR,
    usage_start DATE, usage_end DATE, namespace VARCHAR, node VARCHAR, resource_id VARCHAR,
    pod_labels VARCHAR, pod_usage_cpu_core_hours DOUBLE, pod_request_cpu_core_hours DOUBLE,
    pod_effective_usage_cpu_core_hours DOUBLE, pod_limit_cpu_core_hours DOUBLE,
    pod_usage_memory_gigabyte_hours DOUBLE, pod_request_memory_gigabyte_hours DOUBLE,
    pod_effective_usage_memory_gigabyte_hours DOUBLE, pod_limit_memory_gigabyte_hours DOUBLE,
    node_capacity_cpu_cores DOUBLE, node_capacity_cpu_core_hours DOUBLE,
    node_capacity_memory_gigabytes DOUBLE, node_capacity_memory_gigabyte_hours DOUBLE,
    cluster_capacity_cpu_core_hours DOUBLE, cluster_capacity_memory_gigabyte_hours DOUBLE,
    persistentvolumeclaim VARCHAR, persistentvolume VARCHAR, storageclass VARCHAR, volume_labels VARCHAR,
    persistentvolumeclaim_capacity_gigabyte DOUBLE, persistentvolumeclaim_capacity_gigabyte_months DOUBLE,
    volume_request_storage_gigabyte_months DOUBLE, persistentvolumeclaim_usage_gigabyte_months DOUBLE,
    source_uuid VARCHAR, infrastructure_usage_cost VARCHAR, csi_volume_handle VARCHAR, cost_category_id BIGINT
)
"""

# The hourly columns each table exposes (koku's Hive tables have them all; a file lacking one reads NULL).
_HOURLY = {
    "pod_usage": (
        "openshift_pod_usage_line_items",
        "interval_start, namespace, node, pod, resource_id, pod_labels, pod_usage_cpu_core_seconds, "
        "pod_request_cpu_core_seconds, pod_limit_cpu_core_seconds, pod_usage_memory_byte_seconds, "
        "pod_request_memory_byte_seconds, pod_limit_memory_byte_seconds, node_capacity_cpu_cores, "
        "node_capacity_cpu_core_seconds, node_capacity_memory_bytes, node_capacity_memory_byte_seconds, "
        "pod_effective_usage_cpu_core_seconds, pod_effective_usage_memory_byte_seconds",
    ),
    "storage_usage": (
        "openshift_storage_usage_line_items",
        "interval_start, namespace, node, pod, persistentvolumeclaim, persistentvolume, storageclass, "
        "csi_driver, csi_volume_handle, persistentvolumeclaim_capacity_bytes, "
        "persistentvolumeclaim_capacity_byte_seconds, volume_request_storage_byte_seconds, "
        "persistentvolumeclaim_usage_byte_seconds, persistentvolume_labels, persistentvolumeclaim_labels",
    ),
    "node_labels": ("openshift_node_labels_line_items", "interval_start, node, node_labels"),
    "namespace_labels": (
        "openshift_namespace_labels_line_items",
        "interval_start, namespace, namespace_labels",
    ),
}


def _months(start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    first = start
    while first <= end:
        nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        yield first, min(end, nxt - dt.timedelta(days=1))
        first = nxt


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB at its best settings: every core, no memory limit, order not preserved."""
    return duckdb.connect(
        config={
            "threads": threads or os.cpu_count() or 1,
            "memory_limit": "-1",
            "preserve_insertion_order": False,
        }
    )


def _month(
    con: duckdb.DuckDBPyConnection,
    root: str,
    account: str,
    source_uuid: str,
    first: dt.date,
    last: dt.date,
    params: dict[str, object],
) -> pa.Table:
    start = dt.datetime.combine(first, dt.time())
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
    for report_type, (table, columns) in _HOURLY.items():
        folder = month_dir(root, account, report_type, source_uuid, first.year, first.month)
        files = sorted(str(p) for p in Path(folder).glob("*.parquet")) if Path(folder).is_dir() else []
        if files:
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT {columns} "
                f"FROM read_parquet([{listed}], union_by_name = true)"
            )
        else:  # no files: an empty table of the same columns (NULL-typed is enough for the joins)
            names = ", ".join(f"NULL::VARCHAR AS {c.strip()}" for c in columns.split(","))
            names = names.replace("NULL::VARCHAR AS interval_start", "NULL::TIMESTAMP AS interval_start")
            con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT {names} WHERE false")
    for statement in _DAILY:
        con.execute(statement.replace("CREATE TEMP TABLE", "CREATE OR REPLACE TEMP TABLE"))
    con.execute(_SUMMARY_DDL)
    month_params = {**params, "start": start, "end": end}
    con.execute("INSERT INTO summary " + _CTES + _POD + " UNION " + _STORAGE, month_params)
    con.execute(_UNALLOCATED, {k: v for k, v in month_params.items() if k != "source"})
    return con.sql(_FINAL).to_arrow_table()


def koku_sql_table(
    root: str | Path,
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
    threads: int | None = None,
) -> pa.Table:
    """koku's summary rows for the range, computed by DuckDB from the hourly files (SUMMARY_SCHEMA)."""
    con = connect(threads)
    try:
        for macro in _MACROS:
            con.execute(macro)
        for ddl in (
            "reporting_enabledtagkeys (key VARCHAR, enabled BOOLEAN, provider_type VARCHAR)",
            "reporting_ocp_cost_category_namespace (namespace VARCHAR, cost_category_id BIGINT)",
            "reporting_ocp_nodes (node VARCHAR, resource_id VARCHAR, node_role VARCHAR)",
        ):
            con.execute(f"CREATE TEMP TABLE {ddl}")
        keys = [(k, True, "OCP") for k in enabled_keys]
        if keys:
            con.executemany("INSERT INTO reporting_enabledtagkeys VALUES (?, ?, ?)", keys)
        cats = [(p, int(i)) for p, i in cost_categories]
        if cats:
            con.executemany("INSERT INTO reporting_ocp_cost_category_namespace VALUES (?, ?)", cats)
        roles = [tuple(r) for r in node_roles]
        if roles:
            con.executemany("INSERT INTO reporting_ocp_nodes VALUES (?, ?, ?)", roles)
        params: dict[str, object] = {
            "report_period_id": report_period_id,
            "cluster_id": cluster_id,
            "cluster_alias": cluster_alias,
            "source": source_uuid,
        }
        parts = []
        for first, last in _months(start_date, end_date):
            rows = _month(con, str(root), account, source_uuid, first, last, params)
            parts.append(
                pa.Table.from_arrays(
                    [rows.column(f.name).cast(f.type) for f in SUMMARY_SCHEMA], schema=SUMMARY_SCHEMA
                )
            )
        return pa.concat_tables(parts) if parts else SUMMARY_SCHEMA.empty_table()
    finally:
        con.close()
