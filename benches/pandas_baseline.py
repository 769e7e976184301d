"""The proof of concept's approach, as a baseline: koku's pod rows with plain pandas.

Reads every hourly pod_usage, node_labels and namespace_labels file of the month into DataFrames and
renders the pod SELECT of koku's Trino SQL with groupby and merge: capacity per hour and node, daily
node and namespace label sets, the merged labels per row (parsed with ``json`` row by row, as pandas
has no map type), then the group sums. Pod rows only (no storage, no unallocated rows).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

_GIB = 2.0**-30
_SUMS = {
    "pod_usage_cpu_core_hours": ("pod_usage_cpu_core_seconds", 1 / 3600),
    "pod_request_cpu_core_hours": ("pod_request_cpu_core_seconds", 1 / 3600),
    "pod_effective_usage_cpu_core_hours": ("effective_cpu", 1 / 3600),
    "pod_limit_cpu_core_hours": ("pod_limit_cpu_core_seconds", 1 / 3600),
    "pod_usage_memory_gigabyte_hours": ("pod_usage_memory_byte_seconds", _GIB / 3600),
    "pod_request_memory_gigabyte_hours": ("pod_request_memory_byte_seconds", _GIB / 3600),
    "pod_effective_usage_memory_gigabyte_hours": ("effective_memory", _GIB / 3600),
    "pod_limit_memory_gigabyte_hours": ("pod_limit_memory_byte_seconds", _GIB / 3600),
}


def _folder(
    root: str | Path, account: str, report_type: str, source_uuid: str, year: int, month: int
) -> Path:
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


def _read(folder: Path, columns: list[str]) -> pd.DataFrame:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=columns)
    return pd.concat([pd.read_parquet(f, columns=columns) for f in files], ignore_index=True)


def _like(pattern: str) -> re.Pattern[str]:
    out = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(out + r"\Z", re.DOTALL)


def _daily_labels(frame: pd.DataFrame, key: str, column: str, keys: set[str]) -> pd.DataFrame:
    """Distinct filtered label sets per (day, key), as sorted-key JSON text."""
    frame = frame.assign(usage_start=frame["interval_start"].dt.normalize())
    frame[column] = [
        json.dumps({k: v for k, v in json.loads(text).items() if k in keys}, sort_keys=True)
        for text in frame[column]
    ]
    return frame[["usage_start", key, column]].drop_duplicates()


def pandas_pod_rows(
    root: str | Path,
    *,
    account: str,
    source_uuid: str,
    start_date: dt.date,
    end_date: dt.date,
    enabled_keys: Iterable[str] = (),
    cost_categories: Iterable[tuple[str, int]] = (),
    **_: object,
) -> pd.DataFrame:
    """koku's Pod rows for a range within one month, one DataFrame (labels as sorted-key JSON)."""
    keys = {"vm_kubevirt_io_name", *enabled_keys} if enabled_keys else set()
    year, month = start_date.year, start_date.month
    low = pd.Timestamp(start_date)
    high = pd.Timestamp(end_date + dt.timedelta(days=1))
    pods = _read(_folder(root, account, "pod_usage", source_uuid, year, month), columns=None)  # type: ignore[arg-type]
    pods = pods[(pods["interval_start"] >= low) & (pods["interval_start"] < high)]
    pods["usage_start"] = pods["interval_start"].dt.normalize()

    hourly = pods.groupby(["interval_start", "node"], as_index=False)[
        ["node_capacity_cpu_core_seconds", "node_capacity_memory_byte_seconds"]
    ].max()
    hourly["usage_start"] = hourly["interval_start"].dt.normalize()
    node_cap = hourly.groupby(["usage_start", "node"], as_index=False)[
        ["node_capacity_cpu_core_seconds", "node_capacity_memory_byte_seconds"]
    ].sum()
    cluster_cap = (
        node_cap.groupby("usage_start", as_index=False)[
            ["node_capacity_cpu_core_seconds", "node_capacity_memory_byte_seconds"]
        ]
        .sum()
        .rename(
            columns={
                "node_capacity_cpu_core_seconds": "cluster_cpu",
                "node_capacity_memory_byte_seconds": "cluster_memory",
            }
        )
    )
    node_cap = node_cap.rename(
        columns={
            "node_capacity_cpu_core_seconds": "node_cpu",
            "node_capacity_memory_byte_seconds": "node_memory",
        }
    )

    nl = _read(
        _folder(root, account, "node_labels", source_uuid, year, month),
        ["interval_start", "node", "node_labels"],
    )
    nl = _daily_labels(
        nl[(nl["interval_start"] >= low) & (nl["interval_start"] < high)], "node", "node_labels", keys
    )
    nsl = _read(
        _folder(root, account, "namespace_labels", source_uuid, year, month),
        ["interval_start", "namespace", "namespace_labels"],
    )
    nsl = _daily_labels(
        nsl[(nsl["interval_start"] >= low) & (nsl["interval_start"] < high)],
        "namespace",
        "namespace_labels",
        keys,
    )

    li = pods[pods["node"] != ""].copy()
    del pods
    if "pod_effective_usage_cpu_core_seconds" not in li:
        li["pod_effective_usage_cpu_core_seconds"] = float("nan")
        li["pod_effective_usage_memory_byte_seconds"] = float("nan")
    li["effective_cpu"] = li["pod_effective_usage_cpu_core_seconds"].fillna(
        li[["pod_usage_cpu_core_seconds", "pod_request_cpu_core_seconds"]].max(axis=1)
    )
    li["effective_memory"] = li["pod_effective_usage_memory_byte_seconds"].fillna(
        li[["pod_usage_memory_byte_seconds", "pod_request_memory_byte_seconds"]].max(axis=1)
    )
    li = li.merge(nl, how="left", on=["usage_start", "node"])
    li = li.merge(nsl, how="left", on=["usage_start", "namespace"])
    li["labels"] = [
        json.dumps(
            {
                **(json.loads(n) if isinstance(n, str) else {}),
                **(json.loads(ns) if isinstance(ns, str) else {}),
                **{k: v for k, v in json.loads(p).items() if k in keys},
            },
            sort_keys=True,
        )
        for n, ns, p in zip(li["node_labels"], li["namespace_labels"], li["pod_labels"], strict=True)
    ]
    li = li.merge(node_cap, how="left", on=["usage_start", "node"])
    li = li.merge(cluster_cap, how="left", on="usage_start")

    categories = [(_like(p), int(i)) for p, i in cost_categories]
    namespaces = li["namespace"].unique()
    category = {ns: max((i for rx, i in categories if rx.match(ns)), default=None) for ns in namespaces}
    li["cost_category_id"] = li["namespace"].map(category)

    for name, (column, scale) in _SUMS.items():
        li[name] = li[column] * scale
    li["node_capacity_memory_gigabytes"] = li["node_capacity_memory_bytes"] * _GIB
    li["node_capacity_cpu_core_hours"] = li["node_cpu"] / 3600
    li["node_capacity_memory_gigabyte_hours"] = li["node_memory"] / 3600 * _GIB
    li["cluster_capacity_cpu_core_hours"] = li["cluster_cpu"] / 3600
    li["cluster_capacity_memory_gigabyte_hours"] = li["cluster_memory"] / 3600 * _GIB
    aggregations = {name: "sum" for name in _SUMS}
    aggregations.update(
        {
            name: "max"
            for name in (
                "resource_id",
                "node_capacity_cpu_cores",
                "node_capacity_cpu_core_hours",
                "node_capacity_memory_gigabytes",
                "node_capacity_memory_gigabyte_hours",
                "cluster_capacity_cpu_core_hours",
                "cluster_capacity_memory_gigabyte_hours",
                "cost_category_id",
            )
        }
    )
    out = li.groupby(["usage_start", "namespace", "node", "labels"], as_index=False, dropna=False).agg(
        aggregations
    )
    out["usage_start"] = out["usage_start"].dt.date
    out["data_source"] = "Pod"
    return out.rename(columns={"labels": "pod_labels"})
