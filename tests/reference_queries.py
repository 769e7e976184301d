"""An independent DuckDB rendering of koku's other OCP Trino queries (SPEC §5-§8), for differential tests.

Written from koku's SQL at 768be82 (reportdb_accessor_trino.py's node/PVC/project/min-max queries,
reporting_ocp_gpu_summary_p_usage_only.sql, populate_vm_tmp_table*.sql) and SPEC, not from ocpagg's
code. It loads the Parquet folders koku's Hive tables would read (source, year, month of start_date)
with DuckDB's own reader and runs one SQL statement per query. Slow and plain on purpose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

S, F, TS = "VARCHAR", "DOUBLE", "TIMESTAMP"

TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "pod_usage": {
        "interval_start": TS,
        "namespace": S,
        "node": S,
        "pod": S,
        "resource_id": S,
        "pod_labels": S,
        "node_capacity_cpu_cores": F,
        "node_role": S,
    },
    "node_labels": {"interval_start": TS, "node": S, "node_labels": S},
    "storage_usage": {
        "interval_start": TS,
        "pod": S,
        "persistentvolume": S,
        "persistentvolumeclaim": S,
        "csi_volume_handle": S,
    },
    "gpu_usage": {
        "interval_start": TS,
        "namespace": S,
        "node": S,
        "gpu_uuid": S,
        "gpu_model_name": S,
        "gpu_vendor_name": S,
        "gpu_memory_capacity_mib": F,
        "mig_instance_id": S,
        "mig_profile": S,
        "mig_strategy": S,
        "mig_slice_count": F,
        "gpu_max_slices": F,
        "mig_memory_capacity_mib": F,
    },
    "vm_usage": {
        "interval_start": TS,
        "vm_name": S,
        "node": S,
        "vm_persistentvolumeclaim_name": S,
        "vm_cpu_request_cores": F,
        "vm_memory_request_bytes": F,
    },
}


def _folder(
    root: Path, account: str, report_type: str, source: str, year: int, month: int, daily: bool
) -> Path:
    tree = Path(root) / "data" / "parquet"
    if daily:
        tree = tree / "daily"
    return (
        tree / account / "OCP" / report_type / f"source={source}" / f"year={year:04d}" / f"month={month:02d}"
    )


def _load(
    con: duckdb.DuckDBPyConnection,
    name: str,
    root: Path,
    account: str,
    report_type: str,
    source: str,
    month_of: dt.date,
    *,
    daily: bool,
) -> None:
    """Create table ``name`` with the report's columns from one month folder (absent columns NULL)."""
    columns = TABLE_COLUMNS[report_type]
    files = sorted(
        str(p)
        for p in _folder(root, account, report_type, source, month_of.year, month_of.month, daily).glob(
            "*.parquet"
        )
    )
    if not files:
        cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in columns.items())
        con.execute(f"CREATE TABLE {name} AS SELECT {cols} LIMIT 0")
        return
    scan = f"read_parquet({files!r}, union_by_name = true)"
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    cols = ", ".join(
        (f"CAST({c} AS {t}) AS {c}" if c in present else f"CAST(NULL AS {t}) AS {c}")
        for c, t in columns.items()
    )
    con.execute(f"CREATE TABLE {name} AS SELECT {cols} FROM {scan}")


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # Trino's json_extract_scalar(j, '$.k'): the member's text when it is a scalar, else NULL.
    con.execute(
        """CREATE MACRO jscalar(j, k) AS CASE
            WHEN j IS NULL OR NOT json_valid(j) THEN NULL
            WHEN json_type(j) <> 'OBJECT' THEN NULL
            WHEN json_type(j, '$."' || k || '"') IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN')
                THEN json_extract_string(j, '$."' || k || '"')
            END"""
    )
    return con


def _range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime(start.year, start.month, start.day), dt.datetime(
        end.year, end.month, end.day
    ) + dt.timedelta(days=1)


# ---- §5 -------------------------------------------------------------------------------------------


def ref_usage_bounds(root: Path, account: str, source: str, start: dt.date, end: dt.date) -> tuple[Any, Any]:
    con = _connect()
    _load(con, "pod", root, account, "pod_usage", source, start, daily=True)
    low, high = _range(start, end)
    return con.execute(
        "SELECT min(interval_start), max(interval_start) FROM pod"
        " WHERE interval_start >= ? AND interval_start < ?",
        [low, high],
    ).fetchone()


# ---- §6 -------------------------------------------------------------------------------------------


def ref_cluster_information(
    root: Path, account: str, source: str, start: dt.date, end: dt.date
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    con = _connect()
    _load(con, "ocp", root, account, "pod_usage", source, start, daily=True)
    _load(con, "nl", root, account, "node_labels", source, start, daily=True)
    _load(con, "st", root, account, "storage_usage", source, start, daily=True)
    low, high = _range(start, end)
    nodes = con.execute(
        """
        SELECT ocp.node, ocp.resource_id, max(ocp.node_capacity_cpu_cores),
            coalesce(max(ocp.node_role), CASE
                WHEN bool_or(ocp.namespace = 'openshift-kube-apiserver') THEN 'master'
                WHEN bool_or(nl.node_labels LIKE '%"node_role_kubernetes_io": "infra"%') THEN 'infra'
                ELSE 'worker' END),
            lower(jscalar(max(nl.node_labels), 'kubernetes_io_arch'))
        FROM ocp JOIN nl ON ocp.node = nl.node
        WHERE ocp.interval_start >= $1 AND ocp.interval_start < $2
            AND nl.interval_start >= $1 AND nl.interval_start < $2
        GROUP BY ocp.node, ocp.resource_id
        ORDER BY 1, 2
        """,
        [low, high],
    ).fetchall()
    pvcs = con.execute(
        """SELECT DISTINCT persistentvolume, persistentvolumeclaim, csi_volume_handle FROM st
        WHERE interval_start >= $1 AND interval_start < $2 ORDER BY 1, 2, 3 NULLS FIRST""",
        [low, high],
    ).fetchall()
    projects = con.execute(
        "SELECT DISTINCT namespace FROM ocp WHERE interval_start >= $1 AND interval_start < $2"
        " ORDER BY 1 NULLS FIRST",
        [low, high],
    ).fetchall()
    return nodes, pvcs, projects


# ---- §7 -------------------------------------------------------------------------------------------


def ref_gpu_rows(
    root: Path,
    account: str,
    source: str,
    start: dt.date,
    end: dt.date,
    *,
    cluster_id: str,
    cluster_alias: str | None,
    cost_categories: Iterable[tuple[str, int]] = (),
) -> list[dict[str, Any]]:
    con = _connect()
    _load(con, "gpu_raw", root, account, "gpu_usage", source, start, daily=True)
    # pandas may write a missing MIG number as NaN; it is NULL (SPEC §7)
    con.execute(
        """CREATE TABLE gpu AS SELECT * REPLACE (
            CASE WHEN isnan(mig_slice_count) THEN NULL ELSE mig_slice_count END AS mig_slice_count,
            CASE WHEN isnan(gpu_max_slices) THEN NULL ELSE gpu_max_slices END AS gpu_max_slices,
            CASE WHEN isnan(mig_memory_capacity_mib) THEN NULL ELSE mig_memory_capacity_mib END
                AS mig_memory_capacity_mib
        ) FROM gpu_raw"""
    )
    con.execute("CREATE TABLE cat_ns (namespace VARCHAR, cost_category_id INTEGER)")
    for pattern, cid in cost_categories:
        con.execute("INSERT INTO cat_ns VALUES (?, ?)", [pattern, cid])
    cur = con.execute(
        """
        SELECT $3 AS cluster_id, $4 AS cluster_alias,
            CAST(gpu.interval_start AS DATE) AS usage_start, CAST(gpu.interval_start AS DATE) AS usage_end,
            gpu.namespace, gpu.node, gpu.gpu_vendor_name AS vendor_name, gpu.gpu_model_name AS model_name,
            max(gpu.gpu_memory_capacity_mib) * 0.001048576::DOUBLE AS memory_capacity_gb,
            max(gpu.mig_instance_id) AS mig_instance_id, max(gpu.gpu_uuid) AS gpu_uuid,
            CASE WHEN max(gpu.mig_profile) IS NOT NULL THEN 'MIG' ELSE 'dedicated' END AS gpu_mode,
            max(gpu.mig_profile) AS mig_profile,
            CAST(sign(max(gpu.mig_slice_count)) * floor(abs(max(gpu.mig_slice_count)) + 0.5) AS INTEGER)
                AS mig_slice_count,
            CAST(sign(max(gpu.gpu_max_slices)) * floor(abs(max(gpu.gpu_max_slices)) + 0.5) AS INTEGER)
                AS gpu_max_slices,
            max(gpu.mig_strategy) AS mig_strategy,
            max(gpu.mig_memory_capacity_mib) * 0.001048576::DOUBLE AS mig_memory_capacity_gb,
            $5 AS source_uuid,
            max(cat_ns.cost_category_id) AS cost_category_id
        FROM gpu LEFT JOIN cat_ns ON gpu.namespace LIKE cat_ns.namespace
        WHERE CAST(gpu.interval_start AS DATE) >= $1 AND CAST(gpu.interval_start AS DATE) <= $2
        GROUP BY gpu.namespace, gpu.node, gpu.gpu_vendor_name, gpu.gpu_model_name, gpu.mig_profile,
            gpu.interval_start, gpu.mig_instance_id, gpu.gpu_uuid
        """,
        [start, end, cluster_id, cluster_alias, source],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# ---- §8 -------------------------------------------------------------------------------------------


def ref_vm_rows_with_report(root: Path, account: str, source: str, start: dt.date) -> list[tuple]:
    con = _connect()
    _load(con, "vm", root, account, "vm_usage", source, start, daily=False)
    return con.execute(
        """
        SELECT latest.vm_name, latest.node, pvc.vm_persistentvolumeclaim_name,
            max(latest.cpu_request), max(latest.mem_request)
        FROM (
            SELECT vm_name, node, max(vm_cpu_request_cores) * 24 AS cpu_request,
                max(vm_memory_request_bytes) * power(2, -30) * 24 AS mem_request
            FROM vm WHERE interval_start = (SELECT max(interval_start) FROM vm)
            GROUP BY vm_name, node
        ) AS latest
        JOIN vm AS pvc ON pvc.vm_name = latest.vm_name
        GROUP BY latest.vm_name, latest.node, pvc.vm_persistentvolumeclaim_name
        ORDER BY 1, 2, 3 NULLS FIRST
        """
    ).fetchall()


def ref_vm_rows_from_summary(
    root: Path, account: str, source: str, start: dt.date, end: dt.date, summary: pa.Table
) -> list[tuple]:
    con = _connect()
    _load(con, "pod_usage", root, account, "pod_usage", source, start, daily=True)
    _load(con, "storage", root, account, "storage_usage", source, start, daily=True)
    con.register("summary_arrow", summary)
    con.execute(
        """CREATE TABLE summary AS SELECT CAST(usage_start AS DATE) AS usage_start,
            CAST(source_uuid AS VARCHAR) AS source_uuid,
            CAST(node AS VARCHAR) AS node, CAST(pod_labels AS VARCHAR) AS pod_labels,
            CAST(pod_request_cpu_core_hours AS DOUBLE) AS pod_request_cpu_core_hours,
            CAST(pod_request_memory_gigabyte_hours AS DOUBLE) AS pod_request_memory_gigabyte_hours
        FROM summary_arrow"""
    )
    return con.execute(
        """
        WITH stld AS (
            SELECT day FROM (
                SELECT DISTINCT usage_start AS day FROM summary
                WHERE usage_start >= $1 AND usage_start <= $2 AND source_uuid = $3
                    AND pod_request_cpu_core_hours IS NOT NULL
                ORDER BY day DESC LIMIT 2
            ) ORDER BY day LIMIT 1
        )
        SELECT latest.vm_name, latest.node_name, pvc.pvc_name,
            latest.cpu_request_hours, latest.memory_request_hours
        FROM (
            SELECT jscalar(pod_labels, 'vm_kubevirt_io_name') AS vm_name,
                pod_request_cpu_core_hours AS cpu_request_hours,
                pod_request_memory_gigabyte_hours AS memory_request_hours,
                node AS node_name,
                -- SPEC §8's tie rule for Trino's arbitrary pick among one day's rows
                row_number() OVER (PARTITION BY jscalar(pod_labels, 'vm_kubevirt_io_name')
                    ORDER BY usage_start DESC, node DESC NULLS LAST,
                        pod_request_cpu_core_hours DESC NULLS LAST,
                        pod_request_memory_gigabyte_hours DESC NULLS LAST) AS rn
            FROM summary JOIN stld ON summary.usage_start = stld.day
            WHERE usage_start >= $1 AND usage_start <= $2 AND pod_request_cpu_core_hours IS NOT NULL
                AND jscalar(pod_labels, 'vm_kubevirt_io_name') IS NOT NULL
        ) AS latest
        LEFT JOIN (
            SELECT storage.persistentvolumeclaim AS pvc_name,
                jscalar(pod_usage.pod_labels, 'vm_kubevirt_io_name') AS vm_name
            FROM pod_usage JOIN storage ON pod_usage.pod = storage.pod
            WHERE storage.persistentvolumeclaim IS NOT NULL AND storage.persistentvolumeclaim <> ''
                AND jscalar(pod_usage.pod_labels, 'vm_kubevirt_io_name') IS NOT NULL
            GROUP BY 1, 2
        ) AS pvc ON pvc.vm_name = latest.vm_name
        WHERE latest.rn = 1
        ORDER BY 1, 2, 3 NULLS FIRST
        """,
        [start, end, source],
    ).fetchall()
