"""The Hive twin (``--hive-output``): koku's Trino table layout, the database's rows, days replaced."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import ocpagg
import pyarrow as pa
import pyarrow.parquet as pq
from compare import assert_tables_match
from conftest import SMALL_KEYS, SMALL_ROLES, write_small_cluster
from ocpagg.sinks.hive import HIVE_SCHEMA
from test_e2e_postgres import ALIAS, CLUSTER, PERIOD, register_args, run_cli, summarize_args
from test_sqlite import enable_sqlite_keys

SCHEMA = "org1234567"
TABLE = "reporting_ocpusagelineitem_daily_summary"


def read_hive(fs: Any, folder: str) -> tuple[pa.Table, dict[str, list[str]]]:
    """All rows under the table folder, and the files of each partition folder (relative)."""
    files = sorted(p for p in fs.find(folder) if p.endswith(".parquet"))
    tables, by_dir = [], {}
    for path in files:
        with fs.open(path, "rb") as handle:
            tables.append(pq.read_table(handle))
        rel = path[len(folder) + 1 :]
        by_dir.setdefault(rel.rsplit("/", 1)[0], []).append(rel.rsplit("/", 1)[1])
    return pa.concat_tables(tables), by_dir


def expected_rows(root: Path, kw: dict[str, Any]) -> pa.Table:
    return ocpagg.summarize_table(
        str(root),
        **kw,
        report_period_id=PERIOD,
        cluster_id=CLUSTER,
        cluster_alias=ALIAS,
        enabled_keys=SMALL_KEYS,
        cost_categories=[("openshift-%", 1), ("kube-%", 1), ("Platform unallocated", 1), ("openshift", 1)],
        node_roles=SMALL_ROLES,
    )


def test_hive_twin_next_to_sqlite(tmp_path: Path) -> None:
    kw = write_small_cluster(tmp_path / "in")
    db = tmp_path / "db.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "OCPAGG_DATABASE_URL"}
    assert run_cli(["init-db", "--db", f"sqlite:///{db}", *register_args(kw)], env).returncode == 0
    enable_sqlite_keys(db, list(SMALL_KEYS))
    hive_root = tmp_path / "hive"
    args = summarize_args(str(tmp_path / "in"), SCHEMA, kw, f"sqlite:///{db}", hive_output=str(hive_root))
    folder = f"{hive_root}/data/{SCHEMA}.db/{TABLE}"
    import fsspec

    fs = fsspec.filesystem("file")
    for _ in range(2):  # the rerun replaces each day's files
        proc = run_cli(args, env)
        assert proc.returncode == 0, proc.stderr
        table, by_dir = read_hive(fs, folder)
        source = kw["source_uuid"]
        assert sorted(by_dir) == [f"source={source}/year=2027/month=1/day={d}" for d in (1, 2, 3)]
        assert all(len(names) == 1 for names in by_dir.values())
        assert table.schema.equals(HIVE_SCHEMA)
        assert pa.types.is_int32(table.schema.field("cost_category_id").type)
        assert "all_labels" not in table.column_names
        expected = expected_rows(tmp_path / "in", kw)
        assert_tables_match(table.drop_columns(["csi_volume_handle"]), expected.drop_columns(["all_labels"]))
        storage = table.filter(pa.compute.equal(table.column("data_source"), "Storage"))
        assert storage.num_rows > 0 and set(storage.column("csi_volume_handle").to_pylist()) == {"vol-0abc"}
        with sqlite3.connect(db) as conn:
            in_db = {r[0] for r in conn.execute(f"SELECT uuid FROM {TABLE}")}
        assert set(table.column("uuid").to_pylist()) == in_db  # the same rows as the database


def test_hive_only_on_s3(
    tmp_path: Path, s3_upload: Any, s3_env: dict[str, str], s3_env_in_process: Any
) -> None:
    kw = write_small_cluster(tmp_path / "in", days=2)
    bucket = s3_upload(tmp_path / "in")
    env = {k: v for k, v in s3_env.items() if k != "OCPAGG_DATABASE_URL"}
    args = summarize_args(bucket, SCHEMA, kw, "x", hive_output=bucket)
    args = [a for a in args if a not in ("--db", "x")]
    proc = run_cli(args, env)
    assert proc.returncode == 0, proc.stderr
    from ocpagg.storage import filesystem_for

    fs, base = filesystem_for(bucket)
    table, by_dir = read_hive(fs, f"{base}/data/{SCHEMA}.db/{TABLE}")
    assert sorted(by_dir) == [f"source={kw['source_uuid']}/year=2027/month=1/day={d}" for d in (1, 2)]
    # no database: node roles come from the files; no cost categories
    expected = ocpagg.summarize_table(
        str(tmp_path / "in"),
        **kw,
        report_period_id=PERIOD,
        cluster_id=CLUSTER,
        cluster_alias=ALIAS,
        node_roles=SMALL_ROLES,
    )
    assert_tables_match(table.drop_columns(["csi_volume_handle"]), expected.drop_columns(["all_labels"]))


def test_failed_run_leaves_hive_days_as_before(tmp_path: Path) -> None:
    kw = write_small_cluster(tmp_path / "in", days=2)
    hive_root = tmp_path / "hive"
    env = {k: v for k, v in os.environ.items() if k != "OCPAGG_DATABASE_URL"}
    args = summarize_args(str(tmp_path / "in"), SCHEMA, kw, "x", hive_output=str(hive_root))
    args = [a for a in args if a not in ("--db", "x")]
    assert run_cli(args, env).returncode == 0
    folder = hive_root / "data" / f"{SCHEMA}.db" / TABLE
    before = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet"))
    bad = next((tmp_path / "in").rglob("pod_usage_2027-01-02.parquet"))
    bad.write_bytes(b"not parquet")
    proc = run_cli(args, env)
    assert proc.returncode == 1 and "pod_usage_2027-01-02.parquet" in proc.stderr
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet")) == before
