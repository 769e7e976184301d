"""Cluster information and GPU usage-only rows written into PostgreSQL with koku's DDL (tests/koku_ddl.py):
koku's get-or-create and fill-when-empty rules, reruns, refusals, and the CLI over S3."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from ocpagg.errors import ConfigError, InputError
from ocpagg.queries.cluster_writer import best_handle, populate_cluster_information
from ocpagg.queries.gpu_writer import populate_gpu_summary
from ocpagg.sinks import open_sink
from querydata import day, write_rows
from test_queries import ACCOUNT, JAN2, JAN3, SOURCE, cluster, gpus  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


def q(conn: Any, sql: str, params: list[Any] | None = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, parameters=params)
        rows = cur.fetchall()
    conn.commit()
    return rows


def ex(conn: Any, sql: str, params: list[Any] | None = None) -> None:
    with conn.cursor() as cur:
        cur.execute(sql, parameters=params)
    conn.commit()


def add_provider(conn: Any, schema: str, source: str = SOURCE) -> None:
    ex(
        conn,
        f'INSERT INTO "{schema}".reporting_tenant_api_provider (uuid, name, type) VALUES '
        "(CAST($1 AS uuid), 'p', 'OCP')",
        [source],
    )


def add_cluster(
    conn: Any, schema: str, alias: str | None, cluster_id: str = "c-1", uuid_text: str | None = None
) -> str:
    cid = uuid_text or str(uuid.uuid4())
    ex(
        conn,
        f'INSERT INTO "{schema}".reporting_ocp_clusters VALUES (CAST($1 AS uuid), $2, $3, CAST($4 AS uuid))',
        [cid, cluster_id, alias, SOURCE],
    )
    return cid


def snapshot(conn: Any, schema: str) -> dict[str, list[tuple]]:
    s = f'"{schema}"'
    return {
        "clusters": q(
            conn, f"SELECT cluster_id, cluster_alias FROM {s}.reporting_ocp_clusters ORDER BY 1, 2"
        ),
        "nodes": q(
            conn,
            f"SELECT node, resource_id, node_capacity_cpu_cores, node_role, architecture "
            f"FROM {s}.reporting_ocp_nodes ORDER BY 1, 2, 3",
        ),
        "pvcs": q(
            conn,
            f"SELECT persistent_volume, persistent_volume_claim, csi_volume_handle "
            f"FROM {s}.reporting_ocp_pvcs ORDER BY 1, 2",
        ),
        "projects": q(conn, f"SELECT project FROM {s}.reporting_ocp_projects ORDER BY 1"),
        "gpu": q(
            conn,
            f"SELECT usage_start, namespace, node, model_name, memory_capacity_gb, gpu_mode, "
            f"mig_slice_count, cost_category_id, cost_model_rate_type "
            f"FROM {s}.reporting_ocp_gpu_summary_p ORDER BY 1, 2, 9 NULLS FIRST",
        ),
    }


def test_best_handle() -> None:
    assert best_handle([None, "", "b", "a"]) == "b"
    assert best_handle([None, ""]) == ""
    assert best_handle([None]) is None


def write_cluster_info(pg_url: str, schema: str, root: Path, **extra: Any):
    sink = open_sink(pg_url, schema)
    try:
        return populate_cluster_information(
            sink,
            str(root),
            account=ACCOUNT,
            source_uuid=SOURCE,
            cluster_id="c-1",
            cluster_alias="prod",
            start_date=JAN2,
            end_date=JAN3,
            **extra,
        )
    finally:
        sink.close()


def test_cluster_information_into_postgres(pg_url: str, pg_conn: Any, pg_schema: str, cluster: Path) -> None:  # noqa: F811
    s = f'"{pg_schema}"'
    add_provider(pg_conn, pg_schema)
    keep = add_cluster(pg_conn, pg_schema, "old-name", uuid_text="00000000-0000-4000-8000-000000000001")
    node_sql = (
        f"INSERT INTO {s}.reporting_ocp_nodes "
        "VALUES (gen_random_uuid(), $1, $2, $3, CAST($4 AS uuid), $5, $6)"
    )
    ex(pg_conn, node_sql, ["n2", "i-2", 4, keep, "", "amd64"])  # empty role: role and architecture replaced
    ex(pg_conn, node_sql, ["n3", "i-3", 16, keep, "worker", "amd64"])  # kept although the Parquet says "gpu"
    ex(
        pg_conn,
        f"INSERT INTO {s}.reporting_ocp_pvcs VALUES (gen_random_uuid(), 'pvc1', 'pv1', CAST($1 AS uuid), '')",
        [keep],
    )
    ex(
        pg_conn,
        f"INSERT INTO {s}.reporting_ocp_projects VALUES (gen_random_uuid(), 'app', CAST($1 AS uuid))",
        [keep],
    )

    counts = write_cluster_info(pg_url, pg_schema, cluster)
    # one cluster row: its alias is updated
    assert (counts.clusters_deleted, counts.clusters_created, counts.clusters_updated) == (0, 0, 1)
    assert counts.cluster_uuid == keep
    assert (counts.nodes_created, counts.nodes_updated) == (4, 1)
    assert (counts.pvcs_created, counts.pvcs_updated, counts.projects_created) == (1, 1, 2)
    snap = snapshot(pg_conn, pg_schema)
    assert snap["clusters"] == [("c-1", "prod")]
    assert snap["nodes"] == [
        ("n1", "i-1", "8.50", "master", "s390x"),
        ("n2", "i-2", "4.00", "infra", "arm64"),
        ("n3", "i-3", "16.00", "worker", "amd64"),
        ("n3", "i-3b", "16.00", "worker", None),
        ("n5", "i-5", "1.00", "worker", None),
        ("n6", "i-6", "1.00", "infra", None),
    ]
    # pv1/pvc1: recorded with '' and the query gives '' and 'vol-1': filled with 'vol-1'; pv2/pvc2: NULL
    assert snap["pvcs"] == [("pv1", "pvc1", "vol-1"), ("pv2", "pvc2", None)]
    assert snap["projects"] == [("app",), ("openshift-kube-apiserver",), ("pending-ns",)]

    # duplicates of the provider's cluster: the rows with another alias go, with their children
    stale = add_cluster(pg_conn, pg_schema, "stale", cluster_id="c-2")
    add_cluster(
        pg_conn, pg_schema, "prod", cluster_id="c-3", uuid_text="ffffffff-0000-4000-8000-000000000001"
    )
    ex(
        pg_conn,
        f"INSERT INTO {s}.reporting_ocp_projects VALUES (gen_random_uuid(), 'gone', CAST($1 AS uuid))",
        [stale],
    )
    ex(pg_conn, f"UPDATE {s}.reporting_ocp_nodes SET node_role = '' WHERE node = 'n1'")
    ex(pg_conn, f"UPDATE {s}.reporting_ocp_nodes SET architecture = 'x86' WHERE node = 'n5'")
    again = write_cluster_info(pg_url, pg_schema, cluster)
    assert (again.clusters_deleted, again.clusters_created, again.clusters_updated) == (1, 0, 0)
    assert again.cluster_uuid == keep  # the first remaining row by uuid
    assert (again.nodes_created, again.pvcs_created, again.projects_created) == (0, 0, 0)
    assert again.pvcs_updated == 1  # pv2/pvc2's NULL handle is empty, so koku rewrites it (with NULL)
    # n1 (empty role) refilled; n3/i-3b and n6 (no architecture) rewritten with the same values
    assert again.nodes_updated == 3
    after = snapshot(pg_conn, pg_schema)
    assert after["clusters"] == [("c-1", "prod"), ("c-3", "prod")]
    assert after["nodes"] == [r if r[0] != "n5" else (*r[:4], "x86") for r in snap["nodes"]]
    assert (after["pvcs"], after["projects"]) == (snap["pvcs"], snap["projects"])


def test_cluster_information_refusals_leave_tables_alone(
    pg_url: str,
    pg_conn: Any,
    pg_schema: str,
    cluster: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    # no provider row: refused, nothing created (ocpagg never creates providers)
    with pytest.raises(ConfigError, match="provider .* is not in"):
        write_cluster_info(pg_url, pg_schema, cluster)
    assert snapshot(pg_conn, pg_schema)["clusters"] == []
    add_provider(pg_conn, pg_schema)
    add_cluster(pg_conn, pg_schema, "a")
    add_cluster(pg_conn, pg_schema, "b")
    before = snapshot(pg_conn, pg_schema)
    # a missing prefix: refused before the duplicate clusters are deleted
    with pytest.raises(InputError, match="no daily pod_usage files for 2027-01"):
        write_cluster_info(pg_url, pg_schema, tmp_path / "empty")
    # a bad file: refused before any write
    write_rows(
        cluster,
        ACCOUNT,
        SOURCE,
        "pod_usage",
        [{"interval_start": day(2027, 1, 2)}],
        year=2027,
        month=1,
        file_name="bad.parquet",
        drop_columns=["node"],
    )
    with pytest.raises(InputError, match="bad.parquet: column node is missing"):
        write_cluster_info(pg_url, pg_schema, cluster)
    assert snapshot(pg_conn, pg_schema) == before
    # allowed to run on an empty month: the cluster step still runs (koku's does), nothing else
    counts = write_cluster_info(pg_url, pg_schema, tmp_path / "empty", allow_missing=True)
    assert (counts.clusters_deleted, counts.clusters_created, counts.nodes_created) == (2, 1, 0)


def test_cluster_information_on_a_callers_connection(
    pg_url: str,
    pg_conn: Any,
    pg_schema: str,
    cluster: Path,  # noqa: F811
) -> None:  # noqa: F811
    import adbc_driver_postgresql.dbapi as pg

    add_provider(pg_conn, pg_schema)
    conn = pg.connect(pg_url)
    try:
        sink = open_sink(conn, pg_schema)
        counts = populate_cluster_information(
            sink,
            str(cluster),
            account=ACCOUNT,
            source_uuid=SOURCE,
            cluster_id="c-1",
            cluster_alias=None,
            start_date=JAN2,
            end_date=JAN3,
        )
        sink.close()  # not ours to close: the caller's connection stays open and idle
        assert counts.nodes_created == 6
        with conn.cursor() as cur:
            cur.execute("SELECT txid_current_if_assigned() IS NULL")
            assert cur.fetchone() == (True,)
    finally:
        conn.close()
    assert snapshot(pg_conn, pg_schema)["clusters"] == [("c-1", None)]


# ---- GPU ------------------------------------------------------------------------------------------


def write_gpu(pg_url: str, schema: str, root: Path, **extra: Any):
    sink = open_sink(pg_url, schema)
    try:
        kw: dict[str, Any] = dict(
            account=ACCOUNT,
            source_uuid=SOURCE,
            start_date=JAN2,
            end_date=JAN3,
            cluster_id="c-1",
            cluster_alias="prod",
        )
        kw.update(extra)
        return populate_gpu_summary(sink, str(root), **kw)
    finally:
        sink.close()


def test_gpu_rows_into_postgres(pg_url: str, pg_conn: Any, pg_schema: str, gpus: Path) -> None:  # noqa: F811
    s = f'"{pg_schema}"'
    add_provider(pg_conn, pg_schema)
    cats = q(pg_conn, f"SELECT id FROM {s}.reporting_ocp_cost_category")
    platform = cats[0][0]
    ex(
        pg_conn,
        f"INSERT INTO {s}.reporting_ocp_cost_category_namespace (namespace, system_default, "
        "cost_category_id) VALUES ('ml%', false, $1)",
        [platform],
    )
    # a cost-model row of koku's PostgreSQL GPU summary: never touched
    ex(
        pg_conn,
        f"INSERT INTO {s}.reporting_ocp_gpu_summary_p (id, cluster_id, usage_start, usage_end, namespace, "
        "cost_model_gpu_cost, cost_model_rate_type, source_uuid) VALUES (gen_random_uuid(), 'c-1', "
        "'2027-01-02', '2027-01-02', 'ml', 12.5, 'Supplementary', CAST($1 AS uuid))",
        [SOURCE],
    )
    counts = write_gpu(pg_url, pg_schema, gpus)
    assert (counts.deleted, counts.inserted, counts.skipped) == (0, 2, None)
    rows = snapshot(pg_conn, pg_schema)["gpu"]
    assert rows == [
        (JAN2, "ml", "g1", "A100", "42.949672960000000", "MIG", 3, platform, None),
        (JAN2, "ml", None, None, None, None, None, None, "Supplementary"),
        # 15360 × 0.001048576 in doubles is 16.106127360000002 (shortest text), as Trino casts it
        (JAN3, "serving", "g2", "Tesla T4", "16.106127360000002", "dedicated", None, None, None),
    ]
    # the partition was made as koku's _handle_partitions would
    assert q(
        pg_conn, "SELECT to_regclass($1) IS NOT NULL", [f"{pg_schema}.reporting_ocp_gpu_summary_p_2027_01"]
    ) == [(True,)]
    # a rerun replaces its own rows only
    again = write_gpu(pg_url, pg_schema, gpus)
    assert (again.deleted, again.inserted) == (2, 2)
    assert snapshot(pg_conn, pg_schema)["gpu"] == rows
    # koku's conditions
    assert (
        write_gpu(pg_url, pg_schema, gpus, gpu_tag_rate=True).skipped
        == "the cost model sets a tag-based GPU rate"
    )
    assert write_gpu(pg_url, pg_schema, gpus, cluster_id=None).skipped == "the source has no cluster id"
    assert write_gpu(pg_url, pg_schema, gpus.parent / "nothing").skipped == "the source has no GPU data"
    assert snapshot(pg_conn, pg_schema)["gpu"] == rows


def test_gpu_refusals(pg_url: str, pg_conn: Any, pg_schema: str, gpus: Path) -> None:  # noqa: F811
    with pytest.raises(ConfigError, match="provider .* is not in"):
        write_gpu(pg_url, pg_schema, gpus)
    add_provider(pg_conn, pg_schema)
    write_gpu(pg_url, pg_schema, gpus)
    before = snapshot(pg_conn, pg_schema)
    write_rows(
        gpus,
        ACCOUNT,
        SOURCE,
        "gpu_usage",
        [{"interval_start": day(2027, 1, 2)}],
        year=2027,
        month=1,
        file_name="bad.parquet",
        drop_columns=["gpu_uuid"],
    )
    with pytest.raises(InputError, match="bad.parquet: column gpu_uuid is missing"):
        write_gpu(pg_url, pg_schema, gpus)
    assert snapshot(pg_conn, pg_schema) == before
    # GPU data in another month only, and rows to replace in this one: refused unless allowed
    (gpus / "bad.parquet").unlink(missing_ok=True)
    for f in (gpus / "data").rglob("*.parquet"):
        f.unlink()
    write_rows(gpus, ACCOUNT, SOURCE, "gpu_usage", [{"interval_start": day(2027, 2, 2)}], year=2027, month=2)
    with pytest.raises(InputError, match="no daily gpu_usage files for 2027-01"):
        write_gpu(pg_url, pg_schema, gpus)
    assert snapshot(pg_conn, pg_schema) == before
    assert write_gpu(pg_url, pg_schema, gpus, allow_missing=True).deleted == 2


# ---- the CLI over S3 ------------------------------------------------------------------------------


def test_cli_over_s3(pg_url: str, pg_conn: Any, pg_schema: str, cluster: Path, s3_upload, s3_env) -> None:  # noqa: F811
    add_provider(pg_conn, pg_schema)
    write_rows(
        cluster,
        ACCOUNT,
        SOURCE,
        "gpu_usage",
        [
            {
                "interval_start": day(2027, 1, 2),
                "namespace": "ml",
                "gpu_uuid": "G",
                "gpu_memory_capacity_mib": 1000.0,
            }
        ],
        year=2027,
        month=1,
    )
    bucket = s3_upload(cluster, accounts={ACCOUNT: pg_schema})  # the account folder is the schema's
    env = dict(s3_env)  # the installed package, as every other CLI test runs it
    base = [
        "--input",
        bucket,
        "--schema",
        pg_schema,
        "--source",
        SOURCE,
        "--start",
        "2027-01-02",
        "--end",
        "2027-01-03",
        "--cluster-id",
        "c-1",
        "--db",
        pg_url,
    ]
    out = subprocess.run(
        [sys.executable, "-m", "ocpagg", "cluster-info", *base, "-v"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "nodes +6 ~0; pvcs +2 ~0; projects +3" in out.stdout
    out = subprocess.run(
        [sys.executable, "-m", "ocpagg", "gpu-summary", *base],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1 GPU rows written (0 replaced)"
    gpu = snapshot(pg_conn, pg_schema)["gpu"]
    assert gpu == [(JAN2, "ml", "", "", "1.048576000000000", "dedicated", None, None, None)]
    out = subprocess.run(
        [sys.executable, "-m", "ocpagg", "gpu-summary", *base[:-2]],
        env={k: v for k, v in env.items() if k != "OCPAGG_DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1 and "no database" in out.stderr
