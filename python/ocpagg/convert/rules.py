"""koku's rules for operator reports: report types, their columns, and how each column is typed.

One definition per report type (koku's ``masu/util/ocp/common.py`` holds the same facts): the
columns that identify it, its metric (float64) and label columns, the daily group-by keys and
aggregations, and the columns koku adds to the daily rows when a report lacks them. The column
sets the converter uses are derived from these definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from ..schema import TIMESTAMP_COLUMNS

THRESHOLD = 1e18
UTC_SUFFIX = " +0000 UTC"

# The type koku's daily files give a column it adds as all-null (pandas' pyarrow-backed strings
# are written as large_string; its nullable Int64 as int64).
KOKU_NULL_STRING = pa.large_string()
KOKU_NULL_INT = pa.int64()


@dataclass(frozen=True)
class ReportDef:
    """koku's definition of one operator report type."""

    strings: tuple[str, ...]  # required text columns (besides the four timestamps)
    metrics: tuple[str, ...]  # required numeric columns: float64, empty or unparsable -> 0.0
    labels: tuple[str, ...]  # required ``label_a:x|label_b:y`` columns -> JSON object text
    group_by: tuple[str, ...]  # daily keys (with the day of interval_start)
    agg: tuple[tuple[str, str], ...]  # daily (column, "sum" | "max")
    new_required: tuple[tuple[str, pa.DataType], ...] = ()  # added to the daily rows if absent

    @property
    def columns(self) -> frozenset[str]:
        """The columns a header must hold to be of this type."""
        return frozenset(TIMESTAMP_COLUMNS + self.strings + self.metrics + self.labels)


_PERIOD_AGG = (("report_period_start", "max"), ("report_period_end", "max"))

_POD_METRICS = (
    "pod_usage_cpu_core_seconds",
    "pod_request_cpu_core_seconds",
    "pod_limit_cpu_core_seconds",
    "pod_usage_memory_byte_seconds",
    "pod_request_memory_byte_seconds",
    "pod_limit_memory_byte_seconds",
    "node_capacity_cpu_cores",
    "node_capacity_cpu_core_seconds",
    "node_capacity_memory_bytes",
    "node_capacity_memory_byte_seconds",
)
_STORAGE_METRICS = (
    "persistentvolumeclaim_capacity_bytes",
    "persistentvolumeclaim_capacity_byte_seconds",
    "volume_request_storage_byte_seconds",
    "persistentvolumeclaim_usage_byte_seconds",
)
_VM_STRINGS = (
    "node",
    "namespace",
    "vm_name",
    "resource_id",
    "vm_instance_type",
    "vm_os",
    "vm_guest_os_arch",
    "vm_guest_os_name",
    "vm_guest_os_version",
    "vm_device",
    "vm_volume_mode",
    "vm_persistentvolumeclaim_name",
)
_VM_METRICS = (
    "vm_uptime_total_seconds",
    "vm_cpu_limit_cores",
    "vm_cpu_limit_core_seconds",
    "vm_cpu_request_cores",
    "vm_cpu_request_core_seconds",
    "vm_cpu_request_sockets",
    "vm_cpu_request_socket_seconds",
    "vm_cpu_request_threads",
    "vm_cpu_request_thread_seconds",
    "vm_cpu_usage_total_seconds",
    "vm_memory_limit_bytes",
    "vm_memory_limit_byte_seconds",
    "vm_memory_request_bytes",
    "vm_memory_request_byte_seconds",
    "vm_memory_usage_byte_seconds",
    "vm_disk_allocated_size_byte_seconds",
)

# Order matters: koku takes the first type whose required columns the header holds.
REPORT_DEFS: dict[str, ReportDef] = {
    "storage_usage": ReportDef(
        strings=("namespace", "pod", "persistentvolumeclaim", "persistentvolume", "storageclass"),
        metrics=_STORAGE_METRICS,
        labels=("persistentvolume_labels", "persistentvolumeclaim_labels"),
        group_by=(
            "namespace",
            "node",
            "pod",
            "persistentvolumeclaim",
            "persistentvolume",
            "storageclass",
            "csi_driver",
            "csi_volume_handle",
            "persistentvolume_labels",
            "persistentvolumeclaim_labels",
        ),
        agg=_PERIOD_AGG
        + (
            ("persistentvolumeclaim_capacity_bytes", "max"),
            ("persistentvolumeclaim_capacity_byte_seconds", "sum"),
            ("volume_request_storage_byte_seconds", "sum"),
            ("persistentvolumeclaim_usage_byte_seconds", "sum"),
        ),
        new_required=(
            ("node", KOKU_NULL_STRING),
            ("csi_driver", KOKU_NULL_STRING),
            ("csi_volume_handle", KOKU_NULL_STRING),
        ),
    ),
    "pod_usage": ReportDef(
        strings=("pod", "namespace", "node", "resource_id"),
        metrics=_POD_METRICS,
        labels=("pod_labels",),
        group_by=("namespace", "node", "pod", "pod_labels"),
        agg=_PERIOD_AGG
        + (
            ("resource_id", "max"),
            ("pod_usage_cpu_core_seconds", "sum"),
            ("pod_request_cpu_core_seconds", "sum"),
            ("pod_effective_usage_cpu_core_seconds", "sum"),
            ("pod_limit_cpu_core_seconds", "sum"),
            ("pod_usage_memory_byte_seconds", "sum"),
            ("pod_request_memory_byte_seconds", "sum"),
            ("pod_effective_usage_memory_byte_seconds", "sum"),
            ("pod_limit_memory_byte_seconds", "sum"),
            ("node_capacity_cpu_cores", "max"),
            ("node_capacity_cpu_core_seconds", "sum"),
            ("node_capacity_memory_bytes", "max"),
            ("node_capacity_memory_byte_seconds", "sum"),
            ("node_role", "max"),
        ),
        new_required=(("node_role", KOKU_NULL_STRING),),
    ),
    "node_labels": ReportDef(
        strings=("node",),
        metrics=(),
        labels=("node_labels",),
        group_by=("node", "node_labels"),
        agg=_PERIOD_AGG,
    ),
    "namespace_labels": ReportDef(
        strings=("namespace",),
        metrics=(),
        labels=("namespace_labels",),
        group_by=("namespace", "namespace_labels"),
        agg=_PERIOD_AGG,
    ),
    "vm_usage": ReportDef(
        strings=_VM_STRINGS,
        metrics=_VM_METRICS,
        labels=("vm_labels",),
        group_by=("namespace", "node", "vm_name", "vm_labels"),
        agg=_PERIOD_AGG
        + (
            ("resource_id", "max"),
            ("vm_instance_type", "max"),
            ("vm_os", "max"),
            ("vm_guest_os_arch", "max"),
            ("vm_guest_os_name", "max"),
            ("vm_guest_os_version", "max"),
            ("vm_uptime_total_seconds", "sum"),
            ("vm_cpu_limit_cores", "max"),
            ("vm_cpu_limit_core_seconds", "sum"),
            ("vm_cpu_request_cores", "max"),
            ("vm_cpu_request_core_seconds", "sum"),
            ("vm_cpu_request_sockets", "max"),
            ("vm_cpu_request_socket_seconds", "sum"),
            ("vm_cpu_request_threads", "max"),
            ("vm_cpu_request_thread_seconds", "sum"),
            ("vm_cpu_usage_total_seconds", "sum"),
            ("vm_memory_limit_bytes", "max"),
            ("vm_memory_limit_byte_seconds", "sum"),
            ("vm_memory_request_bytes", "max"),
            ("vm_memory_request_byte_seconds", "sum"),
            ("vm_memory_usage_byte_seconds", "sum"),
            ("vm_device", "max"),
            ("vm_volume_mode", "max"),
            ("vm_persistentvolumeclaim_name", "max"),
            ("vm_disk_allocated_size_byte_seconds", "sum"),
        ),
    ),
    "gpu_usage": ReportDef(
        strings=("node", "namespace", "pod", "gpu_uuid", "gpu_model_name", "gpu_vendor_name"),
        metrics=("gpu_memory_capacity_mib", "gpu_pod_uptime"),
        labels=(),
        group_by=("node", "namespace", "pod", "gpu_uuid", "mig_instance_id"),
        agg=_PERIOD_AGG
        + (
            ("gpu_model_name", "max"),
            ("gpu_vendor_name", "max"),
            ("gpu_memory_capacity_mib", "max"),
            ("gpu_pod_uptime", "sum"),
            ("mig_profile", "max"),
            ("mig_slice_count", "max"),
            ("gpu_max_slices", "max"),
            ("mig_memory_capacity_mib", "max"),
            ("mig_strategy", "max"),
        ),
        new_required=(
            ("mig_instance_id", KOKU_NULL_STRING),
            ("mig_profile", KOKU_NULL_STRING),
            ("mig_strategy", KOKU_NULL_STRING),
            ("mig_slice_count", KOKU_NULL_INT),
            ("mig_memory_capacity_mib", KOKU_NULL_INT),
            ("gpu_max_slices", KOKU_NULL_INT),
        ),
    ),
}

# koku converts a column by its name, whatever the report type.
FLOAT_COLUMNS = frozenset(c for spec in REPORT_DEFS.values() for c in spec.metrics)
LABEL_COLUMNS = frozenset(c for spec in REPORT_DEFS.values() for c in spec.labels)
# koku reads these as "number or None": empty or invalid -> NULL; the first two truncated to int.
NULLABLE_INT_COLUMNS = frozenset({"mig_slice_count", "gpu_max_slices"})
NULLABLE_FLOAT_COLUMNS = frozenset({"mig_memory_capacity_mib"})
# Rows with any of these over THRESHOLD are dropped (koku's anomaly filter).
THRESHOLD_COLUMNS = (
    "pod_usage_cpu_core_seconds",
    "pod_request_cpu_core_seconds",
    "pod_limit_cpu_core_seconds",
    "node_capacity_cpu_core_seconds",
    "pod_usage_memory_byte_seconds",
    "pod_request_memory_byte_seconds",
    "pod_limit_memory_byte_seconds",
    "node_capacity_memory_byte_seconds",
    "node_capacity_memory_bytes",
    "persistentvolumeclaim_capacity_bytes",
    "persistentvolumeclaim_capacity_byte_seconds",
    "volume_request_storage_byte_seconds",
    "persistentvolumeclaim_usage_byte_seconds",
)
# koku's ingest sanitises these operator-controlled strings (NUL removed, HTML-escaped).
SANITIZED_COLUMNS = frozenset(
    {
        "namespace",
        "pod",
        "node",
        "persistentvolumeclaim",
        "persistentvolume",
        "storageclass",
        "resource_id",
        "vm_name",
        "gpu_uuid",
        "gpu_model_name",
        "gpu_vendor_name",
        "csi_driver",
        "csi_volume_handle",
        "node_role",
        "vm_instance_type",
        "vm_os",
        "vm_device",
    }
)


def detect_report_type(columns: Sequence[str]) -> str | None:
    """koku's report type of a header: the first type whose required columns it holds."""
    present = set(columns)
    for name, spec in REPORT_DEFS.items():
        if spec.columns <= present:
            return name
    return None
