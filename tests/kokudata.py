"""Write hand-made hourly rows into koku's Parquet layout (SPEC §1), for tests.

    from kokudata import write_report, hour

    write_report(root, "org1234567", SOURCE, "pod_usage",
                 [{"interval_start": hour(2027, 1, 5, 0), "namespace": "ns", "node": "n1", "pod": "p",
                   "pod_usage_cpu_core_seconds": 3600.0, "pod_labels": {"app": "web"}}],
                 year=2027, month=1)

Unspecified columns get defaults: strings '', floats 0.0, labels '{}', report_period_start/end from
the month, interval_end = interval_start + 1 hour. Label columns accept a dict (JSON-encoded) or text.
``drop_columns`` leaves columns out of the file, e.g. ``EFFECTIVE_COLUMNS`` for an old-style pod file.
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

_TIMESTAMPS: dict[str, pa.DataType] = {
    "report_period_start": TS,
    "report_period_end": TS,
    "interval_start": TS,
    "interval_end": TS,
}

# Every column koku's post-processor writes, per hourly report type, in file order, with its type.
COLUMNS: dict[str, dict[str, pa.DataType]] = {
    "pod_usage": {
        **_TIMESTAMPS,
        "pod": S,
        "namespace": S,
        "node": S,
        "resource_id": S,
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
        "pod_labels": S,
        "pod_effective_usage_cpu_core_seconds": F,
        "pod_effective_usage_memory_byte_seconds": F,
        "node_role": S,
    },
    "storage_usage": {
        **_TIMESTAMPS,
        "namespace": S,
        "pod": S,
        "persistentvolumeclaim": S,
        "persistentvolume": S,
        "storageclass": S,
        "node": S,
        "csi_driver": S,
        "csi_volume_handle": S,
        "persistentvolumeclaim_capacity_bytes": F,
        "persistentvolumeclaim_capacity_byte_seconds": F,
        "volume_request_storage_byte_seconds": F,
        "persistentvolumeclaim_usage_byte_seconds": F,
        "persistentvolume_labels": S,
        "persistentvolumeclaim_labels": S,
    },
    "node_labels": {**_TIMESTAMPS, "node": S, "node_labels": S},
    "namespace_labels": {**_TIMESTAMPS, "namespace": S, "namespace_labels": S},
}

LABEL_COLUMNS = frozenset(
    {
        "pod_labels",
        "persistentvolume_labels",
        "persistentvolumeclaim_labels",
        "node_labels",
        "namespace_labels",
    }
)

# Columns an old-style pod_usage file lacks.
EFFECTIVE_COLUMNS = ("pod_effective_usage_cpu_core_seconds", "pod_effective_usage_memory_byte_seconds")

GIB = 2**30


def hour(year: int, month: int, day: int, hour_of_day: int = 0) -> dt.datetime:
    """A naive UTC interval_start."""
    return dt.datetime(year, month, day, hour_of_day)


def report_dir(
    root: str | Path, account: str, source_uuid: str, report_type: str, *, year: int, month: int
) -> Path:
    """The hourly folder of one report type and month."""
    return (
        Path(root)
        / "data"
        / "parquet"
        / account
        / "OCP"
        / report_type
        / f"source={source_uuid}"
        / f"year={year:04d}"
        / f"month={month:02d}"
    )


def _default(column: str, kind: pa.DataType) -> Any:
    if column in LABEL_COLUMNS:
        return "{}"
    return "" if kind == S else 0.0


def write_report(
    root: str | Path,
    account: str,
    source_uuid: str,
    report_type: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    year: int,
    month: int,
    file_name: str | None = None,
    drop_columns: Iterable[str] = (),
) -> Path:
    """Write ``rows`` as one hourly Parquet file of ``report_type`` and return its path.

    Each row needs ``interval_start`` (a datetime); other columns default as the module says.
    ``file_name`` defaults to ``{report_type}_{n}.parquet`` with n the number of files already there.
    """
    columns = COLUMNS[report_type]
    dropped = set(drop_columns)
    unknown = dropped - set(columns)
    if unknown:
        raise ValueError(f"unknown columns to drop: {sorted(unknown)}")
    period_start = dt.datetime(year, month, 1)
    period_end = dt.datetime(year + month // 12, month % 12 + 1, 1)
    data: dict[str, list[Any]] = {name: [] for name in columns if name not in dropped}
    for row in rows:
        extra = set(row) - set(columns)
        if extra:
            raise ValueError(f"unknown columns for {report_type}: {sorted(extra)}")
        start = row["interval_start"]
        values = {
            "report_period_start": period_start,
            "report_period_end": period_end,
            "interval_end": start + dt.timedelta(hours=1),
        }
        for name, kind in columns.items():
            if name in dropped:
                continue
            value = row.get(name, values.get(name, _default(name, kind)))
            if name in LABEL_COLUMNS and isinstance(value, Mapping):
                value = json.dumps(dict(value))
            data[name].append(value)
    schema = pa.schema([(name, kind) for name, kind in columns.items() if name not in dropped])
    table = pa.Table.from_pydict(data, schema=schema)
    folder = report_dir(root, account, source_uuid, report_type, year=year, month=month)
    folder.mkdir(parents=True, exist_ok=True)
    if file_name is None:
        file_name = f"{report_type}_{len(list(folder.glob('*.parquet')))}.parquet"
    path = folder / file_name
    pq.write_table(table, path)
    return path
