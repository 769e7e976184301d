"""The embedded default: ``init-db`` then ``summarize`` into a SQLite file gives PostgreSQL's rows."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import koku_ddl
import pyarrow as pa
from compare import assert_tables_match
from conftest import SMALL_KEYS, write_small_cluster
from nisedata import make_nise_root
from ocpagg.schema import SUMMARY_SCHEMA
from test_e2e_postgres import CLUSTER, PERIOD, register_args, run_cli, summarize_args

KEYS = ["app", "environment", "storage_tier", "vm_kubevirt_io_name"]


def read_sqlite(path: Path, where: str = "1 = 1") -> pa.Table:
    """The SQLite summary rows in ocpagg.schema.SUMMARY_SCHEMA types."""
    with sqlite3.connect(path) as conn:
        cur = conn.execute(
            f"SELECT {', '.join(SUMMARY_SCHEMA.names)} "
            f"FROM reporting_ocpusagelineitem_daily_summary WHERE {where}"
        )
        rows = cur.fetchall()
    columns: dict[str, list[Any]] = {name: [] for name in SUMMARY_SCHEMA.names}
    for row in rows:
        for name, value in zip(SUMMARY_SCHEMA.names, row, strict=True):
            if name in ("usage_start", "usage_end") and value is not None:
                value = dt.date.fromisoformat(value)
            columns[name].append(value)
    return pa.table(columns, schema=SUMMARY_SCHEMA)


def enable_sqlite_keys(path: Path, keys: list[str]) -> None:
    with sqlite3.connect(path) as conn:
        for key in keys:
            conn.execute(
                "INSERT INTO reporting_enabledtagkeys (uuid, key, enabled, provider_type) "
                "VALUES (?, ?, 1, 'OCP')",
                (str(uuid.uuid4()), key),
            )


def test_sqlite_gives_the_postgres_rows(tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str) -> None:
    nise = make_nise_root(tmp_path, "month_end.yaml", schema=pg_schema)
    kw = {"source_uuid": nise.source_uuid, "start_date": nise.start_date, "end_date": nise.end_date}
    env = {**__import__("os").environ}
    env.pop("OCPAGG_DATABASE_URL", None)

    db = tmp_path / "ocpagg.sqlite"
    proc = run_cli(["init-db", "--db", f"sqlite:///{db}", *register_args(kw)], env)
    assert proc.returncode == 0, proc.stderr
    enable_sqlite_keys(db, KEYS)
    proc = run_cli(summarize_args(str(nise.root), pg_schema, kw, f"sqlite:///{db}"), env)
    assert proc.returncode == 0, proc.stderr

    koku_ddl.enable_keys(pg_conn, pg_schema, KEYS)
    koku_ddl.add_report_period(
        pg_conn, pg_schema, period_id=PERIOD, cluster_id=CLUSTER, source_uuid=nise.source_uuid,
        year=nise.start_date.year, month=nise.start_date.month,
    )  # fmt: skip
    proc = run_cli(summarize_args(str(nise.root), pg_schema, kw, pg_url), env)
    assert proc.returncode == 0, proc.stderr

    in_sqlite = read_sqlite(db)
    in_postgres = koku_ddl.read_summary(pg_conn, pg_schema)
    assert in_sqlite.num_rows == in_postgres.num_rows > 0
    # numeric(33,15) rounding aside
    assert_tables_match(in_sqlite, in_postgres, rel=1e-12)
    # both derived the node roles from the files: the unallocated rows carry koku's namespaces
    namespaces = set(in_sqlite.column("namespace").to_pylist())
    assert {"Platform unallocated", "Worker unallocated"} <= namespaces


def test_sqlite_rerun_replaces_and_keeps_infrastructure_rows(tmp_path: Path) -> None:
    kw = write_small_cluster(tmp_path / "root")
    env = {**__import__("os").environ, "OCPAGG_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}"}
    db = tmp_path / "x.sqlite"
    assert run_cli(["init-db", *register_args(kw)], env).returncode == 0
    assert run_cli(["init-db", *register_args(kw)], env).returncode == 0  # idempotent
    enable_sqlite_keys(db, list(SMALL_KEYS))
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO reporting_ocpusagelineitem_daily_summary (uuid, usage_start, usage_end, "
            "report_period_id, namespace, infrastructure_raw_cost) "
            "VALUES ('keep-me', '2027-01-02', '2027-01-02', 1, 'x', 3.5)"
        )
    args = summarize_args(str(tmp_path / "root"), "org1234567", kw, env["OCPAGG_DATABASE_URL"])
    args.remove("--db")
    args.remove(env["OCPAGG_DATABASE_URL"])  # from $OCPAGG_DATABASE_URL
    first = run_cli(args, env)
    assert first.returncode == 0, first.stderr
    rows_first = read_sqlite(db, "uuid != 'keep-me'")
    second = run_cli(args, env)
    assert second.returncode == 0, second.stderr
    rows_second = read_sqlite(db, "uuid != 'keep-me'")
    assert rows_second.num_rows == rows_first.num_rows > 0
    assert_tables_match(rows_second, rows_first)
    assert not set(rows_first.column("uuid").to_pylist()) & set(rows_second.column("uuid").to_pylist())
    with sqlite3.connect(db) as conn:
        kept = conn.execute(
            "SELECT count(*) FROM reporting_ocpusagelineitem_daily_summary WHERE uuid = 'keep-me'"
        )
        assert kept.fetchone() == (1,)
        categories = conn.execute("SELECT namespace FROM reporting_ocp_cost_category_namespace ORDER BY 1")
        assert [r[0] for r in categories] == ["Platform unallocated", "kube-%", "openshift", "openshift-%"]
        periods = conn.execute("SELECT id, cluster_id FROM reporting_ocpusagereportperiod").fetchall()
        assert periods == [(1, "e2e-cluster")]


def test_sqlite_failure_half_way_leaves_the_file_as_before(tmp_path: Path) -> None:
    kw = write_small_cluster(tmp_path / "root")
    db = tmp_path / "f.sqlite"
    env = {k: v for k, v in __import__("os").environ.items() if k != "OCPAGG_DATABASE_URL"}
    assert run_cli(["init-db", "--db", f"sqlite:///{db}", *register_args(kw)], env).returncode == 0
    args = summarize_args(str(tmp_path / "root"), "org1234567", kw, f"sqlite:///{db}")
    assert run_cli(args, env).returncode == 0
    with sqlite3.connect(db) as conn:
        before = sorted(conn.execute("SELECT * FROM reporting_ocpusagelineitem_daily_summary").fetchall())
        # day 3 is refused after days 1 and 2 went in
        conn.execute(
            "CREATE TRIGGER refuse_day_3 BEFORE INSERT ON reporting_ocpusagelineitem_daily_summary "
            "WHEN NEW.usage_start = '2027-01-03' BEGIN SELECT RAISE(ABORT, 'day 3 refused'); END"
        )
    proc = run_cli(args, env)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].endswith("day 3 refused"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    with sqlite3.connect(db) as conn:
        after = sorted(conn.execute("SELECT * FROM reporting_ocpusagelineitem_daily_summary").fetchall())
    assert len(before) > 10 and after == before
