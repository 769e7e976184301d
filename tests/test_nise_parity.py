"""Kernel vs reference on realistic data: nise static reports converted by ``ocpagg convert``.

For each YAML in tests/nise/, ``ocpagg.summarize_table`` must give the rows of the DuckDB
restatement of koku's Trino SQL (tests/reference.py), with enabled keys that cover labels nise
writes, a few cost-category patterns (overlapping ones included) and node roles from the node
labels. A second run with no enabled key checks the Trino quirk where every label set is ``{}``.
"""

from __future__ import annotations

import json
from typing import Any

import ocpagg
import pyarrow as pa
import pytest
from compare import assert_tables_match
from nisedata import NISE_YAMLS, NiseRoot, nise_root_factory  # noqa: F401
from reference import reference_table

ENABLED_KEYS = (
    "app",
    "environment",
    "cost_center",
    "team",
    "storage_tier",
    "kubernetes_io_arch",
    "node_role_kubernetes_io_master",
    "openshift_io_cluster_monitoring",
    "owner",
    "a_b",
    "color",
    "version",
)
COST_CATEGORIES = (
    ("openshift-%", 1),
    ("kube-%", 2),
    ("openshift-kube-apiserver%", 3),  # overlaps openshift-%: those rows join twice
    ("payment_", 4),  # '_' is one character: matches "payments"
    ("ml-%", 5),
    ("%analytics", 6),
)


def _run_args(made: NiseRoot, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "account": made.account,
        "source_uuid": made.source_uuid,
        "start_date": made.start_date,
        "end_date": made.end_date,
        "report_period_id": 42,
        "cluster_id": made.cluster_id,
        "cluster_alias": f"{made.cluster_id} alias",
        "enabled_keys": ENABLED_KEYS,
        "cost_categories": COST_CATEGORIES,
        "node_roles": made.node_roles,
    }
    args.update(overrides)
    return args


def _labels(table: pa.Table, column: str) -> list[dict]:
    return [json.loads(v) for v in table[column].to_pylist() if v is not None]


@pytest.mark.parametrize("yaml_name", NISE_YAMLS)
def test_kernel_matches_reference(nise_root_factory, yaml_name: str) -> None:  # noqa: F811
    made = nise_root_factory(yaml_name)
    args = _run_args(made)
    expected = reference_table(str(made.root), **args)
    actual = ocpagg.summarize_table(str(made.root), **args)
    assert_tables_match(actual, expected)

    # the data exercises what it is meant to
    sources = set(expected["data_source"].to_pylist())
    assert sources == {"Pod", "Storage"}
    namespaces = set(expected["namespace"].to_pylist())
    assert {"Platform unallocated", "Worker unallocated"} <= namespaces
    assert "openshift-kube-apiserver" in namespaces
    assert any("vm_kubevirt_io_name" in labels for labels in _labels(expected, "pod_labels"))
    assert len({d for d in expected["usage_start"].to_pylist()}) == len(made.days)
    assert set(expected["cost_category_id"].to_pylist()) - {None}


@pytest.mark.parametrize("yaml_name", NISE_YAMLS)
def test_kernel_matches_reference_without_enabled_keys(nise_root_factory, yaml_name: str) -> None:  # noqa: F811
    made = nise_root_factory(yaml_name)
    args = _run_args(made, enabled_keys=(), cost_categories=(), node_roles=())
    expected = reference_table(str(made.root), **args)
    actual = ocpagg.summarize_table(str(made.root), **args)
    assert_tables_match(actual, expected)
    assert all(labels == {} for labels in _labels(expected, "pod_labels"))


def test_month_end_range_spans_two_months(nise_root_factory) -> None:  # noqa: F811
    made = nise_root_factory("month_end.yaml")
    assert (made.start_date.month, made.end_date.month) == (1, 2)
    args = _run_args(made)
    actual = ocpagg.summarize_table(str(made.root), **args)
    days = sorted({d for d in actual["usage_start"].to_pylist()})
    assert [d.isoformat() for d in days] == ["2027-01-30", "2027-01-31", "2027-02-01", "2027-02-02"]
    # a PV claimed from pods on two nodes: its volume-request share is divided by 2
    shared = [
        r
        for r in actual.to_pylist()
        if r["persistentvolume"] == "pv-shared-nfs" and r["node"] is not None and r["usage_start"] == days[0]
    ]
    assert {r["node"] for r in shared} == {"worker-0", "worker-1"}


def test_mid_day_label_change_fans_out(nise_root_factory) -> None:  # noqa: F811
    made = nise_root_factory("label_change.yaml")
    actual = ocpagg.summarize_table(str(made.root), **_run_args(made))
    rows = [r for r in actual.to_pylist() if r["namespace"] == "orders" and r["data_source"] == "Pod"]

    def label_sets(day: str) -> set[tuple]:
        return {
            tuple(sorted(json.loads(r["pod_labels"]).items()))
            for r in rows
            if r["usage_start"].isoformat() == day and "vm_kubevirt_io_name" not in r["pod_labels"]
        }

    assert len(label_sets("2027-03-20")) == 1
    # node colour x namespace owner x pod version: every pod row joins every label set of the day
    changed = label_sets("2027-03-21")
    assert len(changed) == 8
    assert {dict(s)["color"] for s in changed} == {"blue", "green"}
    assert {dict(s)["owner"] for s in changed} == {"team-a", "team-b"}
    assert {dict(s)["version"] for s in changed} == {"v1", "v2"}
    assert len(label_sets("2027-03-22")) == 1
