"""Parquet files written by other tools than koku's post-processor read the same.

Hive, Spark or an older pyarrow may store the hourly columns with other physical types than
koku's: timestamps in µs or ns (or with a UTC zone), strings as unannotated bytes or large
strings, metrics as decimals or integers, a whole day in one file. The rows must not change.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ocpagg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from compare import assert_tables_match
from kokudata import hour, write_report

ACCOUNT = "org1234567"
SOURCE = "6f1f2a3b-0c4d-4e5f-8a9b-0c1d2e3f4a5b"
DAY = dt.date(2027, 1, 5)
RUN = dict(
    account=ACCOUNT,
    source_uuid=SOURCE,
    start_date=DAY,
    end_date=DAY + dt.timedelta(days=1),
    report_period_id=7,
    cluster_id="types",
    enabled_keys=("app",),
    cost_categories=(("team-%", 3),),
)
H = 3600.0


def _write_cluster(root: Path) -> list[Path]:
    pods = []
    for day in (5, 6):
        for h in range(3):
            for pod, node, ns in (("a", "n1", "team-x"), ("b", "n2", "team-y"), ("c", "", "team-y")):
                pods.append(
                    {
                        "interval_start": hour(2027, 1, day, h),
                        "pod": pod,
                        "namespace": ns,
                        "node": node,
                        "resource_id": f"i-{node}",
                        "pod_usage_cpu_core_seconds": 0.5 * H,
                        "pod_request_cpu_core_seconds": 1.0 * H,
                        "pod_usage_memory_byte_seconds": 2**30 * H,
                        "node_capacity_cpu_cores": 4.0,
                        "node_capacity_cpu_core_seconds": 4 * H,
                        "node_capacity_memory_bytes": 2.0**33,
                        "node_capacity_memory_byte_seconds": 2.0**33 * H,
                        "pod_labels": {"app": pod},
                    }
                )
    storage = [
        {
            "interval_start": hour(2027, 1, day, 0),
            "pod": "a",
            "namespace": "team-x",
            "persistentvolumeclaim": "data",
            "persistentvolume": "pv-1",
            "storageclass": "gp3",
            "persistentvolumeclaim_capacity_bytes": 2.0**31,
            "persistentvolumeclaim_capacity_byte_seconds": 2.0**31 * H,
            "volume_request_storage_byte_seconds": 2.0**31 * H,
            "persistentvolumeclaim_usage_byte_seconds": 2.0**30 * H,
            "persistentvolumeclaim_labels": {"app": "db"},
        }
        for day in (5, 6)
    ]
    nodes = [
        {"interval_start": hour(2027, 1, d, 0), "node": "n1", "node_labels": {"app": "n"}} for d in (5, 6)
    ]
    return [
        write_report(root, ACCOUNT, SOURCE, "pod_usage", pods, year=2027, month=1),
        write_report(root, ACCOUNT, SOURCE, "storage_usage", storage, year=2027, month=1),
        write_report(root, ACCOUNT, SOURCE, "node_labels", nodes, year=2027, month=1),
    ]


def _retype(table: pa.Table, how: str) -> pa.Table:
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        t = field.type
        if pa.types.is_timestamp(t):
            column = column.cast({"us": pa.timestamp("us"), "ns": pa.timestamp("ns")}.get(how, t))
            if how == "utc":
                column = pc.assume_timezone(column, "UTC")
        elif pa.types.is_string(t):
            column = column.cast({"binary": pa.binary(), "large": pa.large_string()}.get(how, t))
        elif pa.types.is_floating(t) and how == "decimal":
            column = column.cast(pa.decimal128(38, 6))
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


@pytest.mark.parametrize("how", ["us", "ns", "utc", "binary", "large", "decimal"])
def test_other_physical_types_give_the_same_rows(tmp_path: Path, how: str) -> None:
    koku = tmp_path / "koku"
    other = tmp_path / "other"
    for path in _write_cluster(koku):
        target = other / path.relative_to(koku)
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(_retype(pq.read_table(path), how), target, row_group_size=4)
    expected = ocpagg.summarize_table(str(koku), **RUN)
    # per day: 2 pod rows (node '' has none), 1 storage row, 2 unallocated rows
    assert expected.num_rows == 2 * (2 + 1 + 2)
    assert_tables_match(ocpagg.summarize_table(str(other), **RUN), expected)


def test_one_file_for_two_days_with_row_groups_across_them(tmp_path: Path) -> None:
    """Row groups straddling the day boundary are read for both days, each day keeping its rows."""
    koku = tmp_path / "koku"
    merged = tmp_path / "merged"
    for path in _write_cluster(koku):
        target = merged / path.relative_to(koku)
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pq.read_table(path), target, row_group_size=5)
    expected = ocpagg.summarize_table(str(koku), **RUN)
    assert_tables_match(ocpagg.summarize_table(str(merged), **RUN), expected)
    pod = [r for r in expected.to_pylist() if r["data_source"] == "Pod" and r["namespace"] == "team-x"]
    assert sorted(r["usage_start"] for r in pod) == [DAY, DAY + dt.timedelta(days=1)]
    assert all(r["pod_usage_cpu_core_hours"] == pytest.approx(3 * 0.5) for r in pod)
