"""Convert koku-metrics-operator CSV reports to koku's Parquet layout (SPEC §1).

The rules are koku's (its OCP post-processor and Parquet report processor): the
report type comes from the CSV header; the four timestamps lose their
`` +0000 UTC`` suffix and become ``timestamp[ms]``; metric columns become float64
(empty or unparsable → 0.0); label columns ``label_a:x|label_b:y`` become JSON
object text; other columns stay strings ('' when empty); pod_usage gains the two
effective-usage columns; rows over koku's 1e18 thresholds are dropped. Each day
of each CSV goes to its own hourly file and to koku's daily pre-aggregation.

Everything is streamed: a CSV is read in blocks of strings by pyarrow and
converted column-wise in Arrow (Python runs only once per distinct label string
or odd number, never per row); hourly rows are written as they come, and each
day's daily file is computed from that day's hourly file alone.
"""

from __future__ import annotations

import argparse
import csv
import functools
import gzip
import hashlib
import io
import json
import logging
import re
import tarfile
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import OcpaggError
from .layout import account_from_schema, month_dir

LOG = logging.getLogger(__name__)

__all__ = [
    "ConvertError",
    "ConvertResult",
    "ConvertedFile",
    "REPORT_DEFS",
    "add_convert_parser",
    "convert",
    "detect_report_type",
    "labels_to_json",
    "run_convert",
]

DEFAULT_BLOCK_BYTES = 2 << 20
FLUSH_ROWS = 65_536  # hourly rows buffered before a write (and a Parquet row group)
THRESHOLD = 1e18
UTC_SUFFIX = " +0000 UTC"
TIMESTAMP_COLUMNS = ("report_period_start", "report_period_end", "interval_start", "interval_end")
LABEL_COLUMNS = frozenset(
    {
        "pod_labels",
        "persistentvolume_labels",
        "persistentvolumeclaim_labels",
        "node_labels",
        "namespace_labels",
        "vm_labels",
    }
)
FLOAT_COLUMNS = frozenset(
    {
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
        "persistentvolumeclaim_capacity_bytes",
        "persistentvolumeclaim_capacity_byte_seconds",
        "volume_request_storage_byte_seconds",
        "persistentvolumeclaim_usage_byte_seconds",
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
        "gpu_memory_capacity_mib",
        "gpu_pod_uptime",
    }
)
# koku reads these as "number or None" (empty or invalid → NULL, ints truncated).
NULLABLE_INT_COLUMNS = frozenset({"mig_slice_count", "gpu_max_slices"})
NULLABLE_FLOAT_COLUMNS = frozenset({"mig_memory_capacity_mib"})
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
GPU_MAX_SLICES_BY_MODEL = {
    "A30": 4,
    "A100": 7,
    "H100": 7,
    "H200": 7,
    "B200": 7,
    "RTX PRO 6000": 4,
    "RTX PRO 5000": 2,
}
MIG_COLUMNS = ("mig_slice_count", "mig_memory_capacity_mib", "gpu_max_slices", "mig_strategy")
_NULL, _SEP = "\x00null", "\x1f"
_STRICT_FLOAT = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


@dataclass(frozen=True)
class ReportDef:
    """koku's definition of one operator report type (masu/util/ocp/common.py)."""

    columns: frozenset[str]
    group_by: tuple[str, ...]
    agg: tuple[tuple[str, str], ...]
    new_required: tuple[tuple[str, pa.DataType], ...] = ()


_TS4 = ("report_period_start", "report_period_end", "interval_start", "interval_end")
_PERIOD_AGG = (("report_period_start", "max"), ("report_period_end", "max"))

# Order matters: koku takes the first type whose required columns the header holds.
REPORT_DEFS: dict[str, ReportDef] = {
    "storage_usage": ReportDef(
        columns=frozenset(
            _TS4
            + (
                "namespace",
                "pod",
                "persistentvolumeclaim",
                "persistentvolume",
                "storageclass",
                "persistentvolumeclaim_capacity_bytes",
                "persistentvolumeclaim_capacity_byte_seconds",
                "volume_request_storage_byte_seconds",
                "persistentvolumeclaim_usage_byte_seconds",
                "persistentvolume_labels",
                "persistentvolumeclaim_labels",
            )
        ),
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
        new_required=(("node", pa.string()), ("csi_driver", pa.string()), ("csi_volume_handle", pa.string())),
    ),
    "pod_usage": ReportDef(
        columns=frozenset(
            _TS4
            + (
                "pod",
                "namespace",
                "node",
                "resource_id",
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
                "pod_labels",
            )
        ),
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
        new_required=(("node_role", pa.string()),),
    ),
    "node_labels": ReportDef(
        columns=frozenset(_TS4 + ("node", "node_labels")),
        group_by=("node", "node_labels"),
        agg=_PERIOD_AGG,
    ),
    "namespace_labels": ReportDef(
        columns=frozenset(_TS4 + ("namespace", "namespace_labels")),
        group_by=("namespace", "namespace_labels"),
        agg=_PERIOD_AGG,
    ),
    "vm_usage": ReportDef(
        columns=frozenset(
            _TS4
            + (
                "node",
                "namespace",
                "vm_name",
                "resource_id",
                "vm_instance_type",
                "vm_os",
                "vm_guest_os_arch",
                "vm_guest_os_name",
                "vm_guest_os_version",
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
                "vm_device",
                "vm_volume_mode",
                "vm_persistentvolumeclaim_name",
                "vm_disk_allocated_size_byte_seconds",
                "vm_labels",
            )
        ),
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
        columns=frozenset(
            _TS4
            + (
                "node",
                "namespace",
                "pod",
                "gpu_uuid",
                "gpu_model_name",
                "gpu_vendor_name",
                "gpu_memory_capacity_mib",
                "gpu_pod_uptime",
            )
        ),
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
            ("mig_instance_id", pa.string()),
            ("mig_profile", pa.string()),
            ("mig_strategy", pa.string()),
            ("mig_slice_count", pa.float64()),
            ("mig_memory_capacity_mib", pa.float64()),
            ("gpu_max_slices", pa.float64()),
        ),
    ),
}


class ConvertError(OcpaggError, ValueError):
    """A CSV report cannot be converted; the message names the file (and line when known)."""


@dataclass
class ConvertedFile:
    """What one CSV report became."""

    source: str
    report_type: str
    rows_read: int = 0
    rows_dropped: int = 0
    days: set[date] = field(default_factory=set)
    hourly_files: list[Path] = field(default_factory=list)
    daily_files: list[Path] = field(default_factory=list)


@dataclass
class ConvertResult:
    """The outcome of a :func:`convert` run."""

    root: Path
    account: str
    source_uuid: str
    files: list[ConvertedFile] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_written(self) -> int:
        return sum(f.rows_read - f.rows_dropped for f in self.files)

    def days(self, report_type: str | None = None) -> list[date]:
        """The days written (for one report type, or any)."""
        found: set[date] = set()
        for f in self.files:
            if report_type is None or f.report_type == report_type:
                found |= f.days
        return sorted(found)


# ---------------------------------------------------------------------------
# value conversions (koku's rules, applied column-wise)


def _labels_dict(text: str) -> dict[str, str]:
    """koku's label parsing: ``|``-separated ``key:value``; exactly one ``:``; ``label_`` removed."""
    out: dict[str, str] = {}
    for entry in text.split("|") if text else ():
        parts = entry.split(":")
        if len(parts) != 2:
            continue
        out[parts[0].replace("label_", "")] = parts[1]
    return out


@functools.lru_cache(maxsize=1 << 16)
def labels_to_json(text: str) -> str:
    """An operator label string as koku's JSON object text (``{}`` when empty)."""
    return json.dumps(_labels_dict(text))


def _python_float(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def _python_float_or_none(text: str) -> float | None:
    if text == "":
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _python_int_or_none(text: str) -> float | None:
    value = _python_float_or_none(text)
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return float(int(value))


def _map_unique(arr: pa.Array, func, out_type: pa.DataType) -> pa.Array:
    """Apply a Python function once per distinct value of a string array."""
    uniques = pc.unique(arr)
    mapped = pa.array([func(v) for v in uniques.to_pylist()], type=out_type)
    return pc.take(mapped, pc.index_in(arr, value_set=uniques))


def _to_float(arr: pa.Array) -> pa.Array:
    """Strings to float64 like Python ``float()``, anything unparsable → 0.0."""
    try:
        return pc.cast(arr, pa.float64())
    except pa.ArrowInvalid:
        pass  # an empty cell or an odd number somewhere: only those go through Python
    plain = pc.match_substring_regex(arr, _STRICT_FLOAT)
    fast = pc.cast(pc.if_else(plain, arr, pa.scalar("0")), pa.float64())
    odd = pc.invert(plain)
    slow = _map_unique(pc.if_else(odd, arr, pa.scalar("")), _python_float, pa.float64())
    return pc.if_else(plain, fast, slow)


def _to_nullable_number(arr: pa.Array, func) -> pa.Array:
    return _map_unique(arr, func, pa.float64())


def _to_labels(arr: pa.Array) -> pa.Array:
    return _map_unique(arr, labels_to_json, pa.string())


def _sanitize(arr: pa.Array) -> pa.Array:
    """koku's ingest sanitising: drop NUL, then ``html.escape(quote=True)``."""
    if not pc.any(pc.match_substring_regex(arr, "[\x00&<>\"']")).as_py():
        return arr
    arr = pc.replace_substring(arr, "\x00", "")
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        arr = pc.replace_substring(arr, old, new)
    return arr


def _first_bad_index(arr: pa.Array, typ: pa.DataType) -> int:
    lo, hi = 0, len(arr)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            pc.cast(arr.slice(lo, mid - lo), typ)
            lo = mid
        except pa.ArrowInvalid:
            hi = mid
    return lo


class _BadValue(Exception):
    def __init__(self, column: str, index: int, value: str) -> None:
        super().__init__(column)
        self.column, self.index, self.value = column, index, value


def _to_timestamp(column: str, arr: pa.Array) -> pa.Array:
    stripped = pc.replace_substring(arr, UTC_SUFFIX, "")
    try:
        return pc.cast(stripped, pa.timestamp("ms"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = _first_bad_index(stripped, pa.timestamp("ms"))
        raise _BadValue(column, bad, arr[bad].as_py()) from None


def _gpu_fixups(table: pa.Table) -> pa.Table:
    """koku's GPU clean-up: vendor name, model name, MIG fields derived from the profile."""
    names = table.column_names
    if "gpu_vendor_name" in names:
        col = table["gpu_vendor_name"]
        col = pc.if_else(pc.equal(col, "nvidia_com_gpu"), pa.scalar("nvidia"), col)
        table = table.set_column(names.index("gpu_vendor_name"), "gpu_vendor_name", col)
    if "gpu_model_name" in names:
        col = pc.utf8_trim_whitespace(
            pc.replace_substring_regex(table["gpu_model_name"], "[^a-zA-Z0-9]+", " ")
        )
        table = table.set_column(names.index("gpu_model_name"), "gpu_model_name", col)
    if "mig_profile" not in names:
        return table
    for name in MIG_COLUMNS:
        if name not in table.column_names:
            typ = pa.string() if name == "mig_strategy" else pa.float64()
            table = table.append_column(name, pa.nulls(table.num_rows, typ))
    profile = table["mig_profile"].combine_chunks()
    has_mig = pc.fill_null(pc.not_equal(profile, ""), False)
    if not pc.any(has_mig).as_py():
        return table
    # Per distinct (profile, model, max slices) the derived values; rows without MIG keep theirs.
    model = table["gpu_model_name"].combine_chunks() if "gpu_model_name" in names else pa.nulls(len(profile))
    max_slices = table["gpu_max_slices"].combine_chunks()
    parts = [profile, pc.cast(model, pa.string()), pc.cast(max_slices, pa.string())]
    keys = pc.binary_join_element_wise(*[pc.fill_null(p, _NULL) for p in parts], _SEP)
    uniq = pc.unique(keys)
    idx = pc.index_in(keys, value_set=uniq)
    derived = [_derive_mig(*[None if v == _NULL else v for v in u.split(_SEP)]) for u in uniq.to_pylist()]
    slices = pc.take(pa.array([d[0] for d in derived], pa.float64()), idx)
    memory = pc.take(pa.array([d[1] for d in derived], pa.float64()), idx)
    maxes = pc.take(pa.array([d[2] for d in derived], pa.float64()), idx)
    clear = pc.take(pa.array([d[3] for d in derived], pa.bool_()), idx)
    clear = pc.and_(has_mig, clear)

    def put(name: str, values: pa.Array) -> None:
        nonlocal table
        current = table[name].combine_chunks()
        table = table.set_column(table.column_names.index(name), name, values.cast(current.type))

    cur = table["mig_slice_count"].combine_chunks()
    put("mig_slice_count", pc.if_else(pc.and_(has_mig, pc.is_valid(slices)), slices, cur))
    cur = table["mig_memory_capacity_mib"].combine_chunks()
    put("mig_memory_capacity_mib", pc.if_else(pc.and_(has_mig, pc.is_valid(memory)), memory, cur))
    cur = table["gpu_max_slices"].combine_chunks()
    put("gpu_max_slices", pc.if_else(has_mig, maxes, cur))
    for name in (
        "mig_profile",
        "mig_slice_count",
        "mig_memory_capacity_mib",
        "gpu_max_slices",
        "mig_strategy",
        "mig_instance_id",
    ):
        if name in table.column_names:
            cur = table[name].combine_chunks()
            put(name, pc.if_else(clear, pa.nulls(len(cur), cur.type), cur))
    return table


def _derive_mig(profile: str | None, model: str | None, max_slices: float | None):
    """(slice count, memory MiB, max slices, clear?) for one MIG profile, as koku derives them."""
    slices = memory = None
    text = (profile or "").strip().lower()
    parts = text.split(".")
    if len(parts) == 2 and parts[0].endswith("g") and parts[1].endswith("gb"):
        try:
            slices, memory = float(int(parts[0][:-1])), float(int(parts[1][:-2]) * 1024)
        except ValueError:
            slices = memory = None
    if max_slices is not None:
        return slices, memory, float(max_slices), False
    found = None
    if model:
        upper = model.upper().strip()
        found = GPU_MAX_SLICES_BY_MODEL.get(upper)
        if found is None:
            found = next((v for k, v in GPU_MAX_SLICES_BY_MODEL.items() if k in upper), None)
    if found is None:
        return slices, memory, None, True
    return slices, memory, float(found), False


def convert_batch(report_type: str, batch: pa.RecordBatch | pa.Table) -> tuple[pa.Table, int]:
    """koku's typing of one block of all-string CSV rows; returns (table, rows dropped).

    Raises ``_BadValue`` for a timestamp that does not parse.
    """
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    columns: list[pa.Array] = []
    for name in table.column_names:
        arr = table[name].combine_chunks()
        key = name.lower()
        if key in TIMESTAMP_COLUMNS:
            arr = _to_timestamp(name, arr)
        elif key in FLOAT_COLUMNS:
            arr = _to_float(arr)
        elif key in NULLABLE_INT_COLUMNS:
            arr = _to_nullable_number(arr, _python_int_or_none)
        elif key in NULLABLE_FLOAT_COLUMNS:
            arr = _to_nullable_number(arr, _python_float_or_none)
        elif key in LABEL_COLUMNS:
            arr = _to_labels(arr)
        elif key in SANITIZED_COLUMNS:
            arr = _sanitize(arr)
        columns.append(arr)
    table = pa.Table.from_arrays(columns, names=table.column_names)
    present = [c for c in THRESHOLD_COLUMNS if c in table.column_names]
    dropped = 0
    if present and table.num_rows:
        over = pc.greater(table[present[0]], THRESHOLD)
        for name in present[1:]:
            over = pc.or_(over, pc.greater(table[name], THRESHOLD))
        dropped = pc.sum(pc.cast(over, pa.int64())).as_py() or 0
        if dropped:
            table = table.filter(pc.invert(over))
    if report_type == "pod_usage":
        for target, usage, request in (
            (
                "pod_effective_usage_cpu_core_seconds",
                "pod_usage_cpu_core_seconds",
                "pod_request_cpu_core_seconds",
            ),
            (
                "pod_effective_usage_memory_byte_seconds",
                "pod_usage_memory_byte_seconds",
                "pod_request_memory_byte_seconds",
            ),
        ):
            values = pc.max_element_wise(table[usage], table[request], skip_nulls=True)
            if target in table.column_names:
                table = table.set_column(table.column_names.index(target), target, values)
            else:
                table = table.append_column(target, values)
    elif report_type == "gpu_usage":
        table = _gpu_fixups(table)
    return table, dropped


def partial_daily(report_type: str, rows: pa.Table) -> pa.Table:
    """Group rows (hourly, or earlier partial results) by koku's keys and day; sum/max per column.

    The result has the same column names, so partial results of one day can be concatenated and
    grouped again: sums of sums and maxima of maxima give koku's daily rows with memory bounded by
    the number of groups. NaN is skipped like NULL (as pandas does); NULL stays NULL until
    :func:`finish_daily`.
    """
    spec = REPORT_DEFS[report_type]
    names = rows.column_names
    keys = [k for k in spec.group_by if k in names]
    aggs = [(c, how) for c, how in spec.agg if c in names]
    work = rows.select(keys).append_column(
        "interval_start", pc.floor_temporal(rows["interval_start"], unit="day")
    )
    for col, _ in aggs:
        values = rows[col]
        if pa.types.is_floating(values.type):
            values = pc.if_else(pc.is_nan(values), pa.scalar(None, values.type), values)
        work = work.append_column(f"__v_{col}", values)
    grouped = work.group_by(keys + ["interval_start"], use_threads=False).aggregate(
        [(f"__v_{col}", how) for col, how in aggs]
    )
    arrays = [grouped[c] for c in keys + ["interval_start"]]
    arrays += [grouped[f"__v_{col}_{how}"] for col, how in aggs]
    return pa.Table.from_arrays(arrays, names=keys + ["interval_start"] + [col for col, _ in aggs])


def finish_daily(report_type: str, grouped: pa.Table) -> pa.Table:
    """koku's daily file from grouped rows: pandas' empty-group values, new columns, sorted."""
    spec = REPORT_DEFS[report_type]
    how_of = dict(spec.agg)
    keys = [k for k in spec.group_by if k in grouped.column_names] + ["interval_start"]
    arrays, names = [], []
    for name in grouped.column_names:
        values = grouped[name]
        if name in how_of and pa.types.is_floating(values.type):
            # pandas: an all-missing group sums to 0.0 and has NaN as max.
            values = pc.fill_null(values, 0.0 if how_of[name] == "sum" else float("nan"))
        arrays.append(values)
        names.append(name)
    for col, typ in spec.new_required:
        if col not in names:
            arrays.append(pa.nulls(grouped.num_rows, typ))
            names.append(col)
    result = pa.Table.from_arrays(arrays, names=names)
    if result.num_rows:
        result = result.sort_by([(k, "ascending") for k in keys])
    return result


def daily_table(report_type: str, hourly: pa.Table) -> pa.Table:
    """koku's daily pre-aggregation of hourly rows (group keys + day; sum/max per column)."""
    return finish_daily(report_type, partial_daily(report_type, hourly))


# ---------------------------------------------------------------------------
# input discovery


@dataclass(frozen=True)
class _CsvInput:
    path: Path  # a readable file (possibly extracted into a temporary directory)
    label: str  # how errors name it
    tag: str  # stable file-name tag in the output


def detect_report_type(columns: Sequence[str]) -> str | None:
    """koku's report type of a header: the first type whose required columns it holds."""
    present = set(columns)
    for name, spec in REPORT_DEFS.items():
        if spec.columns <= present:
            return name
    return None


def _is_csv(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".csv") or name.endswith(".csv.gz")


def _is_payload(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".tar.gz") or name.endswith(".tgz")


def _tag(identity: str, stem: str) -> str:
    digest = hashlib.sha1(identity.encode()).hexdigest()[:10]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:80]
    return f"{safe}.{digest}"


def _stem(path: Path) -> str:
    name = path.name
    for ext in (".csv.gz", ".csv"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return path.stem


def _skipped_by_manifest(folder: Path) -> set[str]:
    """Names a manifest.json lists as resource-optimisation (ROS) files: not cost reports."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return set()
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError) as err:
        raise ConvertError(f"{manifest}: unreadable manifest ({err})") from err
    return set(data.get("resource_optimization_files") or [])


def _dir_inputs(folder: Path, identity_base: str | None = None) -> Iterator[_CsvInput]:
    for sub in sorted(p for p in folder.rglob("*") if p.is_file()):
        if _is_csv(sub):
            if sub.name in _skipped_by_manifest(sub.parent):
                LOG.info("skipping %s: a resource-optimisation report", sub)
                continue
            rel = sub.relative_to(folder).as_posix()
            identity = f"{identity_base}!{rel}" if identity_base else str(sub.resolve())
            label = f"{identity_base}!{rel}" if identity_base else str(sub)
            yield _CsvInput(sub, label, _tag(identity, _stem(sub)))
        elif _is_payload(sub) and identity_base is None:
            yield from _payload_inputs(sub)


_TMP_DIRS: list[tempfile.TemporaryDirectory] = []


def _payload_inputs(path: Path) -> Iterator[_CsvInput]:
    tmp = tempfile.TemporaryDirectory(prefix="ocpagg-payload-")
    _TMP_DIRS.append(tmp)
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            names = tar.getnames()
            if not any(Path(n).name == "manifest.json" for n in names):
                raise ConvertError(f"{path}: operator payload without manifest.json")
            tar.extractall(tmp.name, filter="data")
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ConvertError(f"{path}: unreadable payload ({err})") from err
    found = list(_dir_inputs(Path(tmp.name), identity_base=str(path.resolve())))
    if not found:
        LOG.warning("%s: payload holds no CSV report", path)
    yield from found


def _expand_inputs(inputs: Iterable[str | Path]) -> list[_CsvInput]:
    out: list[_CsvInput] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out.extend(_dir_inputs(path))
        elif path.is_file() and _is_payload(path):
            out.extend(_payload_inputs(path))
        elif path.is_file() and _is_csv(path):
            out.append(_CsvInput(path, str(path), _tag(str(path.resolve()), _stem(path))))
        elif path.exists():
            raise ConvertError(f"{path}: not a CSV report, directory or operator payload (.tar.gz)")
        else:
            raise ConvertError(f"{path}: no such file or directory")
    return out


# ---------------------------------------------------------------------------
# CSV reading and error positions


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _read_header(item: _CsvInput) -> list[str]:
    try:
        with _open_text(item.path) as fh:
            header = next(csv.reader(fh), None)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ConvertError(f"{item.label}: unreadable CSV ({err})") from err
    if not header:
        raise ConvertError(f"{item.label}: empty file, no CSV header")
    return header


def _line_of_record(item: _CsvInput, record: int) -> int | None:
    """Physical line where data record ``record`` (0-based, header excluded) ends."""
    with _open_text(item.path) as fh:
        reader = csv.reader(fh)
        next(reader, None)
        seen = 0
        for row in reader:
            if not row:
                continue
            if seen == record:
                return reader.line_num
            seen += 1
    return None


def _line_of_bad_width(item: _CsvInput, width: int) -> tuple[int | None, int | None]:
    """(line, field count) of the first record whose field count is not ``width``."""
    with _open_text(item.path) as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row in reader:
            if row and len(row) != width:
                return reader.line_num, len(row)
    return None, None


# ---------------------------------------------------------------------------
# writing


class _DayWriters:
    """Hourly Parquet files of one CSV: per day, one file per flush of at most ~FLUSH_ROWS rows.

    Like koku's ``{name}_{i}.parquet`` chunk files. No writer stays open, so memory does not grow
    with the number of days a CSV holds; each day keeps only its partial daily aggregate.
    """

    def __init__(self, root: Path, account: str, source_uuid: str, report_type: str, tag: str, rows: int):
        self.root, self.account, self.source_uuid = root, account, source_uuid
        self.report_type, self.tag, self.flush_rows = report_type, tag, rows
        self.buffers: dict[date, list[pa.Table]] = {}
        self.buffered = 0
        self.paths: dict[date, list[Path]] = {}
        self.partials: dict[date, list[pa.Table]] = {}
        self.schema: pa.Schema | None = None

    def folder(self, day: date, *, daily: bool) -> Path:
        return Path(
            month_dir(
                str(self.root),
                self.account,
                self.report_type,
                self.source_uuid,
                day.year,
                day.month,
                daily=daily,
            )
        )

    def stem(self, day: date) -> str:
        return f"{self.report_type}.{day.isoformat()}.{self.tag}"

    def daily_path(self, day: date) -> Path:
        return self.folder(day, daily=True) / f"{self.stem(day)}_daily_0.parquet"

    def add(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        if self.schema is None:
            self.schema = table.schema
        elif table.schema != self.schema:
            table = table.cast(self.schema)
        days = pc.floor_temporal(table["interval_start"], unit="day")
        for value in pc.unique(days).to_pylist():
            part = table.filter(pc.equal(days, pa.scalar(value, days.type)))
            self.buffers.setdefault(value.date(), []).append(part)
            self.buffered += part.num_rows
        if self.buffered >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        for day, parts in sorted(self.buffers.items()):
            paths = self.paths.get(day)
            if paths is None:
                # a rerun of the same CSV replaces what it wrote before
                folder = self.folder(day, daily=False)
                folder.mkdir(parents=True, exist_ok=True)
                for stale in folder.glob(f"{self.stem(day)}_*.parquet"):
                    stale.unlink()
                self.daily_path(day).unlink(missing_ok=True)
                paths = self.paths[day] = []
            rows = pa.concat_tables(parts)
            path = self.folder(day, daily=False) / f"{self.stem(day)}_{len(paths)}.parquet"
            pq.write_table(rows, path)
            paths.append(path)
            partials = self.partials.setdefault(day, [])
            partials.append(partial_daily(self.report_type, rows))
            if len(partials) >= 4:
                partials[:] = [partial_daily(self.report_type, pa.concat_tables(partials))]
        self.buffers.clear()
        self.buffered = 0

    def daily(self, day: date) -> pa.Table:
        """koku's daily rows of a day written so far."""
        partials = self.partials[day]
        grouped = (
            partials[0] if len(partials) == 1 else partial_daily(self.report_type, pa.concat_tables(partials))
        )
        return finish_daily(self.report_type, grouped)

    def written(self) -> list[Path]:
        return [p for paths in self.paths.values() for p in paths]


def _convert_one(
    item: _CsvInput, root: Path, account: str, source_uuid: str, block_bytes: int, flush_rows: int
) -> ConvertedFile:
    header = _read_header(item)
    if len(set(header)) != len(header):
        raise ConvertError(f"{item.label}: duplicate column names in the CSV header")
    report_type = detect_report_type(header)
    if report_type is None:
        raise ConvertError(
            f"{item.label}: unknown report header (not one of {', '.join(REPORT_DEFS)}): "
            f"{','.join(header)[:200]}"
        )
    result = ConvertedFile(source=item.label, report_type=report_type)
    bad_rows: list[object] = []

    def on_invalid(row) -> str:
        bad_rows.append(row)
        return "error"

    def parse_error(err: pa.ArrowInvalid) -> ConvertError:
        if bad_rows:
            line, width = _line_of_bad_width(item, len(header))
            if line is not None:
                return ConvertError(f"{item.label}: line {line}: {width} fields, expected {len(header)}")
        return ConvertError(f"{item.label}: unreadable CSV ({err})")

    try:
        reader = pacsv.open_csv(
            item.path,
            read_options=pacsv.ReadOptions(block_size=block_bytes, use_threads=True),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as err:
        raise parse_error(err) from err
    writers = _DayWriters(root, account, source_uuid, report_type, item.tag, rows=flush_rows)
    offset = 0
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as err:
                raise parse_error(err) from err
            try:
                table, dropped = convert_batch(report_type, batch)
            except _BadValue as bad:
                line = _line_of_record(item, offset + bad.index)
                raise ConvertError(
                    f"{item.label}: line {line}: column {bad.column}: malformed timestamp {bad.value!r}"
                ) from None
            offset += batch.num_rows
            result.rows_read += batch.num_rows
            result.rows_dropped += dropped
            writers.add(table)
        writers.flush()
    except BaseException:
        for path in writers.written():  # a failed CSV leaves no partial day files behind
            path.unlink(missing_ok=True)
        raise
    if result.rows_dropped:
        LOG.warning("%s: dropped %d rows over koku's thresholds", item.label, result.rows_dropped)
    for day, paths in sorted(writers.paths.items()):
        result.days.add(day)
        result.hourly_files.extend(paths)
        daily_path = writers.daily_path(day)
        daily_path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(writers.daily(day), daily_path)
        result.daily_files.append(daily_path)
    return result


def convert(
    inputs: Iterable[str | Path] | str | Path,
    output: str | Path,
    *,
    schema: str,
    source_uuid: str,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    flush_rows: int = FLUSH_ROWS,
) -> ConvertResult:
    """Convert operator CSV reports (files, directories, ``.tar.gz`` payloads) to koku's layout.

    Writes ``{output}/data/parquet/{account}/OCP/{type}/source={uuid}/year=/month=/`` (hourly)
    and the same under ``data/parquet/daily/`` (koku's daily pre-aggregation), one file per
    input CSV and day (hourly rows in files of about ``flush_rows`` rows, read in blocks of
    ``block_bytes``). Rerunning with the same inputs replaces the files it wrote before.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    root = Path(output)
    account = account_from_schema(schema)
    result = ConvertResult(root=root, account=account, source_uuid=str(source_uuid))
    try:
        items = _expand_inputs(inputs)
        if not items:
            raise ConvertError("no CSV report found in the inputs")
        for item in items:
            LOG.info("converting %s", item.label)
            converted = _convert_one(item, root, account, str(source_uuid), block_bytes, flush_rows)
            result.files.append(converted)
    finally:
        while _TMP_DIRS:
            _TMP_DIRS.pop().cleanup()
    return result


# ---------------------------------------------------------------------------
# command line


def add_convert_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``convert`` on the ``python -m ocpagg`` sub-command parser."""
    parser = subparsers.add_parser(
        "convert",
        help="convert operator CSV reports to koku's Parquet layout",
        description="Convert koku-metrics-operator CSV reports (files, directories, .tar.gz payloads) "
        "to koku's hourly and daily Parquet trees under --output.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="CSV file, directory, or .tar.gz payload")
    parser.add_argument("--output", required=True, metavar="ROOT", help="root of the Parquet layout")
    parser.add_argument("--schema", required=True, help="tenant schema (e.g. org1234567 or acct10001)")
    parser.add_argument("--source", required=True, metavar="UUID", help="source (provider) UUID")
    parser.set_defaults(func=run_convert)


def run_convert(args: argparse.Namespace) -> int:
    """Run ``convert`` from parsed arguments; 0 on success, 1 with a one-line error otherwise."""
    import sys

    try:
        result = convert(args.inputs, args.output, schema=args.schema, source_uuid=args.source)
    except (ConvertError, OSError) as err:
        sys.stderr.write(f"ocpagg: error: {err}\n")
        return 1
    LOG.info(
        "converted %d files, %d rows (%d dropped) into %s",
        len(result.files),
        result.rows_read,
        result.rows_read - result.rows_written,
        result.root,
    )
    return 0
