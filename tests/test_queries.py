"""The other OCP queries (SPEC §5-§8) on hand-made trees with hand-worked results, checked against the
DuckDB reference too, and on nise data (GPUs with and without MIG, virtual machines with and without
the vm_usage report)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from nisedata import nise_root_factory  # noqa: F401
from ocpagg.errors import ConfigError, InputError
from ocpagg.queries import cluster_information, gpu_summary_rows, usage_bounds, vm_request_rows
from querydata import day, write_rows
from reference_queries import (
    ref_cluster_information,
    ref_gpu_rows,
    ref_usage_bounds,
    ref_vm_rows_from_summary,
    ref_vm_rows_with_report,
)

ACCOUNT = "org1234567"
SOURCE = "5e0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER_SOURCE = "7a7a7a7a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
GIB = float(2**30)
JAN2, JAN3 = dt.date(2027, 1, 2), dt.date(2027, 1, 3)


def canon(rows: list[tuple]) -> list[tuple]:
    """Rows sorted with NULLs first in every position."""
    return sorted(rows, key=lambda r: tuple((v is not None, v if v is not None else 0) for v in r))


def table_rows(table: pa.Table) -> list[tuple]:
    return canon([tuple(r.values()) for r in table.to_pylist()])


# ---- a small cluster in the daily trees -------------------------------------------------------------


@pytest.fixture
def cluster(tmp_path: Path) -> Path:
    root = tmp_path / "root"

    def pod(d: int, node: str, rid: str, ns: str, cap: float, role: str | None = None, **extra: Any) -> dict:
        return {
            "interval_start": day(2027, 1, d),
            "node": node,
            "resource_id": rid,
            "namespace": ns,
            "node_capacity_cpu_cores": cap,
            "node_role": role,
            **extra,
        }

    write_rows(
        root,
        ACCOUNT,
        SOURCE,
        "pod_usage",
        [
            pod(1, "n1", "i-1", "outside-ns", 99.0),  # day 1 is outside the range
            pod(2, "n1", "i-1", "openshift-kube-apiserver", 8.0),
            pod(2, "n2", "i-2", "app", 4.0),
            pod(2, "n3", "i-3", "app", 16.0, "gpu"),  # the pod report's role wins
            pod(2, "n4", "i-4", "app", 2.0),  # n4 has no label rows in range
            pod(2, "", "", "pending-ns", 0.0),  # a pending pod: a project, no node
            pod(2, "n5", "i-5", "app", 1.0),
            pod(2, "n6", "i-6", "app", 1.0),
        ],
        year=2027,
        month=1,
        file_name="d2.parquet",
    )
    write_rows(
        root,
        ACCOUNT,
        SOURCE,
        "pod_usage",
        [
            pod(3, "n1", "i-1", "app", 8.5),  # max capacity 8.5
            pod(3, "n3", "i-3b", "app", 16.0),  # a second resource id: its own node row
        ],
        year=2027,
        month=1,
        file_name="d3.parquet",
    )
    write_rows(
        root,
        ACCOUNT,
        SOURCE,
        "pod_usage",
        [pod(4, "n9", "i-9", "late-ns", 1.0)],
        year=2027,
        month=1,
        file_name="d4.parquet",
        drop_columns=["node_role"],
    )
    labels = [
        (2, "n1", '{"kubernetes_io_arch": "amd64", "a": "1"}'),
        (3, "n1", '{"kubernetes_io_arch": "s390x", "a": "0"}'),  # the greater text gives the architecture
        (2, "n2", '{"node_role_kubernetes_io": "infra", "kubernetes_io_arch": "ARM64"}'),
        (2, "n3", '{"node_role_kubernetes_io_worker": ""}'),
        (1, "n4", '{"node_role_kubernetes_io": "infra"}'),
        (2, "n5", '{"node_role_kubernetes_io_infra": ""}'),  # koku's pattern wants the value "infra"
        (2, "n6", '{"node_role.kubernetes_io": "infra"}'),  # LIKE's "_" matches the "."
    ]
    write_rows(
        root,
        ACCOUNT,
        SOURCE,
        "node_labels",
        [{"interval_start": day(2027, 1, d), "node": n, "node_labels": text} for d, n, text in labels],
        year=2027,
        month=1,
    )
    write_rows(
        root,
        ACCOUNT,
        SOURCE,
        "storage_usage",
        [
            {
                "interval_start": day(2027, 1, 2),
                "persistentvolume": "pv1",
                "persistentvolumeclaim": "pvc1",
                "csi_volume_handle": "vol-1",
            },
            {
                "interval_start": day(2027, 1, 3),
                "persistentvolume": "pv1",
                "persistentvolumeclaim": "pvc1",
                "csi_volume_handle": "",
            },
            {
                "interval_start": day(2027, 1, 1),
                "persistentvolume": "pv3",
                "persistentvolumeclaim": "pvc3",
                "csi_volume_handle": "h",
            },
        ],
        year=2027,
        month=1,
    )
    write_rows(
        root,
        ACCOUNT,
        SOURCE,
        "storage_usage",
        [
            {"interval_start": day(2027, 1, 2), "persistentvolume": "pv2", "persistentvolumeclaim": "pvc2"},
        ],
        year=2027,
        month=1,
        drop_columns=["csi_volume_handle", "csi_driver", "node"],
    )
    return root


def test_usage_bounds_hand(cluster: Path) -> None:
    kw = dict(account=ACCOUNT, source_uuid=SOURCE)
    # daily rows on days 1, 2, 3, 4; the range 2..3 holds days 2 and 3 (midnights)
    assert usage_bounds(str(cluster), start_date=JAN2, end_date=JAN3, **kw) == (
        day(2027, 1, 2),
        day(2027, 1, 3),
    )
    assert usage_bounds(
        str(cluster), start_date=dt.date(2027, 1, 5), end_date=dt.date(2027, 1, 31), **kw
    ) == (None, None)
    # another month's folder is never read, even when the range reaches it
    assert usage_bounds(str(cluster), start_date=dt.date(2026, 12, 30), end_date=JAN3, **kw) == (None, None)
    assert ref_usage_bounds(cluster, ACCOUNT, SOURCE, JAN2, JAN3) == (day(2027, 1, 2), day(2027, 1, 3))


def test_usage_bounds_reads_only_straddling_row_groups(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [
        {"interval_start": day(2027, 1, 1, 23)},
        {"interval_start": day(2027, 1, 2, 5)},  # group 0 straddles
        {"interval_start": day(2027, 1, 2, 7)},
        {"interval_start": day(2027, 1, 3, 22)},  # group 1 inside
        {"interval_start": day(2027, 1, 3, 23)},
        {"interval_start": day(2027, 1, 4, 1)},
    ]  # group 2 straddles
    write_rows(tmp_path, ACCOUNT, SOURCE, "pod_usage", rows, year=2027, month=1, row_group_size=2)
    caplog.set_level("INFO", logger="ocpagg.queries.bounds")
    found = usage_bounds(str(tmp_path), account=ACCOUNT, source_uuid=SOURCE, start_date=JAN2, end_date=JAN3)
    assert found == (day(2027, 1, 2, 5), day(2027, 1, 3, 23))
    assert "1 row groups from statistics, 2 read" in caplog.text
    assert ref_usage_bounds(tmp_path, ACCOUNT, SOURCE, JAN2, JAN3) == found


def test_cluster_information_hand(cluster: Path) -> None:
    info = cluster_information(
        str(cluster), account=ACCOUNT, source_uuid=SOURCE, start_date=JAN2, end_date=JAN3
    )
    nodes = [
        # n1: an openshift-kube-apiserver pod → master; max text '{"kubernetes_io_arch": "s390x"...'
        ("n1", "i-1", 8.5, "master", "s390x"),
        ("n2", "i-2", 4.0, "infra", "arm64"),  # lower() of ARM64
        ("n3", "i-3", 16.0, "gpu", None),
        ("n3", "i-3b", 16.0, "worker", None),
        ("n5", "i-5", 1.0, "worker", None),
        ("n6", "i-6", 1.0, "infra", None),
    ]
    assert table_rows(info.nodes) == nodes
    assert table_rows(info.pvcs) == [("pv1", "pvc1", ""), ("pv1", "pvc1", "vol-1"), ("pv2", "pvc2", None)]
    assert table_rows(info.projects) == [("app",), ("openshift-kube-apiserver",), ("pending-ns",)]
    ref_nodes, ref_pvcs, ref_projects = ref_cluster_information(cluster, ACCOUNT, SOURCE, JAN2, JAN3)
    assert canon(ref_nodes) == nodes
    assert canon(ref_pvcs) == table_rows(info.pvcs)
    assert canon(ref_projects) == table_rows(info.projects)


def test_cluster_information_names_a_file_missing_a_column(cluster: Path) -> None:
    write_rows(
        cluster,
        ACCOUNT,
        SOURCE,
        "pod_usage",
        [{"interval_start": day(2027, 1, 2)}],
        year=2027,
        month=1,
        file_name="old.parquet",
        drop_columns=["resource_id"],
    )
    with pytest.raises(InputError, match=r"old\.parquet: column resource_id is missing"):
        cluster_information(str(cluster), account=ACCOUNT, source_uuid=SOURCE, start_date=JAN2, end_date=JAN3)


# ---- GPU ------------------------------------------------------------------------------------------

GPU_CATEGORIES = (("ml%", 2), ("%l", 5), ("serv_ng", 7))


@pytest.fixture
def gpus(tmp_path: Path) -> Path:
    mig = {
        "namespace": "ml",
        "node": "g1",
        "gpu_uuid": "GPU-1",
        "gpu_model_name": "A100",
        "gpu_vendor_name": "nvidia",
        "gpu_memory_capacity_mib": 40960.0,
        "mig_instance_id": "MIG-1",
        "mig_profile": "1g.5gb",
        "mig_slice_count": 1.0,
        "gpu_max_slices": 7.0,
        "mig_memory_capacity_mib": 5120.0,
        "mig_strategy": "mixed",
    }
    whole = {
        "namespace": "serving",
        "node": "g2",
        "gpu_uuid": "GPU-2",
        "gpu_model_name": "Tesla T4",
        "gpu_vendor_name": "nvidia",
        "gpu_memory_capacity_mib": 15360.0,
    }
    write_rows(
        tmp_path,
        ACCOUNT,
        SOURCE,
        "gpu_usage",
        [
            {**mig, "interval_start": day(2027, 1, 1), "pod": "p0"},  # outside the range
            {**mig, "interval_start": day(2027, 1, 2), "pod": "p1"},
            {
                **mig,
                "interval_start": day(2027, 1, 2),
                "pod": "p2",
                "mig_slice_count": 2.5,
            },  # same group: max 2.5 → 3
            {**whole, "interval_start": day(2027, 1, 3), "pod": "s1", "mig_slice_count": float("nan")},
        ],
        year=2027,
        month=1,
    )
    return tmp_path


def test_gpu_rows_hand(gpus: Path) -> None:
    table = gpu_summary_rows(
        str(gpus),
        account=ACCOUNT,
        source_uuid=SOURCE,
        start_date=JAN2,
        end_date=JAN3,
        cluster_id="c-1",
        cluster_alias="Cluster One",
        cost_categories=GPU_CATEGORIES,
    )
    rows = table.to_pylist()
    assert rows == [
        {
            "cluster_id": "c-1",
            "cluster_alias": "Cluster One",
            "usage_start": JAN2,
            "usage_end": JAN2,
            "namespace": "ml",
            "node": "g1",
            "vendor_name": "nvidia",
            "model_name": "A100",
            "memory_capacity_gb": 40960 * 0.001048576,  # 42.94967296
            "mig_instance_id": "MIG-1",
            "gpu_uuid": "GPU-1",
            "gpu_mode": "MIG",
            "mig_profile": "1g.5gb",
            "mig_slice_count": 3,  # CAST(2.5 AS INTEGER) rounds half away from zero
            "gpu_max_slices": 7,
            "mig_strategy": "mixed",
            "mig_memory_capacity_gb": 5120 * 0.001048576,  # 5.36870912
            "source_uuid": SOURCE,
            "cost_category_id": 5,
        },  # 'ml%' (2) and '%l' (5) match: max 5
        {
            "cluster_id": "c-1",
            "cluster_alias": "Cluster One",
            "usage_start": JAN3,
            "usage_end": JAN3,
            "namespace": "serving",
            "node": "g2",
            "vendor_name": "nvidia",
            "model_name": "Tesla T4",
            "memory_capacity_gb": 15360 * 0.001048576,  # 16.10612736
            "mig_instance_id": None,
            "gpu_uuid": "GPU-2",
            "gpu_mode": "dedicated",
            "mig_profile": None,
            "mig_slice_count": None,  # NaN written by pandas reads as NULL
            "gpu_max_slices": None,
            "mig_strategy": None,
            "mig_memory_capacity_gb": None,
            "source_uuid": SOURCE,
            "cost_category_id": 7,
        },  # 'serv_ng': "_" matches the "i"
    ]
    assert rows[0]["memory_capacity_gb"] == pytest.approx(42.94967296, abs=1e-12)
    ref = ref_gpu_rows(
        gpus,
        ACCOUNT,
        SOURCE,
        JAN2,
        JAN3,
        cluster_id="c-1",
        cluster_alias="Cluster One",
        cost_categories=GPU_CATEGORIES,
    )
    assert canon([tuple(r.values()) for r in ref]) == table_rows(table)


def test_gpu_rows_refuse_infinite_capacity(gpus: Path) -> None:
    write_rows(
        gpus,
        ACCOUNT,
        SOURCE,
        "gpu_usage",
        [{"interval_start": day(2027, 1, 2), "gpu_memory_capacity_mib": float("inf")}],
        year=2027,
        month=1,
        file_name="bad.parquet",
    )
    with pytest.raises(
        InputError, match="bad.parquet: column gpu_memory_capacity_mib holds a non-finite number"
    ):
        gpu_summary_rows(
            str(gpus), account=ACCOUNT, source_uuid=SOURCE, start_date=JAN2, end_date=JAN3, cluster_id="c-1"
        )


# ---- VMs ------------------------------------------------------------------------------------------


def test_vm_rows_with_report_hand(tmp_path: Path) -> None:
    def vm(h: int, name: str, node: str, cpu: float, mem_gib: float, pvc: str) -> dict:
        return {
            "interval_start": day(2027, 1, 5, h),
            "vm_name": name,
            "node": node,
            "vm_cpu_request_cores": cpu,
            "vm_memory_request_bytes": mem_gib * GIB,
            "vm_persistentvolumeclaim_name": pvc,
        }

    write_rows(
        tmp_path,
        ACCOUNT,
        SOURCE,
        "vm_usage",
        [
            vm(9, "vm-c", "w1", 8, 8, "c-disk"),  # not in the latest hour: no row
            vm(9, "vm-b", "w1", 2, 1, "old-b"),  # an earlier claim still pairs with vm-b
            vm(10, "vm-a", "w1", 2, 4, "disk-a"),
            vm(11, "vm-a", "w1", 4, 8, "disk-a"),
            vm(11, "vm-a", "w2", 1, 2, "disk-a2"),
            vm(11, "vm-b", "w1", 2, 1, ""),
        ],
        year=2027,
        month=1,
        daily=False,
    )
    write_rows(
        tmp_path,
        ACCOUNT,
        SOURCE,
        "vm_usage",
        [vm(0, "vm-a", "w1", 4, 8, "disk-a")],
        year=2027,
        month=1,
        daily=True,
    )  # koku's partition check looks at the daily table
    # the range plays no part: the whole month's latest hour (2027-01-05 11:00) counts
    rows = vm_request_rows(
        str(tmp_path),
        account=ACCOUNT,
        source_uuid=SOURCE,
        start_date=dt.date(2027, 1, 20),
        end_date=dt.date(2027, 1, 31),
    )
    expected = [
        ("vm-a", "w1", "disk-a", 96.0, 192.0),  # 4 cores × 24; 8 GiB × 24
        ("vm-a", "w1", "disk-a2", 96.0, 192.0),
        ("vm-a", "w2", "disk-a", 24.0, 48.0),  # 1 × 24; 2 × 24
        ("vm-a", "w2", "disk-a2", 24.0, 48.0),
        ("vm-b", "w1", "", 48.0, 24.0),  # 2 × 24; 1 × 24
        ("vm-b", "w1", "old-b", 48.0, 24.0),
    ]
    assert table_rows(rows) == expected
    assert canon(ref_vm_rows_with_report(tmp_path, ACCOUNT, SOURCE, dt.date(2027, 1, 20))) == expected


def _summary(rows: list[tuple]) -> pa.Table:
    names = [
        "usage_start",
        "source_uuid",
        "node",
        "pod_labels",
        "pod_request_cpu_core_hours",
        "pod_request_memory_gigabyte_hours",
    ]
    return pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows])


def test_vm_rows_from_summary_hand(tmp_path: Path) -> None:
    x = '{"vm_kubevirt_io_name": "vm-x", "app": "db"}'
    y = '{"vm_kubevirt_io_name": "vm-y"}'
    d = lambda n: dt.date(2027, 1, n)  # noqa: E731
    summary = _summary(
        [
            (d(10), SOURCE, "w1", x, 1.0, 2.0),
            (d(11), SOURCE, "w1", x, 5.0, 10.0),
            (d(11), SOURCE, "w2", x, 3.0, 6.0),  # same VM and day: the greater node wins the tie
            (d(11), SOURCE, "w1", '{"app": "db"}', 9.0, 9.0),  # no VM label
            (d(11), SOURCE, "w3", x, None, 9.0),  # no CPU request
            (d(12), SOURCE, "w1", x, 7.0, 14.0),  # the last day; the second-to-last (11th) is used
            (d(11), OTHER_SOURCE, "w9", y, 1.0, 2.0),  # koku's SQL does not filter these rows by source
            (d(13), OTHER_SOURCE, "w9", y, 1.0, 2.0),  # the other source's days do not pick the day
        ]
    )
    write_rows(
        tmp_path,
        ACCOUNT,
        SOURCE,
        "pod_usage",
        [
            {"interval_start": day(2027, 1, 2), "pod": "virt-launcher-x", "pod_labels": x},
            {"interval_start": day(2027, 1, 2), "pod": "plain", "pod_labels": '{"app": "db"}'},
        ],
        year=2027,
        month=1,
    )
    write_rows(
        tmp_path,
        ACCOUNT,
        SOURCE,
        "storage_usage",
        [
            {"interval_start": day(2027, 1, 3), "pod": "virt-launcher-x", "persistentvolumeclaim": "x-root"},
            {"interval_start": day(2027, 1, 3), "pod": "virt-launcher-x", "persistentvolumeclaim": ""},
            {"interval_start": day(2027, 1, 3), "pod": "plain", "persistentvolumeclaim": "p-data"},
        ],
        year=2027,
        month=1,
    )
    rows = vm_request_rows(
        str(tmp_path), account=ACCOUNT, source_uuid=SOURCE, start_date=d(1), end_date=d(31), summary=summary
    )
    expected = [("vm-x", "w2", "x-root", 3.0, 6.0), ("vm-y", "w9", None, 1.0, 2.0)]
    assert table_rows(rows) == expected
    assert canon(ref_vm_rows_from_summary(tmp_path, ACCOUNT, SOURCE, d(1), d(31), summary)) == expected
    with pytest.raises(ConfigError, match="no vm_usage report"):
        vm_request_rows(str(tmp_path), account=ACCOUNT, source_uuid=SOURCE, start_date=d(1), end_date=d(31))


# ---- nise -----------------------------------------------------------------------------------------


def _month(start: dt.date) -> tuple[dt.date, dt.date]:
    first = start.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return first, last


@pytest.mark.parametrize("yaml_name", ["february.yaml", "spring.yaml", "month_end.yaml"])
def test_nise_matches_reference(nise_root_factory, yaml_name: str) -> None:  # noqa: F811
    nise = nise_root_factory(yaml_name)
    root, src = nise.root, nise.source_uuid
    start, end = nise.start_date, min(nise.end_date, _month(nise.start_date)[1])
    kw = dict(account=nise.account, source_uuid=src, start_date=start, end_date=end)
    assert usage_bounds(str(root), **kw) == ref_usage_bounds(root, nise.account, src, start, end)
    assert usage_bounds(str(root), **kw)[0] == dt.datetime.combine(start, dt.time())
    info = cluster_information(str(root), **kw)
    ref_nodes, ref_pvcs, ref_projects = ref_cluster_information(root, nise.account, src, start, end)
    assert info.nodes.num_rows > 0
    assert table_rows(info.nodes) == canon(ref_nodes)
    assert table_rows(info.pvcs) == canon(ref_pvcs)
    assert table_rows(info.projects) == canon(ref_projects)
    cats = (("ml-%", 3), ("%i%", 4), ("openshift_%", 1))
    gpu = gpu_summary_rows(str(root), cluster_id=nise.cluster_id, cost_categories=cats, **kw)
    ref = ref_gpu_rows(
        root,
        nise.account,
        src,
        start,
        end,
        cluster_id=nise.cluster_id,
        cluster_alias=None,
        cost_categories=cats,
    )
    assert table_rows(gpu) == canon([tuple(r.values()) for r in ref])
    vms = vm_request_rows(str(root), **kw)
    assert vms.num_rows > 0
    assert table_rows(vms) == canon(ref_vm_rows_with_report(root, nise.account, src, start))


def test_nise_gpus_mig_and_whole(nise_root_factory) -> None:  # noqa: F811
    nise = nise_root_factory("february.yaml")
    gpu = gpu_summary_rows(
        str(nise.root),
        account=nise.account,
        source_uuid=nise.source_uuid,
        start_date=nise.start_date,
        end_date=nise.end_date,
        cluster_id=nise.cluster_id,
    )
    by_profile = {(r["model_name"], r["mig_profile"]): r for r in gpu.to_pylist()}
    a100 = by_profile[("A100", "3g.20gb")]
    assert (a100["mig_slice_count"], a100["gpu_max_slices"]) == (3, 7)
    assert a100["mig_memory_capacity_gb"] == pytest.approx(20480 * 0.001048576)
    # nise's whole T4 carries empty MIG columns: '' is not NULL, so koku's SQL calls it 'MIG' (SPEC §7)
    t4 = by_profile[("Tesla T4", "")]
    assert (t4["gpu_mode"], t4["mig_slice_count"], t4["memory_capacity_gb"]) == (
        "MIG",
        None,
        pytest.approx(16.10612736),
    )
    assert gpu.num_rows == 3 * len(nise.days)


@pytest.mark.parametrize("yaml_name", ["february.yaml", "month_end.yaml"])
def test_nise_vm_rows_without_report(nise_root_factory, tmp_path: Path, yaml_name: str) -> None:  # noqa: F811
    import ocpagg

    nise = nise_root_factory(yaml_name)
    root = tmp_path / "root"
    shutil.copytree(nise.root, root)
    for tree in (root / "data" / "parquet", root / "data" / "parquet" / "daily"):
        shutil.rmtree(tree / nise.account / "OCP" / "vm_usage")
    start, end = _month(nise.start_date)
    summary = ocpagg.summarize_table(
        str(root),
        account=nise.account,
        source_uuid=nise.source_uuid,
        start_date=nise.start_date,
        end_date=min(nise.end_date, end),
        report_period_id=1,
        cluster_id=nise.cluster_id,
        enabled_keys=("app",),
    )
    kw = dict(account=nise.account, source_uuid=nise.source_uuid, start_date=start, end_date=end)
    rows = vm_request_rows(str(root), summary=summary, **kw)
    assert rows.num_rows > 0
    assert table_rows(rows) == canon(
        ref_vm_rows_from_summary(root, nise.account, nise.source_uuid, start, end, summary)
    )
