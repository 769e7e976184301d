"""GPU UI summary, usage only (SPEC §7): koku's ``reporting_ocp_gpu_summary_p_usage_only.sql`` rows.

One row per (day, namespace, node, vendor, model, MIG profile, MIG instance, GPU uuid) of the
source's daily gpu_usage rows in the range, from ``start_date``'s month.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from ..errors import InputError
from ..layout import month_dir
from ..storage import filesystem_for
from .fold import Folder
from .like import max_category
from .scan import NUMBER, STRING, TIMESTAMP, Columns, day_range, month_files, scan_tables

LOG = logging.getLogger(__name__)

MIB_TO_GB = 0.001048576  # koku's factor: MiB × 2^20 / 10^9
INT32 = (-(2**31), 2**31 - 1)

GPU_SUMMARY_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.string()),
        ("cluster_alias", pa.string()),
        ("usage_start", pa.date32()),
        ("usage_end", pa.date32()),
        ("namespace", pa.string()),
        ("node", pa.string()),
        ("vendor_name", pa.string()),
        ("model_name", pa.string()),
        ("memory_capacity_gb", pa.float64()),
        ("mig_instance_id", pa.string()),
        ("gpu_uuid", pa.string()),
        ("gpu_mode", pa.string()),
        ("mig_profile", pa.string()),
        ("mig_slice_count", pa.int32()),
        ("gpu_max_slices", pa.int32()),
        ("mig_strategy", pa.string()),
        ("mig_memory_capacity_gb", pa.float64()),
        ("source_uuid", pa.string()),
        ("cost_category_id", pa.int32()),
    ]
)

_MIG_NUMBERS = ("mig_slice_count", "gpu_max_slices", "mig_memory_capacity_mib")
GPU_COLUMNS = Columns(
    required={
        "interval_start": TIMESTAMP,
        "namespace": STRING,
        "node": STRING,
        "gpu_uuid": STRING,
        "gpu_model_name": STRING,
        "gpu_vendor_name": STRING,
        "gpu_memory_capacity_mib": NUMBER,
    },
    optional={
        "mig_instance_id": STRING,
        "mig_profile": STRING,
        "mig_strategy": STRING,
        **{name: NUMBER for name in _MIG_NUMBERS},
    },
    nan_as_null=frozenset(_MIG_NUMBERS),
)
_KEYS = (
    "namespace",
    "node",
    "gpu_vendor_name",
    "gpu_model_name",
    "mig_profile",
    "interval_start",
    "mig_instance_id",
    "gpu_uuid",
)
_AGGS = {
    "memory": ("gpu_memory_capacity_mib", "max"),
    "slices": ("mig_slice_count", "max"),
    "max_slices": ("gpu_max_slices", "max"),
    "strategy": ("mig_strategy", "max"),
    "mig_memory": ("mig_memory_capacity_mib", "max"),
}
_FOLDED = pa.schema(
    [
        ("namespace", pa.string()),
        ("node", pa.string()),
        ("gpu_vendor_name", pa.string()),
        ("gpu_model_name", pa.string()),
        ("mig_profile", pa.string()),
        ("interval_start", pa.timestamp("ms")),
        ("mig_instance_id", pa.string()),
        ("gpu_uuid", pa.string()),
        ("memory", pa.float64()),
        ("slices", pa.float64()),
        ("max_slices", pa.float64()),
        ("strategy", pa.string()),
        ("mig_memory", pa.float64()),
    ]
)


def trino_integer(value: float | None, where: str, column: str) -> int | None:
    """Trino's ``CAST(double AS INTEGER)``: rounded half away from zero; out of range is an error."""
    if value is None:
        return None
    rounded = math.copysign(math.floor(abs(value) + 0.5), value)
    if not INT32[0] <= rounded <= INT32[1]:
        raise InputError(where, f"{column} {value} does not fit an integer")
    return int(rounded)


def gpu_summary_rows(
    root: str,
    *,
    account: str,
    source_uuid: str,
    start_date: dt.date,
    end_date: dt.date,
    cluster_id: str,
    cluster_alias: str | None = None,
    cost_categories: Iterable[tuple[str, int]] = (),
    filesystem: Any = None,
) -> pa.Table:
    """The rows koku's GPU usage-only SQL inserts (id left out), sorted; empty without GPU rows."""
    fs, base = filesystem_for(root, filesystem)
    low, high = day_range(start_date, end_date)
    folder = month_dir(base, account, "gpu_usage", source_uuid, start_date.year, start_date.month, daily=True)
    groups = Folder(_KEYS, _AGGS)
    for table in scan_tables(
        fs,
        month_files(fs, base, account, source_uuid, "gpu_usage", start_date, daily=True),
        GPU_COLUMNS,
        low=low,
        high=high,
    ):
        groups.add(table)
    folded = groups.result(_FOLDED).sort_by([(k, "ascending") for k in _KEYS])
    categories = list(cost_categories)
    category_of: dict[str | None, int | None] = {}
    rows = []
    for g in folded.to_pylist():
        namespace = g["namespace"]
        if namespace not in category_of:
            category_of[namespace] = max_category(namespace, categories)
        day = g["interval_start"].date()
        rows.append(
            {
                "cluster_id": cluster_id,
                "cluster_alias": cluster_alias,
                "usage_start": day,
                "usage_end": day,
                "namespace": namespace,
                "node": g["node"],
                "vendor_name": g["gpu_vendor_name"],
                "model_name": g["gpu_model_name"],
                "memory_capacity_gb": None if g["memory"] is None else g["memory"] * MIB_TO_GB,
                "mig_instance_id": g["mig_instance_id"],
                "gpu_uuid": g["gpu_uuid"],
                "gpu_mode": "MIG" if g["mig_profile"] is not None else "dedicated",
                "mig_profile": g["mig_profile"],
                "mig_slice_count": trino_integer(g["slices"], folder, "mig_slice_count"),
                "gpu_max_slices": trino_integer(g["max_slices"], folder, "gpu_max_slices"),
                "mig_strategy": g["strategy"],
                "mig_memory_capacity_gb": None if g["mig_memory"] is None else g["mig_memory"] * MIB_TO_GB,
                "source_uuid": str(source_uuid),
                "cost_category_id": category_of[namespace],
            }
        )
    LOG.info("GPU usage-only rows of %s %s..%s: %d", source_uuid, start_date, end_date, len(rows))
    return pa.Table.from_pylist(rows, schema=GPU_SUMMARY_SCHEMA)
