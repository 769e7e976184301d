"""Reference data: reading koku's tables, and node roles derived from the files like get_nodes_query_sql."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import adbc_driver_sqlite.dbapi as sqlite
from conftest import SMALL_ROLES, SMALL_SOURCE, write_small_cluster
from kokudata import hour, write_report
from ocpagg.node_roles import derive_node_roles
from ocpagg.refdata import read_reference_rows
from ocpagg.sinks import init_db, open_sink

SOURCE = "5e1d3c2b-0a9f-4e8d-b7c6-a5f4e3d2c1b0"


def test_roles_of_the_small_cluster(tmp_path: Path) -> None:
    kw = write_small_cluster(tmp_path)
    roles = derive_node_roles(str(tmp_path), kw["account"], SMALL_SOURCE, kw["start_date"], kw["end_date"])
    assert sorted(roles) == sorted(SMALL_ROLES)


def test_operator_role_wins_and_unlabelled_nodes_get_none(tmp_path: Path) -> None:
    y, m = 2027, 3
    ts = hour(y, m, 4, 5)
    pods = [
        # the operator's node_role column wins over the apiserver namespace
        {
            "interval_start": ts,
            "node": "n-op",
            "resource_id": "r1",
            "namespace": "openshift-kube-apiserver",
            "node_role": "worker",
        },
        # empty role text is no role: the apiserver rule applies
        {
            "interval_start": ts,
            "node": "n-api",
            "resource_id": "r2",
            "namespace": "openshift-kube-apiserver",
            "node_role": "",
        },
        {"interval_start": ts, "node": "n-api", "resource_id": "r2", "namespace": "other", "node_role": ""},
        {"interval_start": ts, "node": "n-infra", "resource_id": "r3", "namespace": "x", "node_role": ""},
        {"interval_start": ts, "node": "n-plain", "resource_id": "r4", "namespace": "x", "node_role": ""},
        # no node_labels row: koku's inner join gives it no role
        {"interval_start": ts, "node": "n-nolabels", "resource_id": "r5", "namespace": "x", "node_role": ""},
        # outside the range: ignored
        {
            "interval_start": hour(y, m, 9, 0),
            "node": "n-late",
            "resource_id": "r6",
            "namespace": "x",
            "node_role": "",
        },
    ]
    write_report(tmp_path, "org1", SOURCE, "pod_usage", pods, year=y, month=m)
    labels = [
        {"interval_start": ts, "node": n, "node_labels": lab}
        for n, lab in (
            ("n-op", {}),
            ("n-api", {"node_role_kubernetes_io": "infra"}),
            ("n-infra", {"a": "b", "node_role_kubernetes_io": "infra"}),
            ("n-plain", {"node_role_kubernetes_io": "infrastructure"}),
            ("n-late", {}),
        )
    ]
    write_report(tmp_path, "org1", SOURCE, "node_labels", labels, year=y, month=m)
    roles = derive_node_roles(str(tmp_path), "org1", SOURCE, dt.date(y, m, 1), dt.date(y, m, 5))
    assert roles == [
        ("n-api", "r2", "master"),
        ("n-infra", "r3", "infra"),
        ("n-op", "r1", "worker"),
        ("n-plain", "r4", "worker"),
    ]


def test_old_files_without_node_role_column(tmp_path: Path) -> None:
    y, m = 2027, 4
    ts = hour(y, m, 1, 0)
    write_report(
        tmp_path,
        "org1",
        SOURCE,
        "pod_usage",
        [{"interval_start": ts, "node": "n1", "resource_id": "r1", "namespace": "openshift-kube-apiserver"}],
        year=y,
        month=m,
        drop_columns=("node_role",),
    )
    write_report(
        tmp_path, "org1", SOURCE, "node_labels", [{"interval_start": ts, "node": "n1"}], year=y, month=m
    )
    assert derive_node_roles(str(tmp_path), "org1", SOURCE, dt.date(y, m, 1), dt.date(y, m, 1)) == [
        ("n1", "r1", "master")
    ]


def test_reference_rows_from_sqlite(tmp_path: Path) -> None:
    path = str(tmp_path / "ref.sqlite")
    init_db(f"sqlite:///{path}", "org1")
    cluster = str(uuid.uuid4())
    with sqlite.connect(path) as conn, conn.cursor() as cur:
        for key, enabled, provider in (
            ("app", 1, "OCP"),
            ("off", 0, "OCP"),
            ("aws_key", 1, "AWS"),
            ("env", 1, "OCP"),
        ):
            cur.execute(
                "INSERT INTO reporting_enabledtagkeys (uuid, key, enabled, provider_type) "
                "VALUES (?, ?, ?, ?)",
                parameters=[str(uuid.uuid4()), key, enabled, provider],
            )
        cur.execute(
            "INSERT INTO reporting_ocp_cost_category (name, description, source_type, label) "
            "VALUES ('Team', 'd', 'OCP', '[]')"
        )
        cur.execute(
            "INSERT INTO reporting_ocp_cost_category_namespace (namespace, cost_category_id) "
            "SELECT 'team-%', id FROM reporting_ocp_cost_category WHERE name = 'Team'"
        )
        cur.execute(
            "INSERT INTO reporting_tenant_api_provider (uuid, name, type) VALUES (?, 'c', 'OCP')",
            parameters=[SOURCE],
        )
        cur.execute(
            "INSERT INTO reporting_ocp_clusters (uuid, cluster_id, provider_id) VALUES (?, 'c', ?)",
            parameters=[cluster, SOURCE],
        )
        for node, rid, role in (("n1", "r1", "master"), ("n2", None, "worker"), ("n3", "r3", None)):
            cur.execute(
                "INSERT INTO reporting_ocp_nodes (uuid, node, resource_id, cluster_id, node_role) "
                "VALUES (?, ?, ?, ?, ?)",
                parameters=[str(uuid.uuid4()), node, rid, cluster, role],
            )
        conn.commit()
    sink = open_sink(f"sqlite:///{path}", "org1")
    try:
        reference, known = read_reference_rows(sink.query, sink.table, sink.param, SOURCE)
        _, known_other = read_reference_rows(sink.query, sink.table, sink.param, str(uuid.uuid4()))
    finally:
        sink.close()
    assert reference.enabled_keys == ("app", "env")
    assert sorted(reference.cost_categories) == [
        ("Platform unallocated", 1),
        ("kube-%", 1),
        ("openshift", 1),
        ("openshift-%", 1),
        ("team-%", 2),
    ]
    # rows with NULL resource_id or role can never join (koku joins on equality, max ignores NULL)
    assert reference.node_roles == (("n1", "r1", "master"),)
    assert known is True
    assert known_other is False
