"""``python -m ocpagg``: the demo, init-db's koku-compatible tables, one-line errors, exit status."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import koku_ddl
import ocpagg
from compare import assert_tables_match
from conftest import SMALL_KEYS, SMALL_ROLES, write_small_cluster
from ocpagg.cli import Progress, main
from test_e2e_postgres import ALIAS, CLUSTER, PERIOD, categories, register_args, run_cli, summarize_args


def clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OCPAGG_DATABASE_URL", None)
    return env


def test_demo_prints_its_summary() -> None:
    proc = run_cli(["demo"], clean_env())
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    match = re.search(r"ocpagg demo: (\d+) daily summary rows for 2026-08-01\.\.2026-08-31", out)
    assert match and int(match.group(1)) > 100, out
    assert "Per namespace" in out and "Unallocated capacity per node" in out
    assert "Platform unallocated" in out and "Worker unallocated" in out
    assert re.search(r"rows by data_source: Pod=\d+, Storage=\d+", out), out
    assert "Platform" in out  # the default cost category of openshift-* namespaces
    assert proc.stderr == ""


def test_help_lists_the_commands() -> None:
    proc = run_cli(["--help"], clean_env())
    assert proc.returncode == 0
    for command in ("summarize", "init-db", "demo", "convert"):
        assert command in proc.stdout


def test_every_command_and_option_has_help() -> None:
    import argparse

    from ocpagg.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in commands._choices_actions}
    assert set(helps) == set(commands.choices) and all(helps.values()), helps
    for name, sub in commands.choices.items():
        for action in sub._actions:
            assert action.help, (name, action.dest)
    init_help = commands.choices["init-db"].format_help()
    assert "(default: org1234567)" in init_help


def test_verbose_before_or_after_the_command(tmp_path: Path) -> None:
    kw = write_small_cluster(tmp_path / "root", days=1)
    db = tmp_path / "v.sqlite"
    assert run_cli(["init-db", "--db", f"sqlite:///{db}", *register_args(kw)], clean_env()).returncode == 0
    args = summarize_args(str(tmp_path / "root"), "org1234567", kw, f"sqlite:///{db}")
    for argv in (["-v", *args], [*args, "-v"]):
        proc = run_cli(argv, clean_env())
        assert proc.returncode == 0, proc.stderr
        assert "INFO ocpagg" in proc.stderr and "rows over 1 days written" in proc.stderr


def test_demo_keep_prints_the_rerun_command(tmp_path: Path) -> None:
    proc = run_cli(["demo", "--keep", str(tmp_path / "kept")], clean_env())
    assert proc.returncode == 0, proc.stderr
    command = proc.stdout.strip().splitlines()[-1]
    assert command.startswith("python -m ocpagg summarize --input ")
    rerun = run_cli(shlex.split(command)[3:], clean_env())
    assert rerun.returncode == 0, rerun.stderr
    assert re.match(r"\d+ rows written for 31 days \((\d+) replaced\)", rerun.stdout), rerun.stdout


def test_no_database_is_a_one_line_error(tmp_path: Path) -> None:
    kw = write_small_cluster(tmp_path, days=1)
    args = summarize_args(str(tmp_path), "org1234567", kw, "x")[:-2]  # no --db
    proc = run_cli(args, clean_env())
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "ocpagg: error: no database: give --db URL or set OCPAGG_DATABASE_URL"
    ]


def test_bad_url_and_missing_sqlite_file(tmp_path: Path) -> None:
    kw = write_small_cluster(tmp_path, days=1)
    proc = run_cli(summarize_args(str(tmp_path), "org1234567", kw, "mysql://x/y"), clean_env())
    assert proc.returncode == 1
    assert "unsupported database URL 'mysql'" in proc.stderr and len(proc.stderr.splitlines()) == 1
    missing = tmp_path / "nowhere.sqlite"
    proc = run_cli(summarize_args(str(tmp_path), "org1234567", kw, f"sqlite:///{missing}"), clean_env())
    assert proc.returncode == 1
    assert f"no SQLite database {missing}" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_unreachable_postgres_is_a_one_line_error(tmp_path: Path) -> None:
    from conftest import free_port

    kw = write_small_cluster(tmp_path, days=1)
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    proc = run_cli(summarize_args(str(tmp_path), "org1234567", kw, url), clean_env())
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ocpagg: error: cannot connect to PostgreSQL"), proc.stderr


def test_bad_dates_are_usage_errors(tmp_path: Path) -> None:
    kw = write_small_cluster(tmp_path, days=1)
    args = summarize_args(str(tmp_path), "org1234567", kw, "sqlite:///x")
    args[args.index("--start") + 1] = "2027-13-01"
    proc = run_cli(args, clean_env())
    assert proc.returncode == 2 and "not a YYYY-MM-DD date" in proc.stderr
    kw_reversed = {**kw, "start_date": kw["end_date"].replace(day=2)}
    proc = run_cli(summarize_args(str(tmp_path), "org1234567", kw_reversed, "sqlite:///x"), clean_env())
    assert proc.returncode == 1 and "is before start date" in proc.stderr


def test_init_db_tables_are_koku_compatible(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    schema = pg_schema + "_init"
    try:
        for _ in range(2):  # idempotent
            proc = run_cli(["init-db", "--db", pg_url, "--schema", schema], clean_env())
            assert proc.returncode == 0, proc.stderr
        # every column of koku's tables exists with koku's type in the init-db schema
        with pg_conn.cursor() as cur:
            cur.execute(
                "SELECT table_name, column_name, data_type, coalesce(character_maximum_length, 0), "
                "coalesce(numeric_precision, 0), coalesce(numeric_scale, 0), is_nullable "
                "FROM information_schema.columns WHERE table_schema = $1 "
                "AND table_name <> 'partitioned_tables' "
                "AND table_name NOT LIKE '%\\_default' AND table_name NOT LIKE '%\\_20__\\___'",
                parameters=[pg_schema],
            )
            koku = set(cur.fetchall())
            cur.execute(
                "SELECT table_name, column_name, data_type, coalesce(character_maximum_length, 0), "
                "coalesce(numeric_precision, 0), coalesce(numeric_scale, 0), is_nullable "
                "FROM information_schema.columns WHERE table_schema = $1 "
                "AND table_name NOT LIKE '%\\_default' AND table_name NOT LIKE '%\\_20__\\___'",
                parameters=[schema],
            )
            ours = set(cur.fetchall())
        pg_conn.commit()
        assert koku - ours == set()

        # a standalone run: summarize never creates the report period, init-db registers it on request;
        # no nodes are known, so ocpagg derives the roles from the files
        kw = write_small_cluster(tmp_path, account=schema)
        koku_ddl.enable_keys(pg_conn, schema, list(SMALL_KEYS))
        proc = run_cli(summarize_args(str(tmp_path), schema, kw, pg_url), clean_env())
        assert proc.returncode == 1
        assert f"report period {PERIOD} does not exist" in proc.stderr and len(proc.stderr.splitlines()) == 1
        assert koku_ddl.read_summary(pg_conn, schema).num_rows == 0
        register = [
            "init-db", "--db", pg_url, "--schema", schema, "--register-source", kw["source_uuid"],
            "--cluster-id", CLUSTER, "--cluster-alias", ALIAS, "--report-period-id", str(PERIOD),
            "--month", f"{kw['start_date']:%Y-%m}",
        ]  # fmt: skip
        for state in ("registered", "already registered"):
            proc = run_cli(register, clean_env())
            assert proc.returncode == 0, proc.stderr
            assert f"of {kw['source_uuid']} {state}" in proc.stdout
        proc = run_cli(summarize_args(str(tmp_path), schema, kw, pg_url), clean_env())
        assert proc.returncode == 0, proc.stderr
        expected = ocpagg.summarize_table(
            str(tmp_path),
            **kw,
            report_period_id=PERIOD,
            cluster_id=CLUSTER,
            cluster_alias=ALIAS,
            enabled_keys=SMALL_KEYS,
            cost_categories=categories(pg_conn, schema),
            node_roles=SMALL_ROLES,
        )
        assert_tables_match(koku_ddl.read_summary(pg_conn, schema), expected)
    finally:
        pg_conn.rollback()
        with pg_conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        pg_conn.commit()


def test_progress_only_on_a_terminal(capsys: Any) -> None:
    import datetime as dt
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    pipe, tty = io.StringIO(), Tty()
    for stream in (pipe, tty):
        progress = Progress(2, stream=stream)
        progress(dt.date(2027, 1, 1))
        progress(dt.date(2027, 1, 2))
        progress.close()
    assert pipe.getvalue() == ""
    assert "2/2 days" in tty.getvalue() and tty.getvalue().endswith("\n")


def test_main_returns_exit_status(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("OCPAGG_DATABASE_URL", raising=False)
    db = tmp_path / "m.sqlite"
    kw = write_small_cluster(tmp_path / "root", days=1)
    assert main(["init-db", "--db", f"sqlite:///{db}", *register_args(kw)]) == 0
    args = summarize_args(str(tmp_path / "root"), "org1234567", kw, f"sqlite:///{db}")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"\d+ rows written for 1 days", out)
    assert main([*args[:-1], f"sqlite:///{tmp_path / 'missing.sqlite'}"]) == 1


def test_missing_schema_tells_to_run_init_db(tmp_path: Path, pg_url: str) -> None:
    kw = write_small_cluster(tmp_path, days=1)
    proc = run_cli(summarize_args(str(tmp_path), "org_missing_schema", kw, pg_url), clean_env())
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "ocpagg: error: no table org_missing_schema.reporting_ocpusagelineitem_daily_summary "
        "(run: ocpagg init-db --schema ...)"
    ]
