"""Random small daily trees: each of ocpagg's other OCP queries must equal the DuckDB reference."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpagg.queries import cluster_information, gpu_summary_rows, usage_bounds, vm_request_rows
from querydata import write_rows
from reference_queries import (
    ref_cluster_information,
    ref_gpu_rows,
    ref_usage_bounds,
    ref_vm_rows_from_summary,
    ref_vm_rows_with_report,
)

ACCOUNT = "org1234567"
SOURCE = "9d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
OTHER = "11111111-4b5c-4d6e-8f70-8192a3b4c5d6"
YEAR, MONTH = 2027, 3
DAYS = [dt.date(YEAR, MONTH, d) for d in (1, 2, 3, 30, 31)]
NODES = ["n1", "n2", "", "n.3"]
NAMESPACES = ["openshift-kube-apiserver", "app", "ml_x", "mlx"]
PODS = ["p1", "p2", "virt-launcher-a"]
ROLES = [None, None, "", "infra", "gpu"]
NODE_LABELS = [
    "{}",
    '{"node_role_kubernetes_io": "infra"}',
    '{"node_role_kubernetes_io_infra": ""}',
    '{"kubernetes_io_arch": "AMD64", "a": "1"}',
    '{"kubernetes_io_arch": "arm64"}',
    '{"kubernetes_io_arch": {"x": 1}}',
    '{"kubernetes_io_arch": 7}',
    "not json",
]
POD_LABELS = ["{}", '{"vm_kubevirt_io_name": "vm-a"}', '{"vm_kubevirt_io_name": "vm-b", "app": "x"}']
STRINGS = ["", "a", "b"]
PATTERNS = ["ml%", "%x", "ml_x", "app", "%", "m_x"]

maybe_string = st.one_of(st.none(), st.sampled_from(STRINGS))
number = st.sampled_from([0.0, 1.0, 2.5, 4.0, 7.0])
stamp = st.builds(
    lambda d, h: dt.datetime(d.year, d.month, d.day, h),
    st.sampled_from(DAYS),
    st.sampled_from([0, 0, 0, 6, 23]),
)


def rows_of(draw: st.DrawFn, make: st.SearchStrategy[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    return draw(st.lists(make, max_size=most))


pod_rows = st.fixed_dictionaries(
    {
        "interval_start": stamp,
        "node": st.sampled_from(NODES),
        "resource_id": st.sampled_from(["r1", "r2"]),
        "namespace": st.sampled_from(NAMESPACES),
        "pod": st.sampled_from(PODS),
        "pod_labels": st.sampled_from(POD_LABELS),
        "node_capacity_cpu_cores": number,
        "node_role": st.sampled_from(ROLES),
    }
)
label_rows = st.fixed_dictionaries(
    {"interval_start": stamp, "node": st.sampled_from(NODES), "node_labels": st.sampled_from(NODE_LABELS)}
)
storage_rows = st.fixed_dictionaries(
    {
        "interval_start": stamp,
        "pod": st.sampled_from(PODS),
        "persistentvolume": st.sampled_from(["pv1", "pv2", ""]),
        "persistentvolumeclaim": st.sampled_from(["c1", "c2", ""]),
        "csi_volume_handle": maybe_string,
    }
)
gpu_rows = st.fixed_dictionaries(
    {
        "interval_start": stamp,
        "namespace": st.sampled_from(NAMESPACES),
        "node": st.sampled_from(NODES),
        "pod": st.sampled_from(PODS),
        "gpu_uuid": st.sampled_from(["G1", "G2"]),
        "gpu_model_name": st.sampled_from(["A100", "T4"]),
        "gpu_vendor_name": st.just("nvidia"),
        "gpu_memory_capacity_mib": st.sampled_from([15360.0, 40960.0, 81920.0]),
        "mig_instance_id": maybe_string,
        "mig_profile": st.one_of(st.none(), st.sampled_from(["", "1g.5gb", "3g.20gb"])),
        "mig_strategy": maybe_string,
        "mig_slice_count": st.one_of(st.none(), number, st.just(float("nan"))),
        "gpu_max_slices": st.one_of(st.none(), number),
        "mig_memory_capacity_mib": st.one_of(st.none(), st.sampled_from([5120.0, 20480.0])),
    }
)
vm_rows = st.fixed_dictionaries(
    {
        "interval_start": stamp,
        "vm_name": st.sampled_from(["vm-a", "vm-b", ""]),
        "node": st.sampled_from(NODES),
        "vm_persistentvolumeclaim_name": st.sampled_from(["", "d1", "d2"]),
        "vm_cpu_request_cores": number,
        "vm_memory_request_bytes": st.sampled_from([0.0, 2.0**30, 3 * 2.0**31]),
    }
)
summary_rows = st.tuples(
    st.sampled_from(DAYS),
    st.sampled_from([SOURCE, SOURCE, OTHER]),
    st.one_of(st.none(), st.sampled_from(NODES[:2])),
    st.one_of(st.none(), st.sampled_from(POD_LABELS + ["not json"])),
    st.one_of(st.none(), number),
    st.one_of(st.none(), number),
)


def _write(
    root: Path, report_type: str, rows: list[dict[str, Any]], split: int, drop: list[str], daily: bool
) -> None:
    """Rows in up to ``split`` files, the first file lacking the ``drop`` columns."""
    chunks = [rows[i::split] for i in range(split)] if rows else []
    for i, chunk in enumerate(chunks):
        if chunk:
            write_rows(
                root,
                ACCOUNT,
                SOURCE,
                report_type,
                chunk,
                year=YEAR,
                month=MONTH,
                daily=daily,
                drop_columns=drop if i == 0 else (),
                row_group_size=3,
            )


def _canon(rows: list[tuple]) -> list[tuple]:
    def key(r: tuple) -> tuple:
        return tuple((v is not None, v if v is not None else 0) for v in r)

    return sorted([tuple(None if isinstance(v, float) and v != v else v for v in r) for r in rows], key=key)


def _rows(table: pa.Table) -> list[tuple]:
    return _canon([tuple(r.values()) for r in table.to_pylist()])


ranges = st.sampled_from(
    [(DAYS[0], DAYS[0]), (DAYS[1], DAYS[2]), (DAYS[0], DAYS[4]), (DAYS[3], dt.date(2027, 4, 2))]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    span=ranges,
    split=st.integers(1, 3),
)
def test_queries_match_reference(data: st.DataObject, span: tuple[dt.date, dt.date], split: int) -> None:
    start, end = span
    pods = data.draw(st.lists(pod_rows, max_size=12))
    labels = data.draw(st.lists(label_rows, max_size=6))
    storage = data.draw(st.lists(storage_rows, max_size=6))
    gpus = data.draw(st.lists(gpu_rows, max_size=8))
    vms = data.draw(st.lists(vm_rows, max_size=6))
    categories = data.draw(st.lists(st.tuples(st.sampled_from(PATTERNS), st.integers(1, 9)), max_size=3))
    drop_role = data.draw(st.booleans())
    drop_handle = data.draw(st.booleans())
    drop_mig = data.draw(st.booleans())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, "pod_usage", pods, split, ["node_role"] if drop_role else [], True)
        _write(root, "node_labels", labels, split, [], True)
        _write(root, "storage_usage", storage, split, ["csi_volume_handle"] if drop_handle else [], True)
        mig = [
            "mig_instance_id",
            "mig_profile",
            "mig_strategy",
            "mig_slice_count",
            "gpu_max_slices",
            "mig_memory_capacity_mib",
        ]
        _write(root, "gpu_usage", gpus, split, mig if drop_mig else [], True)
        kw = dict(account=ACCOUNT, source_uuid=SOURCE, start_date=start, end_date=end)

        assert usage_bounds(str(root), **kw) == ref_usage_bounds(root, ACCOUNT, SOURCE, start, end)

        info = cluster_information(str(root), **kw)
        ref_nodes, ref_pvcs, ref_projects = ref_cluster_information(root, ACCOUNT, SOURCE, start, end)
        assert _rows(info.nodes) == _canon(ref_nodes)
        assert _rows(info.pvcs) == _canon(ref_pvcs)
        assert _rows(info.projects) == _canon(ref_projects)

        gpu = gpu_summary_rows(
            str(root), cluster_id="c", cluster_alias="alias", cost_categories=categories, **kw
        )
        ref = ref_gpu_rows(
            root,
            ACCOUNT,
            SOURCE,
            start,
            end,
            cluster_id="c",
            cluster_alias="alias",
            cost_categories=categories,
        )
        assert _rows(gpu) == _canon([tuple(r.values()) for r in ref])

        summary_list = data.draw(st.lists(summary_rows, max_size=8))
        names = [
            "usage_start",
            "source_uuid",
            "node",
            "pod_labels",
            "pod_request_cpu_core_hours",
            "pod_request_memory_gigabyte_hours",
        ]
        schema = pa.schema(
            [
                ("usage_start", pa.date32()),
                ("source_uuid", pa.string()),
                ("node", pa.string()),
                ("pod_labels", pa.string()),
                ("pod_request_cpu_core_hours", pa.float64()),
                ("pod_request_memory_gigabyte_hours", pa.float64()),
            ]
        )
        summary = pa.Table.from_pylist(
            [dict(zip(names, r, strict=True)) for r in summary_list], schema=schema
        )
        got = vm_request_rows(str(root), summary=summary, **kw)
        assert _rows(got) == _canon(ref_vm_rows_from_summary(root, ACCOUNT, SOURCE, start, end, summary))

        if vms:
            _write(root, "vm_usage", vms, split, [], False)
            write_rows(root, ACCOUNT, SOURCE, "vm_usage", vms[:1], year=YEAR, month=MONTH, daily=True)
            got = vm_request_rows(str(root), **kw)
            assert _rows(got) == _canon(ref_vm_rows_with_report(root, ACCOUNT, SOURCE, start))
