"""koku's hourly rows: one block of all-string CSV rows typed and cleaned as koku's post-processor does."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..schema import TIMESTAMP_COLUMNS
from .gpu import gpu_fixups
from .rules import (
    FLOAT_COLUMNS,
    LABEL_COLUMNS,
    NULLABLE_FLOAT_COLUMNS,
    NULLABLE_INT_COLUMNS,
    SANITIZED_COLUMNS,
    THRESHOLD,
    THRESHOLD_COLUMNS,
)
from .values import (
    sanitize,
    to_float,
    to_float_or_null,
    to_int_or_null,
    to_labels,
    to_timestamp,
)

# pod_usage gains max(usage, request) per resource
EFFECTIVE_USAGE = (
    ("pod_effective_usage_cpu_core_seconds", "pod_usage_cpu_core_seconds", "pod_request_cpu_core_seconds"),
    (
        "pod_effective_usage_memory_byte_seconds",
        "pod_usage_memory_byte_seconds",
        "pod_request_memory_byte_seconds",
    ),
)


def _typed_column(name: str, arr: pa.Array) -> pa.Array:
    key = name.lower()
    if key in TIMESTAMP_COLUMNS:
        return to_timestamp(name, arr)
    if key in FLOAT_COLUMNS:
        return to_float(arr)
    if key in NULLABLE_INT_COLUMNS:
        return to_int_or_null(arr)
    if key in NULLABLE_FLOAT_COLUMNS:
        return to_float_or_null(arr)
    if key in LABEL_COLUMNS:
        return to_labels(arr)
    if key in SANITIZED_COLUMNS:
        return sanitize(arr)
    return arr


def _drop_anomalies(table: pa.Table) -> tuple[pa.Table, int]:
    present = [c for c in THRESHOLD_COLUMNS if c in table.column_names]
    if not present or not table.num_rows:
        return table, 0
    over = pc.greater(table[present[0]], THRESHOLD)
    for name in present[1:]:
        over = pc.or_(over, pc.greater(table[name], THRESHOLD))
    dropped = pc.sum(pc.cast(over, pa.int64())).as_py() or 0
    if dropped:
        table = table.filter(pc.invert(over))
    return table, dropped


def _add_effective_usage(table: pa.Table) -> pa.Table:
    for target, usage, request in EFFECTIVE_USAGE:
        values = pc.max_element_wise(table[usage], table[request], skip_nulls=True)
        if target in table.column_names:
            table = table.set_column(table.column_names.index(target), target, values)
        else:
            table = table.append_column(target, values)
    return table


def convert_batch(report_type: str, batch: pa.RecordBatch | pa.Table) -> tuple[pa.Table, int]:
    """koku's typing of one block of all-string CSV rows; returns (table, rows dropped).

    Raises :class:`~.values.BadValue` for a timestamp that does not parse.
    """
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    columns = [_typed_column(name, table[name].combine_chunks()) for name in table.column_names]
    table, dropped = _drop_anomalies(pa.Table.from_arrays(columns, names=table.column_names))
    if report_type == "pod_usage":
        table = _add_effective_usage(table)
    elif report_type == "gpu_usage":
        table = gpu_fixups(table)
    return table, dropped
