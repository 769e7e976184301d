"""``ocpagg check`` against the test PostgreSQL and S3: ready, each kind of problem, usage, no writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from conftest import S3_KEY, S3_SECRET, SMALL_ACCOUNT, SMALL_SOURCE, write_small_cluster
from ocpagg.cli import _date
from test_e2e_postgres import all_rows, prepare_small, run_cli


def check_args(root: str, schema: str, db: str, source: str = SMALL_SOURCE, **dates: str) -> list[str]:
    return [
        "check", "--input", root, "--schema", schema, "--source", source, "--db", db,
        "--start", dates.get("start", "2027-01-01"), "--end", dates.get("end", "2027-01-03"),
    ]  # fmt: skip


def _partitions(conn: Any, schema: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1",
            parameters=[schema],
        )
        rows = cur.fetchall()
    conn.commit()
    return [r[0] for r in rows]


def test_ready_range_reports_everything_and_writes_nothing(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, s3_upload: Any, s3_env: dict[str, str]
) -> None:
    write_small_cluster(tmp_path, days=3)
    prepare_small(pg_conn, pg_schema)
    root = s3_upload(tmp_path, accounts={SMALL_ACCOUNT: pg_schema})
    before = (all_rows(pg_conn, pg_schema), _partitions(pg_conn, pg_schema))
    proc = run_cli(check_args(root, pg_schema, pg_url, end="2027-01-05"), s3_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "database: postgresql://postgres@" in out and "(reachable)" in out
    assert "tables: 6 of 6 present with koku's column types" in out
    assert f"report periods of source {SMALL_SOURCE}: 1 (2027-01, cluster e2e-cluster)" in out
    assert (
        "2027-01: pod_usage 3 files 432 rows, storage_usage 3 files 72 rows, "
        "node_labels 3 files 288 rows, namespace_labels 3 files 288 rows"
    ) in out
    assert "note: 2 days without pod_usage rows" in out and "2027-01-04, 2027-01-05" in out
    assert "endpoint http://127.0.0.1:" in out and "(from S3_ENDPOINT)" in out
    assert "key te*** (from S3_ACCESS_KEY)" in out and "secret *** (from S3_SECRET)" in out
    assert S3_KEY not in out and S3_SECRET not in out
    assert out.rstrip().endswith("ready: a summarize of this range would start")
    assert proc.stderr == ""
    assert (all_rows(pg_conn, pg_schema), _partitions(pg_conn, pg_schema)) == before


def test_problems_one_line_each(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, s3_upload: Any, s3_env: dict[str, str]
) -> None:
    write_small_cluster(tmp_path, days=2)
    # A file of the range without a required column, and a column of the wrong type in koku's table.
    bad = tmp_path / f"data/parquet/{SMALL_ACCOUNT}/OCP/node_labels/source={SMALL_SOURCE}/year=2027/month=01"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"interval_start": [dt.datetime(2027, 1, 2)]}), bad / "broken.parquet")
    prepare_small(pg_conn, pg_schema)
    with pg_conn.cursor() as cur:
        cur.execute(
            f'ALTER TABLE "{pg_schema}".reporting_ocpusagelineitem_daily_summary '
            "ALTER COLUMN namespace TYPE varchar(100)"
        )
        cur.execute(f'DROP TABLE "{pg_schema}".reporting_enabledtagkeys')
    pg_conn.commit()
    root = s3_upload(tmp_path, accounts={SMALL_ACCOUNT: pg_schema})

    # The range runs into February: no report period for it.
    proc = run_cli(check_args(root, pg_schema, pg_url, end="2027-02-01"), s3_env)
    assert proc.returncode == 1
    problems = proc.stderr.strip().splitlines()
    assert all(p.startswith("ocpagg: problem: ") for p in problems), problems
    text = "\n".join(problems)
    assert len(problems) == 4, text
    assert f"no table {pg_schema}.reporting_enabledtagkeys" in text
    assert (
        f"{pg_schema}.reporting_ocpusagelineitem_daily_summary.namespace is varchar(100), "
        "koku's type is varchar(253)"
    ) in text
    assert f"2027-02: source {SMALL_SOURCE} has no report period" in text
    assert "broken.parquet: column node is missing" in text

    # Another source: nothing under its prefix, no report period.
    other = "99999999-0000-0000-0000-000000000000"
    proc = run_cli(check_args(root, pg_schema, pg_url, source=other), s3_env)
    assert proc.returncode == 1
    assert "no pod_usage rows for 2027-01-01..2027-01-03" in proc.stderr
    assert f"2027-01: source {other} has no report period" in proc.stderr

    # An unreachable database and a bucket that does not exist.
    proc = run_cli(check_args(root + "-gone", pg_schema, "postgresql://nobody@127.0.0.1:1/x"), s3_env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("ocpagg: problem: database: cannot connect to PostgreSQL")
    assert (
        lines[1]
        == f"ocpagg: problem: {root}-gone: the input root does not exist (no such directory or bucket)"
    )


def test_usage_errors_exit_2(tmp_path: Path, s3_env: dict[str, str]) -> None:
    env = {k: v for k, v in s3_env.items() if k != "OCPAGG_DATABASE_URL"}
    proc = run_cli(["check", "--input", str(tmp_path), "--schema", "org1"], env)
    assert proc.returncode == 2 and "--source" in proc.stderr
    proc = run_cli([*check_args(str(tmp_path), "org1", "sqlite:///x.db", start="2027-13-01"), "-v"], env)
    assert proc.returncode == 2 and "not a YYYY-MM-DD date" in proc.stderr
    args = check_args(str(tmp_path), "org1", "unused")
    db = args.index("--db")
    proc = run_cli(args[:db] + args[db + 2 :], env)
    assert proc.returncode == 2 and "no database" in proc.stderr


def test_relative_dates_are_utc_days() -> None:
    today = dt.datetime.now(dt.UTC).date()
    assert _date("today") == today
    assert _date("yesterday") == today - dt.timedelta(days=1)
    assert _date("today-7") == today - dt.timedelta(days=7)
    assert _date("2027-01-31") == dt.date(2027, 1, 31)
