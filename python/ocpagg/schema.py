"""Column names and Arrow types of the input reports and of the summary rows."""

from __future__ import annotations

import pyarrow as pa

REPORT_TYPES = ("pod_usage", "storage_usage", "node_labels", "namespace_labels")

TIMESTAMP_COLUMNS = ("report_period_start", "report_period_end", "interval_start", "interval_end")

# Columns the kernel reads from each hourly report type, with the type koku's post-processor writes.
# Only the columns in OPTIONAL_COLUMNS may be absent (koku added them over the years; they then read as
# NULL); a file lacking any other is corrupt (SPEC §1).
INPUT_COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "pod_usage": {
        "interval_start": pa.timestamp("ms"),
        "namespace": pa.string(),
        "node": pa.string(),
        "pod": pa.string(),
        "resource_id": pa.string(),
        "pod_labels": pa.string(),
        "pod_usage_cpu_core_seconds": pa.float64(),
        "pod_request_cpu_core_seconds": pa.float64(),
        "pod_limit_cpu_core_seconds": pa.float64(),
        "pod_usage_memory_byte_seconds": pa.float64(),
        "pod_request_memory_byte_seconds": pa.float64(),
        "pod_limit_memory_byte_seconds": pa.float64(),
        "node_capacity_cpu_cores": pa.float64(),
        "node_capacity_cpu_core_seconds": pa.float64(),
        "node_capacity_memory_bytes": pa.float64(),
        "node_capacity_memory_byte_seconds": pa.float64(),
        "pod_effective_usage_cpu_core_seconds": pa.float64(),
        "pod_effective_usage_memory_byte_seconds": pa.float64(),
    },
    "storage_usage": {
        "interval_start": pa.timestamp("ms"),
        "namespace": pa.string(),
        "pod": pa.string(),
        "persistentvolumeclaim": pa.string(),
        "persistentvolume": pa.string(),
        "storageclass": pa.string(),
        "csi_volume_handle": pa.string(),
        "persistentvolumeclaim_capacity_bytes": pa.float64(),
        "persistentvolumeclaim_capacity_byte_seconds": pa.float64(),
        "volume_request_storage_byte_seconds": pa.float64(),
        "persistentvolumeclaim_usage_byte_seconds": pa.float64(),
        "persistentvolume_labels": pa.string(),
        "persistentvolumeclaim_labels": pa.string(),
    },
    "node_labels": {
        "interval_start": pa.timestamp("ms"),
        "node": pa.string(),
        "node_labels": pa.string(),
    },
    "namespace_labels": {
        "interval_start": pa.timestamp("ms"),
        "namespace": pa.string(),
        "namespace_labels": pa.string(),
    },
}

OPTIONAL_COLUMNS: dict[str, frozenset[str]] = {
    "pod_usage": frozenset(
        {"pod_effective_usage_cpu_core_seconds", "pod_effective_usage_memory_byte_seconds", "node_role"}
    ),
    "storage_usage": frozenset({"node", "csi_driver", "csi_volume_handle"}),
    "node_labels": frozenset(),
    "namespace_labels": frozenset(),
}

_F = pa.float64()
_S = pa.string()

# The columns of koku's PostgreSQL insert, in its order, as `summarize_table` returns them.
SUMMARY_SCHEMA = pa.schema(
    [
        ("uuid", _S),
        ("report_period_id", pa.int64()),
        ("cluster_id", _S),
        ("cluster_alias", _S),
        ("data_source", _S),
        ("usage_start", pa.date32()),
        ("usage_end", pa.date32()),
        ("namespace", _S),
        ("node", _S),
        ("resource_id", _S),
        ("pod_labels", _S),
        ("pod_usage_cpu_core_hours", _F),
        ("pod_request_cpu_core_hours", _F),
        ("pod_effective_usage_cpu_core_hours", _F),
        ("pod_limit_cpu_core_hours", _F),
        ("pod_usage_memory_gigabyte_hours", _F),
        ("pod_request_memory_gigabyte_hours", _F),
        ("pod_effective_usage_memory_gigabyte_hours", _F),
        ("pod_limit_memory_gigabyte_hours", _F),
        ("node_capacity_cpu_cores", _F),
        ("node_capacity_cpu_core_hours", _F),
        ("node_capacity_memory_gigabytes", _F),
        ("node_capacity_memory_gigabyte_hours", _F),
        ("cluster_capacity_cpu_core_hours", _F),
        ("cluster_capacity_memory_gigabyte_hours", _F),
        ("persistentvolumeclaim", _S),
        ("persistentvolume", _S),
        ("storageclass", _S),
        ("volume_labels", _S),
        ("all_labels", _S),
        ("persistentvolumeclaim_capacity_gigabyte", _F),
        ("persistentvolumeclaim_capacity_gigabyte_months", _F),
        ("volume_request_storage_gigabyte_months", _F),
        ("persistentvolumeclaim_usage_gigabyte_months", _F),
        ("source_uuid", _S),
        ("infrastructure_usage_cost", _S),
        ("cost_category_id", pa.int64()),
    ]
)

# The summary's measures (numeric(33,15) in koku's table), in insert order.
MEASURE_COLUMNS: tuple[str, ...] = tuple(f.name for f in SUMMARY_SCHEMA if pa.types.is_floating(f.type))

# What the kernel emits: the summary columns plus csi_volume_handle, which only the Hive twin keeps.
KERNEL_SCHEMA = SUMMARY_SCHEMA.append(pa.field("csi_volume_handle", _S))

INFRASTRUCTURE_USAGE_COST = '{"cpu": 0.000000000, "memory": 0.000000000, "storage": 0.000000000}'
