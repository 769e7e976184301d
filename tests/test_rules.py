"""One hand-made fixture per rule of SPEC §2, with the expected numbers worked out in the test.

Every fixture is checked against the DuckDB reference (tests/reference.py) first, then against
``ocpagg.summarize_table`` with the same arguments, then kernel and reference row for row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from compare import assert_tables_match
from kokudata import EFFECTIVE_COLUMNS, GIB, hour, write_report
from reference import INFRASTRUCTURE_USAGE_COST, SUMMARY_SCHEMA, reference_table

ACCOUNT = "org1234567"
SOURCE = "6795d5e6-951c-4382-a8d3-390515d7ec6d"
RUN: dict[str, Any] = {
    "account": ACCOUNT,
    "source_uuid": SOURCE,
    "report_period_id": 7,
    "cluster_id": "my-cluster",
    "cluster_alias": "My Cluster",
}
DAY = dt.date(2027, 1, 5)
H = 3600.0
JAN_SECONDS = 86400 * 31

Rows = list[dict[str, Any]]


# ---------------------------------------------------------------- helpers


def h(hour_of_day: int, day: dt.date = DAY) -> dt.datetime:
    """interval_start of an hour of ``day``."""
    return hour(day.year, day.month, day.day, hour_of_day)


def write(root: Path, report_type: str, rows: Rows, day: dt.date = DAY, **kwargs: Any) -> None:
    write_report(root, ACCOUNT, SOURCE, report_type, rows, year=day.year, month=day.month, **kwargs)


def labels(text: str | None) -> dict[str, str] | None:
    return None if text is None else json.loads(text)


def select(table: Rows, **where: Any) -> Rows:
    """Rows whose columns equal ``where`` (label columns compared as dicts)."""
    out = []
    for row in table:
        ok = True
        for key, want in where.items():
            have = row[key]
            if key.endswith("labels") and isinstance(want, dict):
                have = labels(have)
            ok = ok and have == want
        if ok:
            out.append(row)
    return out


def one(table: Rows, **where: Any) -> dict[str, Any]:
    found = select(table, **where)
    assert len(found) == 1, f"{len(found)} rows match {where}: {found}"
    return found[0]


def pods(table: Rows) -> Rows:
    """Pod rows proper (not unallocated: those have NULL limits)."""
    return [r for r in table if r["data_source"] == "Pod" and r["pod_limit_cpu_core_hours"] is not None]


def unallocated(table: Rows) -> Rows:
    return [r for r in table if r["data_source"] == "Pod" and r["pod_limit_cpu_core_hours"] is None]


def storage(table: Rows) -> Rows:
    return [r for r in table if r["data_source"] == "Storage"]


def check(
    root: Path,
    expect: Callable[[Rows], None],
    *,
    start: dt.date = DAY,
    end: dt.date = DAY,
    **kwargs: Any,
) -> None:
    """Run ``expect`` on the reference's rows, then on the kernel's, then compare the two tables."""
    params = {**RUN, "start_date": start, "end_date": end, **kwargs}
    expected = reference_table(root, **params)
    assert expected.schema.names == SUMMARY_SCHEMA.names
    try:
        expect(expected.to_pylist())
    except AssertionError as err:
        raise AssertionError(f"[reference] {err}") from err
    import ocpagg

    actual = ocpagg.summarize_table(str(root), **params)
    assert isinstance(actual, pa.Table)
    assert actual.schema.names == SUMMARY_SCHEMA.names
    try:
        expect(actual.to_pylist())
    except AssertionError as err:
        raise AssertionError(f"[kernel] {err}") from err
    assert_tables_match(actual, expected)


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------- units, capacity


def test_unit_conversions(tmp_path: Path) -> None:
    rows = [
        {
            "interval_start": h(i),
            "namespace": "ns1",
            "node": "n1",
            "pod": "p1",
            "resource_id": "r1",
            "pod_usage_cpu_core_seconds": 1800.0,
            "pod_request_cpu_core_seconds": 3600.0,
            "pod_limit_cpu_core_seconds": 7200.0,
            "pod_effective_usage_cpu_core_seconds": 2700.0,
            "pod_usage_memory_byte_seconds": 1 * GIB * H,
            "pod_request_memory_byte_seconds": 2 * GIB * H,
            "pod_limit_memory_byte_seconds": 4 * GIB * H,
            "pod_effective_usage_memory_byte_seconds": 3 * GIB * H,
            "node_capacity_cpu_cores": 4.0,
            "node_capacity_cpu_core_seconds": 4 * H,
            "node_capacity_memory_bytes": 16.0 * GIB,
            "node_capacity_memory_byte_seconds": 16 * GIB * H,
        }
        for i in (0, 1)
    ]
    write(tmp_path, "pod_usage", rows)

    def expect(table: Rows) -> None:
        assert len(table) == 2
        pod = one(pods(table))
        assert pod["report_period_id"] == 7
        assert pod["cluster_id"] == "my-cluster"
        assert pod["cluster_alias"] == "My Cluster"
        assert pod["source_uuid"] == SOURCE
        assert pod["usage_start"] == DAY and pod["usage_end"] == DAY
        assert (pod["namespace"], pod["node"], pod["resource_id"]) == ("ns1", "n1", "r1")
        assert pod["pod_usage_cpu_core_hours"] == approx(2 * 1800 / 3600)
        assert pod["pod_request_cpu_core_hours"] == approx(2 * 3600 / 3600)
        assert pod["pod_limit_cpu_core_hours"] == approx(2 * 7200 / 3600)
        assert pod["pod_effective_usage_cpu_core_hours"] == approx(2 * 2700 / 3600)
        assert pod["pod_usage_memory_gigabyte_hours"] == approx(2 * 1 * GIB * 3600 / 3600 / GIB)
        assert pod["pod_request_memory_gigabyte_hours"] == approx(2 * 2)
        assert pod["pod_limit_memory_gigabyte_hours"] == approx(2 * 4)
        assert pod["pod_effective_usage_memory_gigabyte_hours"] == approx(2 * 3)
        assert pod["node_capacity_cpu_cores"] == approx(4)
        assert pod["node_capacity_cpu_core_hours"] == approx(2 * 4 * 3600 / 3600)
        assert pod["node_capacity_memory_gigabytes"] == approx(16)
        assert pod["node_capacity_memory_gigabyte_hours"] == approx(2 * 16)
        assert pod["cluster_capacity_cpu_core_hours"] == approx(8)
        assert pod["cluster_capacity_memory_gigabyte_hours"] == approx(32)
        for column in ("persistentvolumeclaim", "persistentvolume", "storageclass", "volume_labels"):
            assert pod[column] is None
        assert pod["persistentvolumeclaim_capacity_gigabyte_months"] is None
        assert labels(pod["pod_labels"]) == {}
        assert pod["cost_category_id"] is None

        free = one(unallocated(table))
        assert free["namespace"] is None  # no node role known
        assert (free["node"], free["resource_id"]) == ("n1", "r1")
        assert free["pod_usage_cpu_core_hours"] == approx(8 - 1)
        assert free["pod_request_cpu_core_hours"] == approx(8 - 2)
        assert free["pod_effective_usage_cpu_core_hours"] == approx(8 - 1.5)
        assert free["pod_usage_memory_gigabyte_hours"] == approx(32 - 2)
        assert free["pod_request_memory_gigabyte_hours"] == approx(32 - 4)
        assert free["pod_effective_usage_memory_gigabyte_hours"] == approx(32 - 6)
        assert free["pod_limit_memory_gigabyte_hours"] is None
        assert free["node_capacity_cpu_cores"] == approx(4)
        assert free["node_capacity_cpu_core_hours"] == approx(8)
        assert free["node_capacity_memory_gigabytes"] == approx(16)
        assert free["node_capacity_memory_gigabyte_hours"] == approx(32)
        assert free["cluster_capacity_cpu_core_hours"] == approx(8)
        assert free["cluster_capacity_memory_gigabyte_hours"] == approx(32)
        assert free["usage_start"] == DAY and free["usage_end"] == DAY
        assert free["source_uuid"] == SOURCE and free["report_period_id"] == 7

    check(tmp_path, expect)


def test_capacity_is_hourly_max_per_node_and_blank_node_counts_for_cluster(tmp_path: Path) -> None:
    def cap(cores: float, gib: float) -> dict[str, float]:
        return {
            "node_capacity_cpu_cores": cores,
            "node_capacity_cpu_core_seconds": cores * H,
            "node_capacity_memory_bytes": gib * GIB,
            "node_capacity_memory_byte_seconds": gib * GIB * H,
        }

    common = {"namespace": "ns", "pod_usage_cpu_core_seconds": 360.0}
    # hour 0 in one file, hour 1 in another: files are many
    write(
        tmp_path,
        "pod_usage",
        [
            {"interval_start": h(0), **common, "node": "n1", "pod": "a", **cap(4, 2)},
            {"interval_start": h(0), **common, "node": "n1", "pod": "b", **cap(6, 3)},
            {"interval_start": h(0), **common, "node": "", "pod": "c", **cap(2, 1)},
            {"interval_start": h(0), **common, "node": "n2", "pod": "d", **cap(1, 0)},
        ],
    )
    write(tmp_path, "pod_usage", [{"interval_start": h(1), **common, "node": "n1", "pod": "a", **cap(4, 2)}])

    def expect(table: Rows) -> None:
        assert {r["node"] for r in table} == {"n1", "n2"}  # no row for node ''
        n1 = one(pods(table), node="n1")
        assert n1["pod_usage_cpu_core_hours"] == approx(3 * 360 / 3600)  # pods a, b and a again
        assert n1["node_capacity_cpu_cores"] == approx(6)
        assert n1["node_capacity_cpu_core_hours"] == approx((6 * 3600 + 4 * 3600) / 3600)  # max(4, 6) + 4
        assert n1["node_capacity_memory_gigabytes"] == approx(3)
        assert n1["node_capacity_memory_gigabyte_hours"] == approx(3 + 2)
        n2 = one(pods(table), node="n2")
        assert n2["node_capacity_cpu_core_hours"] == approx(1)
        for row in (n1, n2):
            assert row["cluster_capacity_cpu_core_hours"] == approx(10 + 2 + 1)  # n1 + '' + n2
            assert row["cluster_capacity_memory_gigabyte_hours"] == approx(5 + 1 + 0)
        free = one(unallocated(table), node="n1")
        assert free["pod_usage_cpu_core_hours"] == approx(10 - 0.3)
        assert free["cluster_capacity_cpu_core_hours"] == approx(13)
        assert one(unallocated(table), node="n2")["pod_usage_cpu_core_hours"] == approx(1 - 0.1)
        assert len(table) == 4

    check(tmp_path, expect)


# ---------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("enabled", "want"),
    [
        (("app",), {"app": "web", "vm_kubevirt_io_name": "vm1"}),
        (("zone",), {"zone": "z", "vm_kubevirt_io_name": "vm1"}),
        ((), {}),  # Trino quirk: no key enabled -> K is NULL -> every label set is {}, vm name too
    ],
)
def test_label_filter_keeps_enabled_keys_and_vm_name(
    tmp_path: Path, enabled: tuple[str, ...], want: dict[str, str]
) -> None:
    write(
        tmp_path,
        "pod_usage",
        [
            {
                "interval_start": h(0),
                "namespace": "ns",
                "node": "n1",
                "pod": "p",
                "pod_usage_cpu_core_seconds": H,
                "pod_labels": {"app": "web", "vm_kubevirt_io_name": "vm1", "other": "x"},
            }
        ],
    )
    write(
        tmp_path,
        "node_labels",
        [
            {
                "interval_start": h(0),
                "node": "n1",
                "node_labels": {"zone": "z", "vm_kubevirt_io_name": "nodevm"},
            }
        ],
    )

    def expect(table: Rows) -> None:
        row = one(pods(table))
        assert labels(row["pod_labels"]) == want
        assert labels(row["all_labels"]) == want
        assert row["pod_usage_cpu_core_hours"] == approx(1)

    check(tmp_path, expect, enabled_keys=enabled)


def test_merge_precedence_and_key_order_independent_grouping(tmp_path: Path) -> None:
    def pod(name: str, raw_labels: str, seconds: float) -> dict[str, Any]:
        return {
            "interval_start": h(0),
            "namespace": "ns",
            "node": "n1",
            "pod": name,
            "pod_labels": raw_labels,
            "pod_usage_cpu_core_seconds": seconds,
        }

    write(
        tmp_path,
        "pod_usage",
        [
            pod("p1", '{"x": "1", "y": "2"}', 3600.0),
            pod("p2", '{"y": "2", "x": "1"}', 7200.0),  # same set, other key order: same group
            pod("p3", '{"tier": "pod"}', 3600.0),
        ],
    )
    write(
        tmp_path,
        "node_labels",
        [
            {
                "interval_start": h(0),
                "node": "n1",
                "node_labels": {"app": "node", "env": "node", "tier": "node"},
            }
        ],
    )
    write(
        tmp_path,
        "namespace_labels",
        [{"interval_start": h(0), "namespace": "ns", "namespace_labels": {"env": "ns", "tier": "ns"}}],
    )

    def expect(table: Rows) -> None:
        assert len(pods(table)) == 2
        xy = one(pods(table), pod_labels={"app": "node", "env": "ns", "tier": "ns", "x": "1", "y": "2"})
        assert xy["pod_usage_cpu_core_hours"] == approx((3600 + 7200) / 3600)
        tier = one(pods(table), pod_labels={"app": "node", "env": "ns", "tier": "pod"})
        assert tier["pod_usage_cpu_core_hours"] == approx(3600 / 3600)

    check(tmp_path, expect, enabled_keys=("app", "env", "tier", "x", "y"))


def test_node_and_namespace_with_two_label_sets_in_a_day_fan_out(tmp_path: Path) -> None:
    cap = {"node_capacity_cpu_core_seconds": 2 * H}
    write(
        tmp_path,
        "pod_usage",
        [
            {
                "interval_start": h(0),
                "namespace": "ns",
                "node": "n1",
                "pod": "p1",
                **cap,
                "pod_usage_cpu_core_seconds": 3600.0,
            },
            {"interval_start": h(1), "namespace": "ns", "node": "n1", "pod": "p1", **cap},
            {
                "interval_start": h(0),
                "namespace": "ns",
                "node": "n2",
                "pod": "p2",
                "node_capacity_cpu_core_seconds": 3 * H,
                "pod_usage_cpu_core_seconds": 3600.0,
            },
            {
                "interval_start": h(0),
                "namespace": "multi",
                "node": "n2",
                "pod": "p3",
                "node_capacity_cpu_core_seconds": 3 * H,
                "pod_usage_cpu_core_seconds": 1800.0,
            },
        ],
    )
    write(
        tmp_path,
        "node_labels",
        [
            {"interval_start": h(0), "node": "n1", "node_labels": {"app": "x"}},
            {"interval_start": h(5), "node": "n1", "node_labels": {"app": "y"}},
            # two raw sets, one filtered set: no fan-out
            {"interval_start": h(0), "node": "n2", "node_labels": {"app": "z", "junk": "1"}},
            {"interval_start": h(1), "node": "n2", "node_labels": {"app": "z", "junk": "2"}},
        ],
    )
    write(
        tmp_path,
        "namespace_labels",
        [
            {"interval_start": h(0), "namespace": "multi", "namespace_labels": {"app": "a1"}},
            {"interval_start": h(2), "namespace": "multi", "namespace_labels": {"app": "a2"}},
        ],
    )

    def expect(table: Rows) -> None:
        n1 = select(pods(table), node="n1")
        assert sorted(labels(r["pod_labels"])["app"] for r in n1) == ["x", "y"]
        for row in n1:
            assert row["pod_usage_cpu_core_hours"] == approx(3600 / 3600)  # each copy has the full sum
            assert row["node_capacity_cpu_core_hours"] == approx(2 * 2)  # max: not multiplied
        z = one(pods(table), node="n2", namespace="ns")
        assert labels(z["pod_labels"]) == {"app": "z"}
        multi = select(pods(table), node="n2", namespace="multi")
        assert sorted(labels(r["pod_labels"])["app"] for r in multi) == ["a1", "a2"]
        for row in multi:
            assert row["pod_usage_cpu_core_hours"] == approx(1800 / 3600)
        # unallocated sums the fanned-out pod rows
        assert one(unallocated(table), node="n1")["pod_usage_cpu_core_hours"] == approx(4 - (1 + 1))
        assert one(unallocated(table), node="n2")["pod_usage_cpu_core_hours"] == approx(3 - (1 + 0.5 + 0.5))

    check(tmp_path, expect, enabled_keys=("app",))


# ---------------------------------------------------------------- effective usage


def test_effective_usage_falls_back_to_greatest_of_daily_sums_for_old_files(tmp_path: Path) -> None:
    cap = {"node_capacity_cpu_core_seconds": 10 * H}
    old = [
        {
            "interval_start": h(0),
            "namespace": "old",
            "node": "n1",
            "pod": "p1",
            **cap,
            "pod_usage_cpu_core_seconds": 1 * H,
            "pod_request_cpu_core_seconds": 3 * H,
            "pod_usage_memory_byte_seconds": 2 * GIB * H,
            "pod_request_memory_byte_seconds": 1 * GIB * H,
        },
        {
            "interval_start": h(1),
            "namespace": "old",
            "node": "n1",
            "pod": "p1",
            **cap,
            "pod_usage_cpu_core_seconds": 5 * H,
            "pod_request_cpu_core_seconds": 1 * H,
            "pod_usage_memory_byte_seconds": 0.0,
            "pod_request_memory_byte_seconds": 4 * GIB * H,
        },
    ]
    write(tmp_path, "pod_usage", old, drop_columns=(*EFFECTIVE_COLUMNS, "node_role"))
    new = [
        {
            "interval_start": h(0),
            "namespace": "new",
            "node": "n1",
            "pod": "p2",
            **cap,
            "pod_usage_cpu_core_seconds": 2 * H,
            "pod_request_cpu_core_seconds": 1 * H,
            "pod_effective_usage_cpu_core_seconds": 0.0,  # present: kept, even if below usage
            "pod_effective_usage_memory_byte_seconds": 7 * GIB * H,
        },
    ]
    write(tmp_path, "pod_usage", new)

    def expect(table: Rows) -> None:
        p1 = one(pods(table), namespace="old")
        assert p1["pod_usage_cpu_core_hours"] == approx(1 + 5)
        assert p1["pod_request_cpu_core_hours"] == approx(3 + 1)
        assert p1["pod_effective_usage_cpu_core_hours"] == approx(max(1 + 5, 3 + 1))  # 6, not 3 + 5
        assert p1["pod_effective_usage_memory_gigabyte_hours"] == approx(max(2 + 0, 1 + 4))  # 5, not 2 + 4
        p2 = one(pods(table), namespace="new")
        assert p2["pod_effective_usage_cpu_core_hours"] == approx(0)
        assert p2["pod_effective_usage_memory_gigabyte_hours"] == approx(7)
        free = one(unallocated(table))
        assert free["pod_usage_cpu_core_hours"] == approx(2 * 10 - (6 + 2))
        assert free["pod_effective_usage_cpu_core_hours"] == approx(2 * 10 - (6 + 0))
        assert free["pod_usage_memory_gigabyte_hours"] == approx(0 - (2 + 0))  # no memory capacity
        assert free["pod_effective_usage_memory_gigabyte_hours"] == approx(0 - (5 + 7))

    check(tmp_path, expect)


# ---------------------------------------------------------------- storage


def _storage(pod: str, claim: str, volume: str, namespace: str = "data", **values: Any) -> dict[str, Any]:
    return {
        "interval_start": h(0),
        "namespace": namespace,
        "pod": pod,
        "persistentvolumeclaim": claim,
        "persistentvolume": volume,
        "storageclass": "gp3",
        **values,
    }


def _pod(name: str, node: str, resource_id: str, namespace: str = "data", **values: Any) -> dict[str, Any]:
    return {
        "interval_start": h(0),
        "namespace": namespace,
        "node": node,
        "pod": name,
        "resource_id": resource_id,
        **values,
    }


def test_shared_volume_on_two_nodes_halves_usage_and_request_not_capacity(tmp_path: Path) -> None:
    write(tmp_path, "pod_usage", [_pod("p1", "n1", "r1"), _pod("p2", "n2", "r2")])
    volume = {
        "persistentvolumeclaim_capacity_bytes": 10.0 * GIB,
        "persistentvolumeclaim_capacity_byte_seconds": 10 * GIB * H,
        "volume_request_storage_byte_seconds": 8 * GIB * H,
        "persistentvolumeclaim_usage_byte_seconds": 4 * GIB * H,
    }
    write(
        tmp_path,
        "storage_usage",
        [_storage("p1", "claim", "pv1", **volume), _storage("p2", "claim", "pv1", **volume)],
    )

    def expect(table: Rows) -> None:
        assert len(storage(table)) == 2
        for node, resource in (("n1", "r1"), ("n2", "r2")):
            row = one(storage(table), node=node)
            assert row["resource_id"] == resource
            assert (row["namespace"], row["persistentvolumeclaim"], row["persistentvolume"]) == (
                "data",
                "claim",
                "pv1",
            )
            assert row["storageclass"] == "gp3"
            assert row["persistentvolumeclaim_capacity_gigabyte"] == approx(10)
            assert row["persistentvolumeclaim_capacity_gigabyte_months"] == approx(10 * 3600 / JAN_SECONDS)
            assert row["volume_request_storage_gigabyte_months"] == approx(8 * 3600 / 2 / JAN_SECONDS)
            assert row["persistentvolumeclaim_usage_gigabyte_months"] == approx(4 * 3600 / 2 / JAN_SECONDS)
            assert row["pod_usage_cpu_core_hours"] is None and row["pod_labels"] is None
            assert labels(row["volume_labels"]) == {}

    check(tmp_path, expect, enabled_keys=("app",))


def test_storage_without_its_pod_and_on_blank_node(tmp_path: Path) -> None:
    write(tmp_path, "pod_usage", [_pod("p1", "n1", "r1"), _pod("q", "", "rq")])
    write(
        tmp_path,
        "storage_usage",
        [
            _storage("p1", "claim1", "pv1", persistentvolumeclaim_usage_byte_seconds=4 * GIB * H),
            # pod absent, PV seen nowhere else: no node, no node_count -> NULL usage and request
            _storage(
                "ghost",
                "claim2",
                "pv2",
                persistentvolumeclaim_usage_byte_seconds=2 * GIB * H,
                volume_request_storage_byte_seconds=2 * GIB * H,
                persistentvolumeclaim_capacity_bytes=6.0 * GIB,
                persistentvolumeclaim_capacity_byte_seconds=6 * GIB * H,
            ),
            # pod absent but its PV has a node_count (1, from p1's row): usage divided by 1
            _storage("gone", "claim3", "pv1", persistentvolumeclaim_usage_byte_seconds=3 * GIB * H),
            # pod on node '': node '' is found and counted
            _storage("q", "claim4", "pv4", persistentvolumeclaim_usage_byte_seconds=1 * GIB * H),
        ],
    )

    def expect(table: Rows) -> None:
        assert len(storage(table)) == 4
        p1 = one(storage(table), persistentvolumeclaim="claim1")
        assert (p1["node"], p1["resource_id"]) == ("n1", "r1")
        assert p1["persistentvolumeclaim_usage_gigabyte_months"] == approx(4 * 3600 / JAN_SECONDS)
        ghost = one(storage(table), persistentvolumeclaim="claim2")
        assert ghost["node"] is None and ghost["resource_id"] is None
        assert ghost["persistentvolumeclaim_usage_gigabyte_months"] is None
        assert ghost["volume_request_storage_gigabyte_months"] is None
        assert ghost["persistentvolumeclaim_capacity_gigabyte"] == approx(6)
        assert ghost["persistentvolumeclaim_capacity_gigabyte_months"] == approx(6 * 3600 / JAN_SECONDS)
        gone = one(storage(table), persistentvolumeclaim="claim3")
        assert gone["node"] is None and gone["resource_id"] is None
        assert gone["persistentvolumeclaim_usage_gigabyte_months"] == approx(3 * 3600 / 1 / JAN_SECONDS)
        blank = one(storage(table), persistentvolumeclaim="claim4")
        assert (blank["node"], blank["resource_id"]) == ("", "rq")
        assert blank["persistentvolumeclaim_usage_gigabyte_months"] == approx(1 * 3600 / JAN_SECONDS)
        assert {r["node"] for r in pods(table)} == {"n1"}

    check(tmp_path, expect)


def test_storage_join_to_volume_nodes_ignores_persistentvolume(tmp_path: Path) -> None:
    """cte_volume_nodes is joined on (day, pvc, pod, namespace): two PVs behind one claim double the sums."""
    write(tmp_path, "pod_usage", [_pod("p", "n1", "r1")])
    volume = {
        "persistentvolumeclaim_capacity_bytes": 1.0 * GIB,
        "persistentvolumeclaim_capacity_byte_seconds": 1 * GIB * H,
        "persistentvolumeclaim_usage_byte_seconds": 1 * GIB * H,
    }
    write(
        tmp_path,
        "storage_usage",
        [_storage("p", "claim", "pv-a", **volume), _storage("p", "claim", "pv-b", **volume)],
    )

    def expect(table: Rows) -> None:
        for volume_name in ("pv-a", "pv-b"):
            row = one(storage(table), persistentvolume=volume_name)
            assert row["node"] == "n1"
            assert row["persistentvolumeclaim_capacity_gigabyte"] == approx(1)  # max
            assert row["persistentvolumeclaim_capacity_gigabyte_months"] == approx(2 * 3600 / JAN_SECONDS)
            assert row["persistentvolumeclaim_usage_gigabyte_months"] == approx(2 * 3600 / 1 / JAN_SECONDS)

    check(tmp_path, expect)


@pytest.mark.parametrize(
    ("year", "month", "days"), [(2027, 1, 31), (2027, 2, 28), (2028, 2, 29), (2027, 4, 30)]
)
def test_gigabyte_months_use_the_days_of_the_month(tmp_path: Path, year: int, month: int, days: int) -> None:
    day = dt.date(year, month, 10)
    at = hour(year, month, 10, 0)
    write(tmp_path, "pod_usage", [{**_pod("p", "n1", "r1"), "interval_start": at}], day=day)
    write(
        tmp_path,
        "storage_usage",
        [
            {
                **_storage(
                    "p",
                    "claim",
                    "pv",
                    persistentvolumeclaim_capacity_byte_seconds=24 * GIB * H,
                    persistentvolumeclaim_usage_byte_seconds=24 * GIB * H,
                    volume_request_storage_byte_seconds=12 * GIB * H,
                ),
                "interval_start": at,
            }
        ],
        day=day,
    )

    def expect(table: Rows) -> None:
        row = one(storage(table))
        assert row["usage_start"] == day
        assert row["persistentvolumeclaim_capacity_gigabyte_months"] == approx(24 * 3600 / (86400 * days))
        assert row["persistentvolumeclaim_usage_gigabyte_months"] == approx(1 / days)
        assert row["volume_request_storage_gigabyte_months"] == approx(0.5 / days)

    check(tmp_path, expect, start=day, end=day)


def test_volume_labels_merge_node_namespace_pv_pvc(tmp_path: Path) -> None:
    write(tmp_path, "pod_usage", [_pod("p", "n1", "r1", pod_labels={"k": "pod"})])
    write(
        tmp_path,
        "node_labels",
        [{"interval_start": h(0), "node": "n1", "node_labels": {"k": "node", "o": "node"}}],
    )
    write(
        tmp_path,
        "namespace_labels",
        [{"interval_start": h(0), "namespace": "data", "namespace_labels": {"k": "ns", "m": "ns"}}],
    )
    write(
        tmp_path,
        "storage_usage",
        [
            _storage(
                "p",
                "claim",
                "pv",
                persistentvolume_labels={"k": "pv", "m": "pv", "n": "pv", "dropped": "pv"},
                persistentvolumeclaim_labels={"n": "pvc"},
            )
        ],
    )

    def expect(table: Rows) -> None:
        row = one(storage(table))
        want = {"k": "pv", "m": "pv", "n": "pvc", "o": "node"}
        assert labels(row["volume_labels"]) == want
        assert labels(row["all_labels"]) == want  # pod_labels NULL -> {} ⊕ volume_labels
        assert row["pod_labels"] is None
        pod = one(pods(table))
        assert labels(pod["pod_labels"]) == {"k": "pod", "m": "ns", "o": "node"}
        assert pod["volume_labels"] is None
        assert labels(pod["all_labels"]) == {"k": "pod", "m": "ns", "o": "node"}

    check(tmp_path, expect, enabled_keys=("k", "m", "n", "o"))


# ---------------------------------------------------------------- cost categories


def test_cost_category_like_is_case_sensitive_with_wildcards(tmp_path: Path) -> None:
    namespaces = ["teamXa1", "team_a1", "team-b", "TEAM_A1", "team_a"]
    write(tmp_path, "pod_usage", [_pod(f"p{i}", "n1", "r1", namespace=ns) for i, ns in enumerate(namespaces)])

    def expect(table: Rows) -> None:
        got = {r["namespace"]: r["cost_category_id"] for r in pods(table)}
        assert got == {"teamXa1": 1, "team_a1": 1, "team-b": None, "TEAM_A1": None, "team_a": 1}

    check(tmp_path, expect, cost_categories=[("team_a%", 1)])


def test_overlapping_cost_patterns_multiply_sums_and_max_id_wins(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pod_usage",
        [
            _pod(
                "p",
                "n1",
                "r1",
                namespace="dev-x",
                pod_usage_cpu_core_seconds=H,
                node_capacity_cpu_core_seconds=4 * H,
            )
        ],
    )
    write(
        tmp_path,
        "storage_usage",
        [
            _storage(
                "p",
                "claim",
                "pv",
                namespace="dev-x",
                persistentvolumeclaim_capacity_bytes=2.0 * GIB,
                persistentvolumeclaim_capacity_byte_seconds=2 * GIB * H,
                persistentvolumeclaim_usage_byte_seconds=1 * GIB * H,
            )
        ],
    )

    def expect(table: Rows) -> None:
        pod = one(pods(table))
        assert pod["cost_category_id"] == 5
        assert pod["pod_usage_cpu_core_hours"] == approx(2 * 3600 / 3600)  # joined twice
        assert pod["node_capacity_cpu_core_hours"] == approx(4)  # max: not doubled
        vol = one(storage(table))
        assert vol["cost_category_id"] == 5
        assert vol["persistentvolumeclaim_capacity_gigabyte"] == approx(2)
        assert vol["persistentvolumeclaim_capacity_gigabyte_months"] == approx(2 * 2 * 3600 / JAN_SECONDS)
        assert vol["persistentvolumeclaim_usage_gigabyte_months"] == approx(2 * 1 * 3600 / JAN_SECONDS)
        free = one(unallocated(table))
        assert free["pod_usage_cpu_core_hours"] == approx(4 - 2)
        assert free["cost_category_id"] is None

    check(tmp_path, expect, cost_categories=[("dev%", 3), ("%dev%", 5)])


def test_cost_category_backslash_is_literal(tmp_path: Path) -> None:
    write(
        tmp_path,
        "pod_usage",
        [_pod("p1", "n1", "r1", namespace="a\\xb"), _pod("p2", "n1", "r1", namespace="a_b")],
    )

    def expect(table: Rows) -> None:
        got = {r["namespace"]: r["cost_category_id"] for r in pods(table)}
        # pattern a\_b is: 'a', a literal backslash, any one character, 'b'
        assert got == {"a\\xb": 9, "a_b": None}

    check(tmp_path, expect, cost_categories=[("a\\_b", 9)])


# ---------------------------------------------------------------- unallocated


def test_unallocated_namespace_from_node_role_negative_values_and_excluded_namespaces(tmp_path: Path) -> None:
    two = {"node_capacity_cpu_core_seconds": 2 * H, "node_capacity_memory_byte_seconds": 2 * GIB * H}
    rows = [
        _pod("p1", "n1", "r1", namespace="app", pod_usage_cpu_core_seconds=1 * H, **two),
        _pod("p2", "n2", "r2", namespace="app", pod_usage_cpu_core_seconds=0.5 * H, **two),
        _pod(
            "p3",
            "n3",
            "r3",
            namespace="app",
            pod_usage_cpu_core_seconds=3 * H,
            pod_usage_memory_byte_seconds=5 * GIB * H,
            **two,
        ),
        _pod("p4", "n4", "r4", namespace="app", pod_usage_cpu_core_seconds=0.5 * H, **two),
        _pod("p5", "n5", "r5", namespace="app", pod_usage_cpu_core_seconds=0.5 * H, **two),
        _pod("p6", "n6", "r6", namespace="app", pod_usage_cpu_core_seconds=0.5 * H, **two),
    ]
    excluded = ["Platform unallocated", "Worker unallocated", "Network unattributed", "Storage unattributed"]
    rows += [
        _pod(f"x{i}", "n1", "r1", namespace=ns, pod_usage_cpu_core_seconds=H, **two)
        for i, ns in enumerate(excluded)
    ]
    write(tmp_path, "pod_usage", rows)
    roles = [
        ("n1", "r1", "master"),
        ("n2", "r2", "infra"),
        ("n3", "r3", "worker"),
        ("n4", "r4", "gpu"),
        ("n5", "other", "master"),  # resource_id does not match
        ("n6", "r6", "infra"),
        ("n6", "r6", "worker"),  # max('infra', 'worker') = 'worker'
    ]

    def expect(table: Rows) -> None:
        free = {r["node"]: r for r in unallocated(table)}
        assert len(unallocated(table)) == 6
        assert {n: r["namespace"] for n, r in free.items()} == {
            "n1": "Platform unallocated",
            "n2": "Platform unallocated",
            "n3": "Worker unallocated",
            "n4": None,
            "n5": None,
            "n6": "Worker unallocated",
        }
        assert free["n1"]["pod_usage_cpu_core_hours"] == approx(2 - 1)  # the four excluded namespaces ignored
        assert free["n2"]["pod_usage_cpu_core_hours"] == approx(2 - 0.5)
        assert free["n3"]["pod_usage_cpu_core_hours"] == approx(2 - 3)  # negative allowed
        assert free["n3"]["pod_usage_memory_gigabyte_hours"] == approx(2 - 5)
        assert free["n6"]["pod_request_cpu_core_hours"] == approx(2 - 0)
        for row in free.values():
            assert row["data_source"] == "Pod"
            assert row["pod_labels"] is None and row["volume_labels"] is None
            assert labels(row["all_labels"]) == {}
            assert row["infrastructure_usage_cost"] is None
            assert row["pod_limit_cpu_core_hours"] is None and row["pod_limit_memory_gigabyte_hours"] is None
            assert row["persistentvolumeclaim"] is None
            assert row["cost_category_id"] is None
        # pods in the excluded namespaces still have their own Pod rows
        assert {r["namespace"] for r in select(pods(table), node="n1")} == {"app", *excluded}

    check(tmp_path, expect, node_roles=roles)


def test_unallocated_cost_category_join_without_max_gives_a_row_per_pattern(tmp_path: Path) -> None:
    two = {"node_capacity_cpu_core_seconds": 2 * H}
    write(
        tmp_path,
        "pod_usage",
        [
            _pod("p1", "n1", "r1", namespace="app", pod_usage_cpu_core_seconds=H, **two),
            _pod("p2", "n2", "r2", namespace="app", pod_usage_cpu_core_seconds=H, **two),
            _pod("p3", "n3", "r3", namespace="app", pod_usage_cpu_core_seconds=H, **two),
        ],
    )
    roles = [("n1", "r1", "master"), ("n2", "r2", "worker")]
    categories = [("Platform%", 4), ("%unallocated", 6), ("app", 8)]

    def expect(table: Rows) -> None:
        assert sorted(r["cost_category_id"] for r in select(unallocated(table), node="n1")) == [4, 6]
        for row in select(unallocated(table), node="n1"):
            assert row["namespace"] == "Platform unallocated"
            assert row["pod_usage_cpu_core_hours"] == approx(2 - 1)  # values not multiplied
        assert one(unallocated(table), node="n2")["cost_category_id"] == 6
        assert one(unallocated(table), node="n3")["cost_category_id"] is None
        assert all(r["cost_category_id"] == 8 for r in pods(table))
        assert len(table) == 3 + 4

    check(tmp_path, expect, node_roles=roles, cost_categories=categories)


# ---------------------------------------------------------------- constant columns, ranges


def test_infrastructure_usage_cost_and_all_labels(tmp_path: Path) -> None:
    write(tmp_path, "pod_usage", [_pod("p", "n1", "r1", pod_labels={"app": "a"})])
    write(
        tmp_path, "storage_usage", [_storage("p", "claim", "pv", persistentvolumeclaim_labels={"app": "b"})]
    )

    def expect(table: Rows) -> None:
        assert (
            INFRASTRUCTURE_USAGE_COST == '{"cpu": 0.000000000, "memory": 0.000000000, "storage": 0.000000000}'
        )
        pod, vol, free = one(pods(table)), one(storage(table)), one(unallocated(table))
        assert pod["infrastructure_usage_cost"] == INFRASTRUCTURE_USAGE_COST
        assert vol["infrastructure_usage_cost"] == INFRASTRUCTURE_USAGE_COST
        assert free["infrastructure_usage_cost"] is None
        assert labels(pod["all_labels"]) == {"app": "a"}
        assert labels(vol["all_labels"]) == {"app": "b"}
        assert labels(free["all_labels"]) == {}

    check(tmp_path, expect, enabled_keys=("app",))


def test_range_spanning_two_months_is_done_month_by_month(tmp_path: Path) -> None:
    days = [dt.date(2027, 1, 30), dt.date(2027, 1, 31), dt.date(2027, 2, 1), dt.date(2027, 2, 2)]
    for k, day in enumerate(days, start=1):
        at = hour(day.year, day.month, day.day, 3)
        write(
            tmp_path,
            "pod_usage",
            [{**_pod("p", "n1", "r1"), "interval_start": at, "pod_usage_cpu_core_seconds": k * H}],
            day=day,
        )
        write(
            tmp_path,
            "storage_usage",
            [
                {
                    **_storage("p", "claim", "pv", persistentvolumeclaim_capacity_byte_seconds=24 * GIB * H),
                    "interval_start": at,
                }
            ],
            day=day,
        )

    def expect(table: Rows) -> None:
        assert {r["usage_start"] for r in table} == {dt.date(2027, 1, 31), dt.date(2027, 2, 1)}
        assert one(pods(table), usage_start=dt.date(2027, 1, 31))["pod_usage_cpu_core_hours"] == approx(2)
        assert one(pods(table), usage_start=dt.date(2027, 2, 1))["pod_usage_cpu_core_hours"] == approx(3)
        jan = one(storage(table), usage_start=dt.date(2027, 1, 31))
        feb = one(storage(table), usage_start=dt.date(2027, 2, 1))
        assert jan["persistentvolumeclaim_capacity_gigabyte_months"] == approx(24 * 3600 / (86400 * 31))
        assert feb["persistentvolumeclaim_capacity_gigabyte_months"] == approx(24 * 3600 / (86400 * 28))
        for row in table:
            assert row["usage_end"] == row["usage_start"]
        assert len(table) == 2 * 3

    check(tmp_path, expect, start=dt.date(2027, 1, 31), end=dt.date(2027, 2, 1))


def test_effective_fallback_is_per_daily_row_keyed_by_raw_pod_labels(tmp_path: Path) -> None:
    """Two raw label texts that filter to the same set are two koku daily rows: greatest per row, then sum."""

    def old(hour_of_day: int, raw: str, usage: float, request: float) -> dict[str, Any]:
        return _pod(
            "p",
            "n1",
            "r1",
            namespace="old",
            interval_start=h(hour_of_day),
            pod_labels=raw,
            pod_usage_cpu_core_seconds=usage,
            pod_request_cpu_core_seconds=request,
        )

    rows = [
        old(0, '{"app": "a", "junk": "1"}', 1 * H, 3 * H),
        old(1, '{"app": "a", "junk": "2"}', 5 * H, 1 * H),
    ]
    write(tmp_path, "pod_usage", rows, drop_columns=EFFECTIVE_COLUMNS)

    def expect(table: Rows) -> None:
        row = one(pods(table))
        assert labels(row["pod_labels"]) == {"app": "a"}
        assert row["pod_usage_cpu_core_hours"] == approx(1 + 5)
        # daily rows: greatest(1, 3) + greatest(5, 1) = 8 (one daily row would give greatest(6, 4) = 6)
        assert row["pod_effective_usage_cpu_core_hours"] == approx(max(1, 3) + max(5, 1))

    check(tmp_path, expect, enabled_keys=("app",))


def test_storage_rows_are_grouped_by_csi_volume_handle(tmp_path: Path) -> None:
    """csi_volume_handle is a group key of the SQL though koku's table has no such column: two rows."""
    write(tmp_path, "pod_usage", [_pod("p", "n1", "r1")])
    volume = {"persistentvolumeclaim_capacity_byte_seconds": 1 * GIB * H}
    write(
        tmp_path,
        "storage_usage",
        [
            _storage("p", "claim", "pv", csi_volume_handle="h1", **volume),
            _storage("p", "claim", "pv", csi_volume_handle="h2", **volume),
        ],
    )

    def expect(table: Rows) -> None:
        rows = storage(table)
        assert len(rows) == 2
        for row in rows:
            assert row["persistentvolumeclaim_capacity_gigabyte_months"] == approx(1 * 3600 / JAN_SECONDS)

    check(tmp_path, expect)


def test_unallocated_role_joins_each_pod_rows_resource_id(tmp_path: Path) -> None:
    """The role join is per pod row (its own max resource_id), then max(node_role) over the node's rows."""
    two = {"node_capacity_cpu_core_seconds": 2 * H, "pod_usage_cpu_core_seconds": 0.5 * H}
    write(
        tmp_path,
        "pod_usage",
        [_pod("p1", "n1", "r-old", namespace="a", **two), _pod("p2", "n1", "r-new", namespace="b", **two)],
    )

    def expect(table: Rows) -> None:
        free = one(unallocated(table))
        assert free["namespace"] == "Platform unallocated"  # matched through namespace b's row
        assert free["resource_id"] == max("r-old", "r-new") == "r-old"  # which has no role
        assert free["pod_usage_cpu_core_hours"] == approx(2 - (0.5 + 0.5))

    check(tmp_path, expect, node_roles=[("n1", "r-new", "master")])
