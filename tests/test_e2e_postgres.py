"""End to end: koku-layout Parquet on S3 (moto) → ``python -m ocpagg summarize`` → koku's PostgreSQL table.

The table is created from koku's models (tests/koku_ddl.py); the rows must equal
``ocpagg.summarize_table`` on the same files (numeric(33,15) rounding aside).
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import koku_ddl
import ocpagg
import pyarrow as pa
from compare import assert_tables_match
from conftest import SMALL_ACCOUNT, SMALL_KEYS, SMALL_ROLES, SMALL_SOURCE, write_small_cluster
from kokudata import hour
from nisedata import make_nise_root

CLUSTER = "e2e-cluster"
ALIAS = "E2E cluster"
PERIOD = 1


def run_cli(args: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ocpagg", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def summarize_args(root: str, schema: str, kw: dict[str, Any], db: str, **extra: str) -> list[str]:
    args = [
        "summarize",
        "--input", root,
        "--schema", schema,
        "--source", kw["source_uuid"],
        "--start", kw["start_date"].isoformat(),
        "--end", kw["end_date"].isoformat(),
        "--report-period-id", str(extra.pop("period", PERIOD)),
        "--cluster-id", extra.pop("cluster_id", CLUSTER),
        "--cluster-alias", extra.pop("alias", ALIAS),
        "--db", db,
    ]  # fmt: skip
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    return args


def register_args(kw: dict[str, Any], period: int = PERIOD, cluster_id: str = CLUSTER) -> list[str]:
    """init-db options registering the source's report period (summarize never creates one)."""
    return [
        "--register-source", kw["source_uuid"], "--cluster-id", cluster_id, "--cluster-alias", ALIAS,
        "--report-period-id", str(period), "--month", f"{kw['start_date']:%Y-%m}",
    ]  # fmt: skip


def categories(conn: Any, schema: str) -> list[tuple[str, int]]:
    with conn.cursor() as cur:
        cur.execute(
            f'SELECT namespace, cost_category_id FROM "{schema}".reporting_ocp_cost_category_namespace'
        )
        rows = cur.fetchall()
    conn.commit()
    return [(p, int(i)) for p, i in rows]


def all_rows(conn: Any, schema: str) -> list[tuple[Any, ...]]:
    """Every row of the summary, every column as text, sorted: the table's exact state."""
    with conn.cursor() as cur:
        cur.execute(
            f'SELECT CAST(t AS text) FROM "{schema}".reporting_ocpusagelineitem_daily_summary AS t ORDER BY 1'
        )
        rows = cur.fetchall()
    conn.commit()
    return rows


def prepare_small(conn: Any, schema: str) -> None:
    koku_ddl.add_report_period(
        conn, schema, period_id=PERIOD, cluster_id=CLUSTER, source_uuid=SMALL_SOURCE, year=2027, month=1
    )
    koku_ddl.enable_keys(conn, schema, list(SMALL_KEYS))
    koku_ddl.enable_keys(conn, schema, ["tier"], provider_type="AWS")  # not an OCP key: ignored


def expected_small(root: Path, kw: dict[str, Any], conn: Any, schema: str) -> pa.Table:
    return ocpagg.summarize_table(
        str(root),
        **kw,
        report_period_id=PERIOD,
        cluster_id=CLUSTER,
        cluster_alias=ALIAS,
        enabled_keys=SMALL_KEYS,
        cost_categories=categories(conn, schema),
        node_roles=SMALL_ROLES,
    )


def test_nise_month_end_through_s3(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, s3_upload: Any, s3_env: dict[str, str]
) -> None:
    nise = make_nise_root(tmp_path, "month_end.yaml")
    root = s3_upload(nise.root, accounts={nise.account: pg_schema})
    koku_ddl.add_report_period(
        pg_conn,
        pg_schema,
        period_id=PERIOD,
        cluster_id=CLUSTER,
        source_uuid=nise.source_uuid,
        year=2027,
        month=1,
    )
    keys = ["app", "environment", "storage_tier", "vm_kubevirt_io_name"]
    koku_ddl.enable_keys(pg_conn, pg_schema, keys)
    koku_ddl.add_nodes(pg_conn, pg_schema, nise.source_uuid, CLUSTER, list(nise.node_roles))
    kw = {"source_uuid": nise.source_uuid, "start_date": nise.start_date, "end_date": nise.end_date}

    proc = run_cli(summarize_args(root, pg_schema, kw, pg_url), s3_env)
    assert proc.returncode == 0, proc.stderr

    expected = ocpagg.summarize_table(
        str(nise.root),
        account=nise.account,
        **kw,
        report_period_id=PERIOD,
        cluster_id=CLUSTER,
        cluster_alias=ALIAS,
        enabled_keys=keys,
        cost_categories=categories(pg_conn, pg_schema),
        node_roles=nise.node_roles,
    )
    actual = koku_ddl.read_summary(pg_conn, pg_schema)
    assert actual.num_rows == expected.num_rows > 0
    assert_tables_match(actual, expected)
    assert set(actual.column("data_source").to_pylist()) == {"Pod", "Storage"}
    ids = actual.column("uuid").to_pylist()
    assert None not in ids and len(set(ids)) == len(ids)
    assert f"{actual.num_rows} rows written" in proc.stdout
    # The range crosses a month end: koku's monthly partitions hold the rows.
    with pg_conn.cursor() as cur:
        cur.execute(
            f"SELECT CAST(tableoid::regclass AS text), min(usage_start), max(usage_start), count(*) "
            f'FROM "{pg_schema}".reporting_ocpusagelineitem_daily_summary GROUP BY 1 ORDER BY 2'
        )
        parts = cur.fetchall()
    pg_conn.commit()
    assert [p[0].rsplit(".", 1)[-1] for p in parts] == [
        "reporting_ocpusagelineitem_daily_summary_2027_01",
        "reporting_ocpusagelineitem_daily_summary_2027_02",
    ]
    assert (parts[0][1].month, parts[1][1].month) == (1, 2)


def _insert_row(conn: Any, schema: str, day: str, period: int, infra: str | None) -> str:
    row_id = str(uuid.uuid4())
    with conn.cursor() as cur:
        cur.execute(
            f'INSERT INTO "{schema}".reporting_ocpusagelineitem_daily_summary '
            "(uuid, usage_start, usage_end, report_period_id, namespace, data_source, "
            "infrastructure_raw_cost) "
            "VALUES (CAST($1 AS uuid), CAST($2 AS date), CAST($2 AS date), $3, 'kept', 'Pod', "
            "CAST($4 AS numeric))",
            parameters=[row_id, day, period, infra],
        )
    conn.commit()
    return row_id


def _ids(conn: Any, schema: str, where: str) -> set[str]:
    with conn.cursor() as cur:
        cur.execute(
            f'SELECT CAST(uuid AS text) FROM "{schema}".reporting_ocpusagelineitem_daily_summary '
            f"WHERE {where}"
        )
        rows = cur.fetchall()
    conn.commit()
    return {r[0] for r in rows}


def test_rerun_replaces_own_rows_and_keeps_the_others(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, s3_upload: Any, s3_env: dict[str, str]
) -> None:
    kw = write_small_cluster(tmp_path)
    prepare_small(pg_conn, pg_schema)
    koku_ddl.add_report_period(
        pg_conn, pg_schema, period_id=2, cluster_id="other", source_uuid=SMALL_SOURCE, year=2027, month=1
    )
    other_period = _insert_row(pg_conn, pg_schema, "2027-01-02", 2, None)
    with_cost = _insert_row(pg_conn, pg_schema, "2027-01-02", PERIOD, "12.5")
    out_of_range = _insert_row(pg_conn, pg_schema, "2027-01-20", PERIOD, None)
    zero_cost = _insert_row(pg_conn, pg_schema, "2027-01-03", PERIOD, "0")
    null_cost = _insert_row(pg_conn, pg_schema, "2027-01-01", PERIOD, None)
    root = s3_upload(tmp_path, accounts={SMALL_ACCOUNT: pg_schema})
    expected = expected_small(tmp_path, {**kw, "account": SMALL_ACCOUNT}, pg_conn, pg_schema)
    run_where = (
        f"report_period_id = {PERIOD} AND usage_start BETWEEN '2027-01-01' AND '2027-01-03' "
        "AND namespace IS DISTINCT FROM 'kept'"
    )

    first_ids: set[str] = set()
    for attempt in range(2):
        proc = run_cli(summarize_args(root, pg_schema, kw, pg_url), s3_env)
        assert proc.returncode == 0, proc.stderr
        actual = koku_ddl.read_summary(pg_conn, pg_schema, run_where)
        assert_tables_match(actual, expected)
        ids = _ids(pg_conn, pg_schema, "TRUE")
        assert {other_period, with_cost, out_of_range} <= ids
        assert zero_cost not in ids and null_cost not in ids
        assert len(ids) == expected.num_rows + 3
        run_ids = _ids(pg_conn, pg_schema, run_where)
        if attempt == 0:
            first_ids = run_ids
        else:
            assert not run_ids & first_ids  # the rerun replaced the rows rather than adding to them


def test_failing_day_leaves_table_as_before(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, s3_upload: Any, s3_env: dict[str, str]
) -> None:
    kw = write_small_cluster(tmp_path / "good")
    prepare_small(pg_conn, pg_schema)
    accounts = {SMALL_ACCOUNT: pg_schema}
    proc = run_cli(summarize_args(s3_upload(tmp_path / "good", accounts), pg_schema, kw, pg_url), s3_env)
    assert proc.returncode == 0, proc.stderr
    before = all_rows(pg_conn, pg_schema)
    assert len(before) > 10

    # Day 3 now holds a node name longer than koku's varchar(253): the run names the day and the column.
    bad_node = "n" * 300
    bad = {
        "interval_start": hour(2027, 1, 3, 7),
        "pod": "bad",
        "namespace": "app-z",
        "node": bad_node,
        "resource_id": "i-bad",
        "pod_usage_cpu_core_seconds": 10.0,
        "node_capacity_cpu_core_seconds": 3600.0,
    }
    write_small_cluster(tmp_path / "bad", extra_pod_rows=(bad,))
    proc = run_cli(summarize_args(s3_upload(tmp_path / "bad", accounts), pg_schema, kw, pg_url), s3_env)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "ocpagg: error: 2027-01-03: column node holds a value of 300 characters (koku's column allows 253)"
    ], proc.stderr
    assert all_rows(pg_conn, pg_schema) == before


def test_connection_killed_mid_run_leaves_table_as_before(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, s3_upload: Any, s3_env: dict[str, str]
) -> None:
    kw = write_small_cluster(tmp_path)
    prepare_small(pg_conn, pg_schema)
    root = s3_upload(tmp_path, accounts={SMALL_ACCOUNT: pg_schema})
    proc = run_cli(summarize_args(root, pg_schema, kw, pg_url), s3_env)
    assert proc.returncode == 0, proc.stderr
    before = all_rows(pg_conn, pg_schema)

    # Rows of day 3 wait in a trigger; by then days 1 and 2 are inserted in the run's transaction.
    with pg_conn.cursor() as cur:
        cur.execute(
            f'CREATE FUNCTION "{pg_schema}".slow_day() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
            "IF NEW.usage_start = DATE '2027-01-03' THEN PERFORM pg_sleep(120); END IF; RETURN NEW; END $$"
        )
        cur.execute(
            f"CREATE TRIGGER slow_day BEFORE INSERT ON "
            f'"{pg_schema}".reporting_ocpusagelineitem_daily_summary '
            f'FOR EACH ROW EXECUTE FUNCTION "{pg_schema}".slow_day()'
        )
    pg_conn.commit()
    child = subprocess.Popen(
        [sys.executable, "-m", "ocpagg", *summarize_args(root, pg_schema, kw, pg_url)],
        env=s3_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pid = None
        deadline = time.monotonic() + 120
        while pid is None and time.monotonic() < deadline and child.poll() is None:
            with pg_conn.cursor() as cur:
                cur.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE wait_event = 'PgSleep' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0",
                    parameters=[f'"{pg_schema}"'],
                )
                found = cur.fetchall()
            pg_conn.commit()
            pid = found[0][0] if found else None
            time.sleep(0.05)
        assert pid is not None, "the run never reached day 3"
        with pg_conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = CAST($1 AS integer) AND state = 'active'",
                parameters=[pid],
            )
            assert cur.fetchall()[0][0] == 1
            cur.execute("SELECT pg_terminate_backend(CAST($1 AS integer))", parameters=[pid])
            assert cur.fetchall()[0][0] is True
        pg_conn.commit()
        _, stderr = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        pg_conn.rollback()
        with pg_conn.cursor() as cur:  # never leave a sleeping backend behind
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE wait_event = 'PgSleep' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0",
                parameters=[f'"{pg_schema}"'],
            )
        pg_conn.commit()
    assert child.returncode != 0
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("ocpagg: error:")
    with pg_conn.cursor() as cur:
        cur.execute(f'DROP TRIGGER slow_day ON "{pg_schema}".reporting_ocpusagelineitem_daily_summary')
    pg_conn.commit()
    assert all_rows(pg_conn, pg_schema) == before


def test_corrupt_parquet_file_is_named_and_nothing_is_written(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, s3_upload: Any, s3_env: dict[str, str]
) -> None:
    kw = write_small_cluster(tmp_path)
    prepare_small(pg_conn, pg_schema)
    folder = (
        tmp_path
        / "data/parquet"
        / SMALL_ACCOUNT
        / "OCP/pod_usage"
        / f"source={SMALL_SOURCE}/year=2027/month=01"
    )
    (folder / "pod_usage_corrupt.parquet").write_bytes(b"PAR1 this is not a parquet file PAR1")
    proc = run_cli(
        summarize_args(s3_upload(tmp_path, accounts={SMALL_ACCOUNT: pg_schema}), pg_schema, kw, pg_url),
        s3_env,
    )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pod_usage_corrupt.parquet" in lines[0], proc.stderr
    assert all_rows(pg_conn, pg_schema) == []


def test_wrong_column_type_is_named(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, s3_upload: Any, s3_env: dict[str, str]
) -> None:
    kw = write_small_cluster(tmp_path)
    prepare_small(pg_conn, pg_schema)
    folder = (
        tmp_path
        / "data/parquet"
        / SMALL_ACCOUNT
        / "OCP/node_labels"
        / f"source={SMALL_SOURCE}/year=2027/month=01"
    )
    table = pa.table({"interval_start": pa.array([hour(2027, 1, 1, 0)], pa.timestamp("ms")), "node": [1]})
    import pyarrow.parquet as pq

    pq.write_table(table, folder / "node_labels_int_node.parquet")
    proc = run_cli(
        summarize_args(s3_upload(tmp_path, accounts={SMALL_ACCOUNT: pg_schema}), pg_schema, kw, pg_url),
        s3_env,
    )
    assert proc.returncode != 0
    assert "node_labels_int_node.parquet" in proc.stderr and "node" in proc.stderr
    assert all_rows(pg_conn, pg_schema) == []


def test_quotes_in_schema_and_alias_cannot_inject(tmp_path: Path, pg_url: str, pg_conn: Any) -> None:
    schema = "org\"; DROP TABLE public.ocpagg_canary; --'x"
    alias = "a'); DROP TABLE public.ocpagg_canary; --\""
    with pg_conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS public.ocpagg_canary (x int)")
    pg_conn.commit()
    koku_ddl.create_schema(pg_conn, schema)
    try:
        quoted = '"' + schema.replace('"', '""') + '"'
        koku_ddl.add_report_period(
            pg_conn,
            schema,
            period_id=PERIOD,
            cluster_id=CLUSTER,
            source_uuid=SMALL_SOURCE,
            year=2027,
            month=1,
        )
        kw = write_small_cluster(tmp_path, days=1, account=schema)
        env = {k: v for k, v in __import__("os").environ.items()}
        proc = run_cli(summarize_args(str(tmp_path), schema, kw, pg_url, alias=alias), env)
        assert proc.returncode == 0, proc.stderr
        with pg_conn.cursor() as cur:
            cur.execute("SELECT to_regclass('public.ocpagg_canary') IS NOT NULL")
            assert cur.fetchall()[0][0] is True
            cur.execute(
                "SELECT DISTINCT cluster_alias, cluster_id "
                f"FROM {quoted}.reporting_ocpusagelineitem_daily_summary"
            )
            assert cur.fetchall() == [(alias, CLUSTER)]
        pg_conn.commit()
    finally:
        pg_conn.rollback()
        with pg_conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema.replace(chr(34), chr(34) * 2)}" CASCADE')
            cur.execute("DROP TABLE IF EXISTS public.ocpagg_canary")
        pg_conn.commit()


def test_month_rows_in_default_partition_move_to_the_new_partition(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    kw = write_small_cluster(tmp_path, days=1, account=pg_schema)
    prepare_small(pg_conn, pg_schema)
    cloud_row = _insert_row(
        pg_conn, pg_schema, "2027-01-05", PERIOD, "7.25"
    )  # lands in the default partition
    proc = run_cli(summarize_args(str(tmp_path), pg_schema, kw, pg_url), dict(__import__("os").environ))
    assert proc.returncode == 0, proc.stderr
    with pg_conn.cursor() as cur:
        cur.execute(
            "SELECT CAST(tableoid::regclass AS text), CAST(infrastructure_raw_cost AS text) "
            f'FROM "{pg_schema}".reporting_ocpusagelineitem_daily_summary WHERE uuid = CAST($1 AS uuid)',
            parameters=[cloud_row],
        )
        assert cur.fetchall() == [
            (f"{pg_schema}.reporting_ocpusagelineitem_daily_summary_2027_01", "7.250000000000000")
        ]
        cur.execute(f'SELECT count(*) FROM "{pg_schema}".reporting_ocpusagelineitem_daily_summary_default')
        assert cur.fetchall() == [(0,)]
        cur.execute(
            f'SELECT table_name, partition_parameters FROM "{pg_schema}".partitioned_tables ORDER BY id'
        )
        tracked = cur.fetchall()
    pg_conn.commit()
    assert [t[0] for t in tracked] == [
        "reporting_ocpusagelineitem_daily_summary_default",
        "reporting_ocpusagelineitem_daily_summary_2027_01",
    ]
    assert '"from": "2027-01-01"' in tracked[1][1] and '"to": "2027-02-01"' in tracked[1][1]


def test_autocommit_connection_is_refused(pg_url: str, pg_schema: str) -> None:
    import adbc_driver_postgresql.dbapi as pg
    import pytest
    from ocpagg.errors import ConfigError
    from ocpagg.sinks import open_sink

    conn = pg.connect(pg_url, autocommit=True)
    try:
        with pytest.raises(ConfigError, match="autocommit"):
            open_sink(conn, pg_schema)
    finally:
        conn.close()
