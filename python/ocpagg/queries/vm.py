"""Virtualization summary input (SPEC §8): the rows koku's Trino SQL puts in its ``tmp_virt_*`` table.

With a vm_usage report for the source, koku runs ``populate_vm_tmp_table_with_vm_report.sql`` on
the hourly vm_usage rows of ``start_date``'s month; without one, ``populate_vm_tmp_table.sql`` on
the schema's daily summary rows and the daily pod_usage and storage_usage trees.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ConfigError, InputError
from ..layout import source_has_report
from ..storage import filesystem_for
from .cluster_info import json_extract_scalar
from .fold import Folder, group
from .scan import NUMBER, STRING, TIMESTAMP, Columns, month_files, normalise_timestamps, scan_tables

LOG = logging.getLogger(__name__)

VM_KEY = "vm_kubevirt_io_name"
GIB = 2.0**-30
HOURS = 24  # koku multiplies the latest hour's request by 24 "for the API", which divides it out

VM_REQUEST_SCHEMA = pa.schema(
    [
        ("vm_name", pa.string()),
        ("node", pa.string()),
        ("pvc_name", pa.string()),
        ("cpu_request", pa.float64()),
        ("mem_request", pa.float64()),
    ]
)
SUMMARY_COLUMNS = (
    "usage_start",
    "source_uuid",
    "node",
    "pod_labels",
    "pod_request_cpu_core_hours",
    "pod_request_memory_gigabyte_hours",
)

_VM = Columns(
    required={
        "interval_start": TIMESTAMP,
        "vm_name": STRING,
        "node": STRING,
        "vm_persistentvolumeclaim_name": STRING,
        "vm_cpu_request_cores": NUMBER,
        "vm_memory_request_bytes": NUMBER,
    }
)
_POD = Columns(required={"pod": STRING, "pod_labels": STRING})
_STORAGE = Columns(required={"pod": STRING, "persistentvolumeclaim": STRING})


def vm_names(labels: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``json_extract_scalar(labels, '$.vm_kubevirt_io_name')`` per row, parsing each distinct text once."""
    distinct = pc.unique(labels)
    names = pa.array([json_extract_scalar(text, VM_KEY) for text in distinct.to_pylist()], type=pa.string())
    return pc.take(names, pc.index_in(labels, value_set=distinct))


def _sorted(table: pa.Table) -> pa.Table:
    return table.cast(VM_REQUEST_SCHEMA).sort_by([(c, "ascending") for c in ("vm_name", "node", "pvc_name")])


# --- with the vm_usage report -------------------------------------------------------------------


def _with_vm_report(
    fs: fsspec.AbstractFileSystem, base: str, account: str, source_uuid: str, month: dt.date
) -> pa.Table:
    paths = month_files(fs, base, account, source_uuid, "vm_usage", month, daily=False)
    latest_hour = None
    for table in scan_tables(fs, paths, Columns(required={"interval_start": TIMESTAMP})):
        top = pc.max(table.column("interval_start")).as_py()
        if top is not None and (latest_hour is None or top > latest_hour):
            latest_hour = top
    if latest_hour is None:
        return VM_REQUEST_SCHEMA.empty_table()
    latest = Folder(
        ["vm_name", "node"],
        {"cpu": ("vm_cpu_request_cores", "max"), "mem": ("vm_memory_request_bytes", "max")},
    )
    claims = Folder(["vm_name", "vm_persistentvolumeclaim_name"], {})
    stamp = pa.scalar(latest_hour, pa.timestamp("ms"))
    for table in scan_tables(fs, paths, _VM):
        claims.add(table.select(["vm_name", "vm_persistentvolumeclaim_name"]))
        at_latest = table.filter(pc.equal(table.column("interval_start"), stamp))
        if at_latest.num_rows:
            latest.add(at_latest)
    vms = latest.result(
        pa.schema(
            [("vm_name", pa.string()), ("node", pa.string()), ("cpu", pa.float64()), ("mem", pa.float64())]
        )
    )
    vms = vms.filter(pc.is_valid(vms.column("vm_name")))
    vms = vms.append_column("cpu_request", pc.multiply(vms.column("cpu"), float(HOURS)))
    vms = vms.append_column("mem_request", pc.multiply(pc.multiply(vms.column("mem"), GIB), float(HOURS)))
    pairs = claims.result(pa.schema([("vm_name", pa.string()), ("pvc_name", pa.string())]))
    joined = vms.select(["vm_name", "node", "cpu_request", "mem_request"]).join(
        pairs, "vm_name", join_type="inner"
    )
    rows = group(
        joined,
        ["vm_name", "node", "pvc_name"],
        {"cpu_request": ("cpu_request", "max"), "mem_request": ("mem_request", "max")},
    )
    return _sorted(rows.select(["vm_name", "node", "pvc_name", "cpu_request", "mem_request"]))


# --- from the daily summary -----------------------------------------------------------------------


def _as_float(column: Any) -> pa.ChunkedArray:
    return pc.cast(column, pa.float64())


def _as_date(column: Any) -> pa.ChunkedArray:
    if pa.types.is_date(column.type):
        return pc.cast(column, pa.date32())
    return pc.cast(normalise_timestamps(column), pa.date32())


def _second_to_last_day(summary: pa.Table, source_uuid: str, start: dt.date, end: dt.date) -> dt.date | None:
    days = _as_date(summary.column("usage_start"))
    keep = pc.and_(
        pc.and_(
            pc.greater_equal(days, pa.scalar(start, pa.date32())),
            pc.less_equal(days, pa.scalar(end, pa.date32())),
        ),
        pc.and_(
            pc.equal(pc.cast(summary.column("source_uuid"), pa.string()), str(source_uuid)),
            pc.is_valid(summary.column("pod_request_cpu_core_hours")),
        ),
    )
    distinct = sorted({d for d in days.filter(keep).to_pylist() if d is not None}, reverse=True)
    if not distinct:
        return None
    return min(distinct[:2])


def _latest_requests(summary: pa.Table, day: dt.date) -> pa.Table:
    """Per VM, its row of ``day`` (any source, as koku's SQL); ties: greatest node, cpu, memory."""
    days = _as_date(summary.column("usage_start"))
    rows = summary.filter(
        pc.and_(
            pc.equal(days, pa.scalar(day, pa.date32())),
            pc.is_valid(summary.column("pod_request_cpu_core_hours")),
        )
    )
    labels = rows.column("pod_labels")
    if not pa.types.is_string(labels.type):
        labels = pc.cast(labels, pa.string())
    table = pa.table(
        {
            "vm_name": vm_names(labels),
            "node": pc.cast(rows.column("node"), pa.string()),
            "cpu_request": _as_float(rows.column("pod_request_cpu_core_hours")),
            "mem_request": _as_float(rows.column("pod_request_memory_gigabyte_hours")),
        }
    )
    table = table.filter(pc.is_valid(table.column("vm_name")))
    best: dict[str, dict[str, Any]] = {}

    def rank(row: dict[str, Any]) -> tuple:
        return tuple(
            (value is not None, value) if value is not None else (False, 0)
            for value in (row["node"], row["cpu_request"], row["mem_request"])
        )

    for row in table.to_pylist():
        held = best.get(row["vm_name"])
        if held is None or rank(row) > rank(held):
            best[row["vm_name"]] = row
    return pa.Table.from_pylist(
        list(best.values()),
        schema=pa.schema(
            [
                ("vm_name", pa.string()),
                ("node", pa.string()),
                ("cpu_request", pa.float64()),
                ("mem_request", pa.float64()),
            ]
        ),
    )


def _vm_claims(
    fs: fsspec.AbstractFileSystem, base: str, account: str, source_uuid: str, month: dt.date
) -> pa.Table:
    """Distinct (pvc_name, vm_name): daily storage rows joined to daily pod rows on the pod name alone."""
    vm_pods = Folder(["pod", "vm_name"], {})
    for table in scan_tables(
        fs, month_files(fs, base, account, source_uuid, "pod_usage", month, daily=True), _POD
    ):
        table = pa.table({"pod": table.column("pod"), "vm_name": vm_names(table.column("pod_labels"))})
        table = table.filter(pc.and_(pc.is_valid(table.column("vm_name")), pc.is_valid(table.column("pod"))))
        if table.num_rows:
            vm_pods.add(table)
    pods = vm_pods.result(pa.schema([("pod", pa.string()), ("vm_name", pa.string())]))
    claims = Folder(["pod", "persistentvolumeclaim"], {})
    if pods.num_rows:
        wanted = pc.unique(pods.column("pod"))
        paths = month_files(fs, base, account, source_uuid, "storage_usage", month, daily=True)
        for table in scan_tables(fs, paths, _STORAGE):
            pvc = table.column("persistentvolumeclaim")
            keep = pc.and_(
                pc.and_(pc.is_valid(pvc), pc.not_equal(pvc, "")),
                pc.is_in(table.column("pod"), value_set=wanted),
            )
            table = table.filter(keep)
            if table.num_rows:
                claims.add(table)
    pairs = claims.result(pa.schema([("pod", pa.string()), ("persistentvolumeclaim", pa.string())]))
    joined = pairs.join(pods, "pod", join_type="inner")
    out = group(joined, ["persistentvolumeclaim", "vm_name"], {})
    return out.rename_columns(["pvc_name", "vm_name"])


def _from_summary(
    fs: fsspec.AbstractFileSystem,
    base: str,
    account: str,
    source_uuid: str,
    start_date: dt.date,
    end_date: dt.date,
    summary: pa.Table,
) -> pa.Table:
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.column_names]
    if missing:
        raise ConfigError(f"summary rows lack columns {', '.join(missing)}")
    day = _second_to_last_day(summary, source_uuid, start_date, end_date)
    if day is None:
        return VM_REQUEST_SCHEMA.empty_table()
    latest = _latest_requests(summary, day)
    if not latest.num_rows:
        return VM_REQUEST_SCHEMA.empty_table()
    claims = _vm_claims(fs, base, account, source_uuid, start_date)
    joined = latest.join(claims, "vm_name", join_type="left outer")
    return _sorted(joined.select(["vm_name", "node", "pvc_name", "cpu_request", "mem_request"]))


def vm_request_rows(
    root: str,
    *,
    account: str,
    source_uuid: str,
    start_date: dt.date,
    end_date: dt.date,
    summary: pa.Table | None = None,
    filesystem: Any = None,
) -> pa.Table:
    """vm_name, node, pvc_name, cpu_request, mem_request: koku's temporary-table rows, sorted.

    ``summary`` (the schema's daily summary rows, every source: koku's SQL reads them all) is needed
    only when the source has no vm_usage report.
    """
    fs, base = filesystem_for(root, filesystem)
    if source_has_report(fs, base, account, source_uuid, "vm_usage", daily=True):
        rows = _with_vm_report(fs, base, account, source_uuid, start_date)
        how = "vm_usage report"
    else:
        if summary is None:
            raise ConfigError(f"source {source_uuid} has no vm_usage report: pass the daily summary rows")
        try:
            rows = _from_summary(fs, base, account, source_uuid, start_date, end_date, summary)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError("summary", f"unusable daily summary rows ({exc})") from exc
        how = "daily summary"
    LOG.info(
        "VM request rows of %s %s..%s from the %s: %d", source_uuid, start_date, end_date, how, rows.num_rows
    )
    return rows
