"""An independent reference of koku's Trino summary SQL, written as DuckDB SQL over the hourly tree.

It rebuilds koku's daily trees from the hourly files (as koku's post-processor does), then renders
the Trino script's CTEs, the pod and storage SELECTs and the unallocated step in DuckDB SQL, one month
at a time. It is slow and simple on purpose: its only job is to be right. Label sets travel as JSON
text with sorted keys, so equal sets compare equal whatever their key order (Trino casts a map to JSON
with sorted keys and compares maps by content).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

try:
    from ocpagg.schema import INFRASTRUCTURE_USAGE_COST, SUMMARY_SCHEMA
except ImportError:  # the compiled kernel is not built yet: read the schema module from the source tree
    import importlib.util

    _spec = importlib.util.spec_from_file_location(
        "_ocpagg_schema", Path(__file__).resolve().parents[1] / "python" / "ocpagg" / "schema.py"
    )
    assert _spec is not None and _spec.loader is not None
    _schema = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_schema)
    INFRASTRUCTURE_USAGE_COST, SUMMARY_SCHEMA = _schema.INFRASTRUCTURE_USAGE_COST, _schema.SUMMARY_SCHEMA

TS = pa.timestamp("ms")
F = pa.float64()
S = pa.string()

# The hourly columns the reference reads; any of them missing from a file reads as NULL.
_READ: dict[str, dict[str, pa.DataType]] = {
    "pod_usage": {
        "interval_start": TS,
        "namespace": S,
        "node": S,
        "pod": S,
        "resource_id": S,
        "pod_labels": S,
        "pod_usage_cpu_core_seconds": F,
        "pod_request_cpu_core_seconds": F,
        "pod_limit_cpu_core_seconds": F,
        "pod_usage_memory_byte_seconds": F,
        "pod_request_memory_byte_seconds": F,
        "pod_limit_memory_byte_seconds": F,
        "node_capacity_cpu_cores": F,
        "node_capacity_cpu_core_seconds": F,
        "node_capacity_memory_bytes": F,
        "node_capacity_memory_byte_seconds": F,
        "pod_effective_usage_cpu_core_seconds": F,
        "pod_effective_usage_memory_byte_seconds": F,
    },
    "storage_usage": {
        "interval_start": TS,
        "namespace": S,
        "node": S,
        "pod": S,
        "persistentvolumeclaim": S,
        "persistentvolume": S,
        "storageclass": S,
        "csi_driver": S,
        "csi_volume_handle": S,
        "persistentvolumeclaim_capacity_bytes": F,
        "persistentvolumeclaim_capacity_byte_seconds": F,
        "volume_request_storage_byte_seconds": F,
        "persistentvolumeclaim_usage_byte_seconds": F,
        "persistentvolume_labels": S,
        "persistentvolumeclaim_labels": S,
    },
    "node_labels": {"interval_start": TS, "node": S, "node_labels": S},
    "namespace_labels": {"interval_start": TS, "namespace": S, "namespace_labels": S},
}

_TABLE_NAMES = {
    "pod_usage": "pod_hourly",
    "storage_usage": "storage_hourly",
    "node_labels": "node_labels_hourly",
    "namespace_labels": "namespace_labels_hourly",
}

_MACROS = """
-- JSON object text -> MAP(VARCHAR, VARCHAR)
CREATE MACRO lbl(j) AS CAST(CAST(j AS JSON) AS MAP(VARCHAR, VARCHAR));
-- keep the keys in the list ks, a NULL list keeps nothing (Trino: contains(NULL, k) is NULL)
CREATE MACRO lfilter(m, ks) AS
    map_from_entries(list_filter(map_entries(m), lambda e: list_contains(ks, e.key)));
-- canonical JSON text: keys sorted
CREATE MACRO ltext(m) AS CAST(to_json(map_from_entries(list_sort(map_entries(m)))) AS VARCHAR);
"""

# koku's post-processor: pod daily rows per (namespace, node, pod, pod_labels, day), sums and maxima.
# Where the hourly rows lack the effective-usage value, the daily row holds NULL there and Trino's
# coalesce falls back to greatest(daily usage, daily request); rows with and without it are kept apart.
_POD_DAILY = """
CREATE TABLE pod_daily AS
SELECT CAST(interval_start AS DATE) AS usage_start, namespace, node, pod, pod_labels,
    max(resource_id) AS resource_id,
    sum(pod_usage_cpu_core_seconds) AS pod_usage_cpu_core_seconds,
    sum(pod_request_cpu_core_seconds) AS pod_request_cpu_core_seconds,
    sum(pod_limit_cpu_core_seconds) AS pod_limit_cpu_core_seconds,
    sum(pod_usage_memory_byte_seconds) AS pod_usage_memory_byte_seconds,
    sum(pod_request_memory_byte_seconds) AS pod_request_memory_byte_seconds,
    sum(pod_limit_memory_byte_seconds) AS pod_limit_memory_byte_seconds,
    coalesce(sum(pod_effective_usage_cpu_core_seconds), 0.0) + coalesce(greatest(
        sum(pod_usage_cpu_core_seconds) FILTER (WHERE pod_effective_usage_cpu_core_seconds IS NULL),
        sum(pod_request_cpu_core_seconds) FILTER (WHERE pod_effective_usage_cpu_core_seconds IS NULL)
    ), 0.0) AS pod_effective_usage_cpu_core_seconds,
    coalesce(sum(pod_effective_usage_memory_byte_seconds), 0.0) + coalesce(greatest(
        sum(pod_usage_memory_byte_seconds) FILTER (WHERE pod_effective_usage_memory_byte_seconds IS NULL),
        sum(pod_request_memory_byte_seconds) FILTER (WHERE pod_effective_usage_memory_byte_seconds IS NULL)
    ), 0.0) AS pod_effective_usage_memory_byte_seconds,
    max(node_capacity_cpu_cores) AS node_capacity_cpu_cores,
    max(node_capacity_memory_bytes) AS node_capacity_memory_bytes
FROM pod_hourly
GROUP BY CAST(interval_start AS DATE), namespace, node, pod, pod_labels
"""

# koku's post-processor: storage daily rows per its STORAGE_GROUP_BY and day.
_STORAGE_DAILY = """
CREATE TABLE storage_daily AS
SELECT CAST(interval_start AS DATE) AS usage_start, namespace, node, pod, persistentvolumeclaim,
    persistentvolume, storageclass, csi_driver, csi_volume_handle, persistentvolume_labels,
    persistentvolumeclaim_labels,
    max(persistentvolumeclaim_capacity_bytes) AS persistentvolumeclaim_capacity_bytes,
    sum(persistentvolumeclaim_capacity_byte_seconds) AS persistentvolumeclaim_capacity_byte_seconds,
    sum(volume_request_storage_byte_seconds) AS volume_request_storage_byte_seconds,
    sum(persistentvolumeclaim_usage_byte_seconds) AS persistentvolumeclaim_usage_byte_seconds
FROM storage_hourly
GROUP BY ALL
"""

_CTES = """
-- K: [vm_kubevirt_io_name] || array_agg(enabled keys), NULL when no key is enabled
CREATE TABLE pek AS
SELECT ['vm_kubevirt_io_name'] || (SELECT array_agg(key ORDER BY key) FROM enabled_keys) AS keys;

CREATE TABLE nli AS
SELECT DISTINCT CAST(h.interval_start AS DATE) AS usage_start, h.node,
    ltext(lfilter(lbl(h.node_labels), pek.keys)) AS node_labels
FROM node_labels_hourly h CROSS JOIN pek;

CREATE TABLE nsli AS
SELECT DISTINCT CAST(h.interval_start AS DATE) AS usage_start, h.namespace,
    ltext(lfilter(lbl(h.namespace_labels), pek.keys)) AS namespace_labels
FROM namespace_labels_hourly h CROSS JOIN pek;

-- capacity: per (hour, node) maxima over all pod rows (blank node included), summed per day
CREATE TABLE node_capacity AS
SELECT CAST(interval_start AS DATE) AS usage_start, node,
    sum(cpu) AS node_capacity_cpu_core_seconds, sum(mem) AS node_capacity_memory_byte_seconds
FROM (
    SELECT interval_start, node, max(node_capacity_cpu_core_seconds) AS cpu,
        max(node_capacity_memory_byte_seconds) AS mem
    FROM pod_hourly GROUP BY interval_start, node
) GROUP BY CAST(interval_start AS DATE), node;

CREATE TABLE cluster_capacity AS
SELECT usage_start, sum(node_capacity_cpu_core_seconds) AS cluster_capacity_cpu_core_seconds,
    sum(node_capacity_memory_byte_seconds) AS cluster_capacity_memory_byte_seconds
FROM node_capacity GROUP BY usage_start;

-- which node (and resource_id) a PVC's pod runs on: pod daily rows of the same namespace, pod, day
CREATE TABLE volume_nodes AS
SELECT DISTINCT sli.usage_start, sli.persistentvolumeclaim, sli.persistentvolume, sli.pod, sli.namespace,
    uli.node, uli.resource_id
FROM storage_daily sli
JOIN pod_daily uli
    ON uli.namespace = sli.namespace AND uli.pod = sli.pod AND uli.usage_start = sli.usage_start;

CREATE TABLE shared_volume_node_count AS
SELECT usage_start, persistentvolume, count(DISTINCT node) AS node_count
FROM volume_nodes GROUP BY usage_start, persistentvolume;
"""

_POD_ROWS = """
CREATE TABLE pod_rows AS
SELECT usage_start, namespace, node, max(cost_category_id) AS cost_category_id, pod_labels,
    max(resource_id) AS resource_id,
    sum(pod_usage_cpu_core_seconds) / 3600.0 AS pod_usage_cpu_core_hours,
    sum(pod_request_cpu_core_seconds) / 3600.0 AS pod_request_cpu_core_hours,
    sum(pod_effective_usage_cpu_core_seconds) / 3600.0 AS pod_effective_usage_cpu_core_hours,
    sum(pod_limit_cpu_core_seconds) / 3600.0 AS pod_limit_cpu_core_hours,
    sum(pod_usage_memory_byte_seconds) / 3600.0 * power(2, -30) AS pod_usage_memory_gigabyte_hours,
    sum(pod_request_memory_byte_seconds) / 3600.0 * power(2, -30) AS pod_request_memory_gigabyte_hours,
    sum(pod_effective_usage_memory_byte_seconds) / 3600.0 * power(2, -30)
        AS pod_effective_usage_memory_gigabyte_hours,
    sum(pod_limit_memory_byte_seconds) / 3600.0 * power(2, -30) AS pod_limit_memory_gigabyte_hours,
    max(node_capacity_cpu_cores) AS node_capacity_cpu_cores,
    max(nc_cpu) / 3600.0 AS node_capacity_cpu_core_hours,
    max(node_capacity_memory_bytes) * power(2, -30) AS node_capacity_memory_gigabytes,
    max(nc_mem) / 3600.0 * power(2, -30) AS node_capacity_memory_gigabyte_hours,
    max(cc_cpu) / 3600.0 AS cluster_capacity_cpu_core_hours,
    max(cc_mem) / 3600.0 * power(2, -30) AS cluster_capacity_memory_gigabyte_hours
FROM (
    SELECT li.usage_start, li.namespace, li.node, li.resource_id, cat.cost_category_id,
        ltext(map_concat(
            lbl(coalesce(nli.node_labels, '{}')),
            lbl(coalesce(nsli.namespace_labels, '{}')),
            lfilter(lbl(li.pod_labels), pek.keys)
        )) AS pod_labels,
        li.pod_usage_cpu_core_seconds, li.pod_request_cpu_core_seconds, li.pod_limit_cpu_core_seconds,
        li.pod_usage_memory_byte_seconds, li.pod_request_memory_byte_seconds,
        li.pod_limit_memory_byte_seconds,
        li.pod_effective_usage_cpu_core_seconds, li.pod_effective_usage_memory_byte_seconds,
        li.node_capacity_cpu_cores, li.node_capacity_memory_bytes,
        nc.node_capacity_cpu_core_seconds AS nc_cpu, nc.node_capacity_memory_byte_seconds AS nc_mem,
        cc.cluster_capacity_cpu_core_seconds AS cc_cpu, cc.cluster_capacity_memory_byte_seconds AS cc_mem
    FROM pod_daily li
    CROSS JOIN pek
    LEFT JOIN nli ON nli.node = li.node AND nli.usage_start = li.usage_start
    LEFT JOIN nsli ON nsli.namespace = li.namespace AND nsli.usage_start = li.usage_start
    LEFT JOIN node_capacity nc ON nc.usage_start = li.usage_start AND nc.node = li.node
    LEFT JOIN cluster_capacity cc ON cc.usage_start = li.usage_start
    LEFT JOIN cost_category cat ON li.namespace LIKE cat.namespace
    WHERE li.node != ''
)
GROUP BY usage_start, namespace, node, pod_labels
"""

_STORAGE_ROWS = """
CREATE TABLE storage_rows AS
SELECT namespace, node, resource_id, persistentvolumeclaim, persistentvolume, storageclass, usage_start,
    volume_labels, csi_volume_handle,
    max(cost_category_id) AS cost_category_id,
    max(persistentvolumeclaim_capacity_bytes) * power(2, -30) AS persistentvolumeclaim_capacity_gigabyte,
    sum(persistentvolumeclaim_capacity_byte_seconds) / (86400 * max(month_days)) * power(2, -30)
        AS persistentvolumeclaim_capacity_gigabyte_months,
    sum(volume_request_storage_byte_seconds) / max(node_count) / (86400 * max(month_days)) * power(2, -30)
        AS volume_request_storage_gigabyte_months,
    sum(persistentvolumeclaim_usage_byte_seconds) / max(node_count) / (86400 * max(month_days))
        * power(2, -30) AS persistentvolumeclaim_usage_gigabyte_months
FROM (
    SELECT sli.namespace, vn.node, vn.resource_id, sli.persistentvolumeclaim, sli.persistentvolume,
        sli.storageclass, sli.usage_start, sli.csi_volume_handle,
        ltext(map_concat(
            lbl(coalesce(nli.node_labels, '{}')),
            lbl(coalesce(nsli.namespace_labels, '{}')),
            lfilter(lbl(sli.persistentvolume_labels), pek.keys),
            lfilter(lbl(sli.persistentvolumeclaim_labels), pek.keys)
        )) AS volume_labels,
        cat.cost_category_id, nc.node_count,
        CAST(extract(day FROM last_day(sli.usage_start)) AS INTEGER) AS month_days,
        sli.persistentvolumeclaim_capacity_bytes, sli.persistentvolumeclaim_capacity_byte_seconds,
        sli.volume_request_storage_byte_seconds, sli.persistentvolumeclaim_usage_byte_seconds
    FROM storage_daily sli
    CROSS JOIN pek
    LEFT JOIN volume_nodes vn
        ON vn.usage_start = sli.usage_start AND vn.persistentvolumeclaim = sli.persistentvolumeclaim
        AND vn.pod = sli.pod AND vn.namespace = sli.namespace
    LEFT JOIN shared_volume_node_count nc
        ON nc.usage_start = sli.usage_start AND nc.persistentvolume = sli.persistentvolume
    LEFT JOIN nli ON nli.node = vn.node AND nli.usage_start = vn.usage_start
    LEFT JOIN nsli ON nsli.namespace = sli.namespace AND nsli.usage_start = sli.usage_start
    LEFT JOIN cost_category cat ON sli.namespace LIKE cat.namespace
)
GROUP BY namespace, node, resource_id, persistentvolumeclaim, persistentvolume, storageclass,
    csi_volume_handle, usage_start, volume_labels
"""

_UNALLOCATED_ROWS = """
CREATE TABLE unallocated_rows AS
WITH node_role AS (
    SELECT max(node_role) AS node_role, node, resource_id FROM nodes GROUP BY node, resource_id
),
uc AS (
    SELECT max(l.usage_start) AS usage_start,
        CASE max(r.node_role)
            WHEN 'master' THEN 'Platform unallocated'
            WHEN 'infra' THEN 'Platform unallocated'
            WHEN 'worker' THEN 'Worker unallocated'
        END AS namespace,
        l.node,
        max(l.resource_id) AS resource_id,
        max(l.node_capacity_cpu_core_hours) - sum(l.pod_usage_cpu_core_hours) AS pod_usage_cpu_core_hours,
        max(l.node_capacity_cpu_core_hours) - sum(l.pod_request_cpu_core_hours) AS pod_request_cpu_core_hours,
        max(l.node_capacity_cpu_core_hours) - sum(l.pod_effective_usage_cpu_core_hours)
            AS pod_effective_usage_cpu_core_hours,
        max(l.node_capacity_memory_gigabyte_hours) - sum(l.pod_usage_memory_gigabyte_hours)
            AS pod_usage_memory_gigabyte_hours,
        max(l.node_capacity_memory_gigabyte_hours) - sum(l.pod_request_memory_gigabyte_hours)
            AS pod_request_memory_gigabyte_hours,
        max(l.node_capacity_memory_gigabyte_hours) - sum(l.pod_effective_usage_memory_gigabyte_hours)
            AS pod_effective_usage_memory_gigabyte_hours,
        max(l.node_capacity_cpu_cores) AS node_capacity_cpu_cores,
        max(l.node_capacity_cpu_core_hours) AS node_capacity_cpu_core_hours,
        max(l.node_capacity_memory_gigabytes) AS node_capacity_memory_gigabytes,
        max(l.node_capacity_memory_gigabyte_hours) AS node_capacity_memory_gigabyte_hours,
        max(l.cluster_capacity_cpu_core_hours) AS cluster_capacity_cpu_core_hours,
        max(l.cluster_capacity_memory_gigabyte_hours) AS cluster_capacity_memory_gigabyte_hours
    FROM pod_rows l
    LEFT JOIN node_role r ON l.node = r.node AND l.resource_id = r.resource_id
    WHERE l.namespace NOT IN ('Platform unallocated', 'Worker unallocated', 'Network unattributed',
                              'Storage unattributed')
        AND l.node IS NOT NULL
    GROUP BY l.node, l.usage_start
)
SELECT uc.*, cat.cost_category_id
FROM uc LEFT JOIN cost_category cat ON uc.namespace LIKE cat.namespace
"""

# Final column lists, in SUMMARY_SCHEMA order after uuid, report_period_id, cluster_id, cluster_alias;
# source_uuid is added in Python.
_POD_SELECT = f"""
SELECT 'Pod' AS data_source, usage_start, usage_start AS usage_end, namespace, node, resource_id,
    pod_labels, pod_usage_cpu_core_hours, pod_request_cpu_core_hours, pod_effective_usage_cpu_core_hours,
    pod_limit_cpu_core_hours, pod_usage_memory_gigabyte_hours, pod_request_memory_gigabyte_hours,
    pod_effective_usage_memory_gigabyte_hours, pod_limit_memory_gigabyte_hours, node_capacity_cpu_cores,
    node_capacity_cpu_core_hours, node_capacity_memory_gigabytes, node_capacity_memory_gigabyte_hours,
    cluster_capacity_cpu_core_hours, cluster_capacity_memory_gigabyte_hours,
    NULL AS persistentvolumeclaim, NULL AS persistentvolume, NULL AS storageclass, NULL AS volume_labels,
    pod_labels AS all_labels,
    NULL::DOUBLE AS persistentvolumeclaim_capacity_gigabyte,
    NULL::DOUBLE AS persistentvolumeclaim_capacity_gigabyte_months,
    NULL::DOUBLE AS volume_request_storage_gigabyte_months,
    NULL::DOUBLE AS persistentvolumeclaim_usage_gigabyte_months,
    '{INFRASTRUCTURE_USAGE_COST}' AS infrastructure_usage_cost, cost_category_id
FROM pod_rows
"""

_STORAGE_SELECT = f"""
SELECT 'Storage', usage_start, usage_start, namespace, node, resource_id,
    NULL, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE,
    NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE,
    persistentvolumeclaim, persistentvolume, storageclass, volume_labels,
    ltext(map_concat(lbl('{{}}'), lbl(volume_labels))),
    persistentvolumeclaim_capacity_gigabyte, persistentvolumeclaim_capacity_gigabyte_months,
    volume_request_storage_gigabyte_months, persistentvolumeclaim_usage_gigabyte_months,
    '{INFRASTRUCTURE_USAGE_COST}', cost_category_id
FROM storage_rows
"""

_UNALLOCATED_SELECT = """
SELECT 'Pod', usage_start, usage_start, namespace, node, resource_id,
    NULL, pod_usage_cpu_core_hours, pod_request_cpu_core_hours, pod_effective_usage_cpu_core_hours,
    NULL::DOUBLE, pod_usage_memory_gigabyte_hours, pod_request_memory_gigabyte_hours,
    pod_effective_usage_memory_gigabyte_hours, NULL::DOUBLE, node_capacity_cpu_cores,
    node_capacity_cpu_core_hours, node_capacity_memory_gigabytes, node_capacity_memory_gigabyte_hours,
    cluster_capacity_cpu_core_hours, cluster_capacity_memory_gigabyte_hours,
    NULL, NULL, NULL, NULL, '{}',
    NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL::DOUBLE, NULL, cost_category_id
FROM unallocated_rows
"""


def _months(start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    """Split the inclusive range [start, end] into per-month inclusive ranges."""
    first = start
    while first <= end:
        next_month = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        last = min(end, next_month - dt.timedelta(days=1))
        yield first, last
        first = next_month


def _load(folder: Path, report_type: str) -> pa.Table:
    """All hourly files of one folder, with missing columns as NULL, cast to koku's types."""
    wanted = _READ[report_type]
    schema = pa.schema(list(wanted.items()))
    parts = []
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        table = pq.read_table(path)
        columns = [
            table.column(name).cast(kind) if name in table.column_names else pa.nulls(table.num_rows, kind)
            for name, kind in wanted.items()
        ]
        parts.append(pa.Table.from_arrays(columns, schema=schema))
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _month_rows(
    root: Path,
    account: str,
    source_uuid: str,
    first: dt.date,
    last: dt.date,
    enabled_keys: Iterable[str],
    cost_categories: Iterable[tuple[str, int]],
    node_roles: Iterable[tuple[str, str, str]],
) -> pa.Table:
    con = duckdb.connect()
    try:
        low = dt.datetime.combine(first, dt.time())
        high = dt.datetime.combine(last + dt.timedelta(days=1), dt.time())
        for report_type, name in _TABLE_NAMES.items():
            folder = (
                root
                / "data"
                / "parquet"
                / account
                / "OCP"
                / report_type
                / f"source={source_uuid}"
                / f"year={first.year:04d}"
                / f"month={first.month:02d}"
            )
            con.register(f"{name}_files", _load(folder, report_type))
            con.execute(
                f"CREATE TABLE {name} AS SELECT * FROM {name}_files "
                "WHERE interval_start >= ? AND interval_start < ?",
                [low, high],
            )
        con.execute("CREATE TABLE enabled_keys (key VARCHAR)")
        con.execute("CREATE TABLE cost_category (namespace VARCHAR, cost_category_id BIGINT)")
        con.execute("CREATE TABLE nodes (node VARCHAR, resource_id VARCHAR, node_role VARCHAR)")
        keys = [(key,) for key in enabled_keys]
        if keys:
            con.executemany("INSERT INTO enabled_keys VALUES (?)", keys)
        categories = [(pattern, int(ident)) for pattern, ident in cost_categories]
        if categories:
            con.executemany("INSERT INTO cost_category VALUES (?, ?)", categories)
        roles = [tuple(role) for role in node_roles]
        if roles:
            con.executemany("INSERT INTO nodes VALUES (?, ?, ?)", roles)
        for statement in (_MACROS + _POD_DAILY + ";" + _STORAGE_DAILY + ";" + _CTES).split(";"):
            if statement.strip():
                con.execute(statement)
        for statement in (_POD_ROWS, _STORAGE_ROWS, _UNALLOCATED_ROWS):
            con.execute(statement)
        query = f"{_POD_SELECT} UNION ALL {_STORAGE_SELECT} UNION ALL {_UNALLOCATED_SELECT}"
        return con.sql(query).to_arrow_table()
    finally:
        con.close()


def reference_table(
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
) -> pa.Table:
    """The summary rows koku's Trino SQL would write, with ocpagg.schema.SUMMARY_SCHEMA (uuid NULL)."""
    enabled_keys, cost_categories, node_roles = list(enabled_keys), list(cost_categories), list(node_roles)
    parts = []
    for first, last in _months(start_date, end_date):
        rows = _month_rows(
            Path(root), account, source_uuid, first, last, enabled_keys, cost_categories, node_roles
        )
        n = rows.num_rows
        columns = {
            "uuid": pa.nulls(n, S),
            "report_period_id": pa.array([report_period_id] * n, pa.int64()),
            "cluster_id": pa.array([cluster_id] * n, S),
            "cluster_alias": pa.array([cluster_alias] * n, S),
            **{name: rows.column(name) for name in rows.column_names},
            "source_uuid": pa.array([source_uuid] * n, S),
        }
        parts.append(
            pa.Table.from_arrays(
                [columns[f.name].cast(f.type) for f in SUMMARY_SCHEMA], schema=SUMMARY_SCHEMA
            )
        )
    return pa.concat_tables(parts) if parts else SUMMARY_SCHEMA.empty_table()
