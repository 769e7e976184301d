"""Write hand-made rows into koku's daily trees (and the hourly vm_usage tree) for the query tests.

    write_rows(root, "org1234567", SOURCE, "gpu_usage", [{"interval_start": day(2027, 1, 5), ...}],
               year=2027, month=1, daily=True)

Unspecified columns get defaults: strings '', floats 0.0, labels '{}', MIG columns NULL.
``drop_columns`` leaves columns out of the file (an older operator's report).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

TS = pa.timestamp("ms")
F = pa.float64()
S = pa.string()

COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "pod_usage": {
        "namespace": S,
        "node": S,
        "pod": S,
        "pod_labels": S,
        "interval_start": TS,
        "resource_id": S,
        "pod_usage_cpu_core_seconds": F,
        "pod_request_cpu_core_seconds": F,
        "node_capacity_cpu_cores": F,
        "node_capacity_cpu_core_seconds": F,
        "node_role": S,
    },
    "node_labels": {"node": S, "node_labels": S, "interval_start": TS},
    "namespace_labels": {"namespace": S, "namespace_labels": S, "interval_start": TS},
    "storage_usage": {
        "namespace": S,
        "node": S,
        "pod": S,
        "persistentvolumeclaim": S,
        "persistentvolume": S,
        "storageclass": S,
        "csi_driver": S,
        "csi_volume_handle": S,
        "interval_start": TS,
        "persistentvolumeclaim_capacity_bytes": F,
    },
    "gpu_usage": {
        "node": S,
        "namespace": S,
        "pod": S,
        "gpu_uuid": S,
        "mig_instance_id": S,
        "interval_start": TS,
        "gpu_model_name": S,
        "gpu_vendor_name": S,
        "gpu_memory_capacity_mib": F,
        "gpu_pod_uptime": F,
        "mig_profile": S,
        "mig_slice_count": F,
        "gpu_max_slices": F,
        "mig_memory_capacity_mib": F,
        "mig_strategy": S,
    },
    "vm_usage": {
        "interval_start": TS,
        "node": S,
        "namespace": S,
        "vm_name": S,
        "vm_cpu_request_cores": F,
        "vm_memory_request_bytes": F,
        "vm_persistentvolumeclaim_name": S,
        "vm_labels": S,
    },
}
NULL_DEFAULT = frozenset(
    {
        "mig_instance_id",
        "mig_profile",
        "mig_strategy",
        "mig_slice_count",
        "gpu_max_slices",
        "mig_memory_capacity_mib",
        "node_role",
    }
)
LABELS = frozenset({"pod_labels", "node_labels", "namespace_labels", "vm_labels"})


def day(year: int, month: int, d: int, hour: int = 0) -> dt.datetime:
    """A naive UTC interval_start (midnight for daily rows)."""
    return dt.datetime(year, month, d, hour)


def folder(
    root: str | Path, account: str, source: str, report_type: str, year: int, month: int, daily: bool
) -> Path:
    tree = Path(root) / "data" / "parquet"
    if daily:
        tree = tree / "daily"
    return (
        tree / account / "OCP" / report_type / f"source={source}" / f"year={year:04d}" / f"month={month:02d}"
    )


def write_rows(
    root: str | Path,
    account: str,
    source: str,
    report_type: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    year: int,
    month: int,
    daily: bool = True,
    file_name: str | None = None,
    drop_columns: Iterable[str] = (),
    row_group_size: int | None = None,
) -> Path:
    """Write ``rows`` as one Parquet file and return its path."""
    columns = {k: v for k, v in COLUMNS[report_type].items() if k not in set(drop_columns)}
    data: dict[str, list[Any]] = {name: [] for name in columns}
    for row in rows:
        extra = set(row) - set(COLUMNS[report_type])
        if extra:
            raise ValueError(f"unknown columns for {report_type}: {sorted(extra)}")
        for name, kind in columns.items():
            if name in row:
                value = row[name]
            elif name in NULL_DEFAULT:
                value = None
            elif name in LABELS:
                value = "{}"
            else:
                value = "" if kind == S else 0.0
            if name in LABELS and isinstance(value, Mapping):
                value = json.dumps(dict(value))
            data[name].append(value)
    table = pa.Table.from_pydict(data, schema=pa.schema(list(columns.items())))
    target = folder(root, account, source, report_type, year, month, daily)
    target.mkdir(parents=True, exist_ok=True)
    if file_name is None:
        file_name = f"{report_type}_{len(list(target.glob('*.parquet')))}.parquet"
    path = target / file_name
    pq.write_table(table, path, row_group_size=row_group_size)
    return path
