"""How koku hands ocpagg its database: Django settings, URLs, TLS; connection objects are refused.

The test server (``tests/pgtls.py``) has TLS on and a role, ``ocpagg_pw``, that must log in with a
password over TCP, so a password that does not survive the trip fails the run.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from pathlib import Path
from typing import Any

import fsspec
import koku_ddl
import ocpagg
import pytest
from compare import assert_tables_match
from conftest import SMALL_ROLES, SMALL_SOURCE, write_small_cluster
from ocpagg.masu import populate_line_item_daily_summary_table
from pgtls import PASSWORD_ROLE
from test_e2e_postgres import ALIAS, CLUSTER, PERIOD, expected_small, prepare_small

PASSWORD = "p@ss:w/rd%?# x'\"\\"  # every character that breaks a URL or a libpq string


@pytest.fixture
def password_role(pg_url: str, pg_conn: Any, pg_schema: str) -> dict[str, Any]:
    """The password-only role (created once per server), and the server's host, port and TLS state."""
    with pg_conn.cursor() as cur:
        cur.execute("SELECT current_setting('ssl')")
        ssl = cur.fetchone()[0] == "on"
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = $1", parameters=[PASSWORD_ROLE])
        if not cur.fetchall():
            cur.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN SUPERUSER")
        literal = "'" + PASSWORD.replace("'", "''") + "'"
        cur.execute(f"ALTER ROLE {PASSWORD_ROLE} PASSWORD {literal}")
    pg_conn.commit()
    if not ssl:
        pytest.skip("the test server has no TLS (start it with tests/pgtls.py, as .ci/run does)")
    parsed = urllib.parse.urlsplit(pg_url)
    return {"host": parsed.hostname, "port": parsed.port, "dbname": parsed.path.lstrip("/") or "postgres"}


@pytest.fixture
def small(tmp_path: Path, pg_conn: Any, pg_schema: str) -> dict[str, Any]:
    """The small cluster's files, and koku's report period, keys and nodes for it."""
    files = write_small_cluster(tmp_path, account=pg_schema)
    prepare_small(pg_conn, pg_schema)
    koku_ddl.add_nodes(pg_conn, pg_schema, SMALL_SOURCE, CLUSTER, list(SMALL_ROLES))
    return files


def _run(tmp_path: Path, pg_conn: Any, schema: str, database: Any, **kw: Any) -> ocpagg.RunResult:
    """The small cluster through the MASU call; koku's table then holds ocpagg's rows."""
    files = write_small_cluster(tmp_path, account=schema)
    result = populate_line_item_daily_summary_table(
        schema,
        files["start_date"],
        files["end_date"],
        PERIOD,
        CLUSTER,
        ALIAS,
        SMALL_SOURCE,
        database=database,
        storage=(fsspec.filesystem("file"), str(tmp_path)),
        **kw,
    )
    expected = expected_small(tmp_path, files, pg_conn, schema)
    assert_tables_match(koku_ddl.read_summary(pg_conn, schema), expected)
    return result


def test_django_settings_with_tls_and_a_hard_password(
    tmp_path: Path, pg_conn: Any, pg_schema: str, password_role: dict[str, Any], small: dict[str, Any]
) -> None:
    settings = {
        "ENGINE": "tenant_schemas.postgresql_backend",  # koku's engine wraps django's postgresql one
        "NAME": password_role["dbname"],
        "USER": PASSWORD_ROLE,
        "PASSWORD": PASSWORD,
        "HOST": password_role["host"],
        "PORT": str(password_role["port"]),
        "OPTIONS": {"sslmode": "require", "application_name": "ocpagg-tls-test", "connect_timeout": 10},
    }
    seen: list[tuple[Any, ...]] = []

    def on_day(day: dt.date) -> None:  # while the run's connection is open
        with pg_conn.cursor() as cur:
            cur.execute(
                "SELECT s.ssl, a.usename FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                "WHERE a.application_name = 'ocpagg-tls-test'"
            )
            seen.extend(cur.fetchall())
        pg_conn.commit()

    result = _run(tmp_path, pg_conn, pg_schema, settings, on_day=on_day)
    assert result.rows > 0
    assert seen and set(seen) == {(True, PASSWORD_ROLE)}

    wrong = {**settings, "PASSWORD": PASSWORD + "x"}
    with pytest.raises(ocpagg.WriteError, match="cannot connect to PostgreSQL") as failed:
        _run(tmp_path, pg_conn, pg_schema, wrong)
    assert failed.value.database_committed is False
    assert PASSWORD not in str(failed.value)


def test_url_and_libpq_string_with_a_hard_password(
    tmp_path: Path, pg_conn: Any, pg_schema: str, password_role: dict[str, Any], small: dict[str, Any]
) -> None:
    quoted = urllib.parse.quote(PASSWORD, safe="")
    url = (
        f"postgresql://{PASSWORD_ROLE}:{quoted}@{password_role['host']}:{password_role['port']}/"
        f"{password_role['dbname']}?sslmode=require"
    )
    assert _run(tmp_path, pg_conn, pg_schema, url).rows > 0
    escaped = PASSWORD.replace("\\", "\\\\").replace("'", "\\'")
    keywords = (
        f"host={password_role['host']} port={password_role['port']} dbname={password_role['dbname']} "
        f"user={PASSWORD_ROLE} password='{escaped}' sslmode=require"
    )
    assert _run(tmp_path, pg_conn, pg_schema, keywords).rows > 0


def test_psycopg2_and_psycopg_connections_are_refused(pg_url: str, pg_conn: Any, pg_schema: str) -> None:
    import psycopg
    import psycopg2

    for connection in (psycopg2.connect(pg_url), psycopg.connect(pg_url)):
        try:
            with pytest.raises(ocpagg.ConfigError, match="pass the database settings instead") as refused:
                populate_line_item_daily_summary_table(
                    pg_schema,
                    dt.date(2027, 1, 1),
                    dt.date(2027, 1, 1),
                    PERIOD,
                    CLUSTER,
                    ALIAS,
                    SMALL_SOURCE,
                    database=connection,  # type: ignore[arg-type]
                    storage=(fsspec.filesystem("file"), "/nonexistent"),
                )
            assert type(connection).__module__.split(".")[0] in str(refused.value)
        finally:
            connection.close()


def test_adbc_connection_with_pending_work_is_refused(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    """The caller's uncommitted INSERT survives the refused run and commits afterwards."""
    import adbc_driver_postgresql.dbapi as pg

    files = write_small_cluster(tmp_path, account=pg_schema)
    prepare_small(pg_conn, pg_schema)
    conn = pg.connect(pg_url)
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE TABLE "{pg_schema}".caller_work (x int)')
            cur.execute(f'INSERT INTO "{pg_schema}".caller_work VALUES (42)')
        params = ocpagg.RunParameters(
            root=str(tmp_path),
            account=pg_schema,
            source_uuid=SMALL_SOURCE,
            start_date=files["start_date"],
            end_date=files["end_date"],
            report_period_id=PERIOD,
            cluster_id=CLUSTER,
        )
        with pytest.raises(ocpagg.ConfigError, match="uncommitted work") as refused:
            ocpagg.run_summary(params, db=conn, schema=pg_schema)
        assert refused.value.database_committed is False
        conn.commit()  # the caller's transaction is still the caller's
    finally:
        conn.close()
    with pg_conn.cursor() as cur:
        cur.execute(f'SELECT x FROM "{pg_schema}".caller_work')
        assert cur.fetchall() == [(42,)]
        cur.execute(f'SELECT count(*) FROM "{pg_schema}".reporting_ocpusagelineitem_daily_summary')
        assert cur.fetchall() == [(0,)]
    pg_conn.commit()


def test_idle_adbc_connection_is_used_and_left_open(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    import adbc_driver_postgresql.dbapi as pg

    files = write_small_cluster(tmp_path, account=pg_schema)
    prepare_small(pg_conn, pg_schema)
    koku_ddl.add_nodes(pg_conn, pg_schema, SMALL_SOURCE, CLUSTER, list(SMALL_ROLES))
    conn = pg.connect(pg_url)
    try:
        params = ocpagg.RunParameters(
            root=str(tmp_path),
            account=pg_schema,
            source_uuid=SMALL_SOURCE,
            start_date=files["start_date"],
            end_date=files["end_date"],
            report_period_id=PERIOD,
            cluster_id=CLUSTER,
            cluster_alias=ALIAS,
        )
        result = ocpagg.run_summary(params, db=conn, schema=pg_schema)
        with conn.cursor() as cur:  # still open and usable by its owner
            cur.execute("SELECT 1")
            assert cur.fetchall() == [(1,)]
        conn.commit()
    finally:
        conn.close()
    assert result.rows == koku_ddl.read_summary(pg_conn, pg_schema).num_rows > 0
