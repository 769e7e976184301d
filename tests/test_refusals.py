"""A run never destroys what it cannot replace (SPEC §3): each refusal leaves koku's table as it was.

Every test first fills koku's table with a good run, takes the table's checksum, makes one thing
wrong, and checks the one-line error and that the checksum did not move.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import koku_ddl
import pyarrow.parquet as pq
import pytest
from conftest import SMALL_ACCOUNT, SMALL_MONTH, SMALL_ROLES, SMALL_SOURCE, SMALL_YEAR, write_small_cluster
from ocpagg.layout import month_dir
from test_e2e_postgres import CLUSTER, PERIOD, prepare_small, run_cli, summarize_args

SUMMARY = '"{schema}".reporting_ocpusagelineitem_daily_summary'


def checksum(conn: Any, schema: str) -> tuple[int, str]:
    """(rows, md5 of every row as text in order): the table's exact state."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), coalesce(md5(string_agg(CAST(t AS text), '|' ORDER BY CAST(t AS text))), '') "
            f'FROM "{schema}".reporting_ocpusagelineitem_daily_summary AS t'
        )
        rows, digest = cur.fetchone()
    conn.commit()
    return int(rows), str(digest)


@pytest.fixture
def filled(tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str) -> dict[str, Any]:
    """koku's table holding a good run of the small cluster (3 days), and its checksum."""
    root = tmp_path / "in"
    kw = write_small_cluster(root, account=pg_schema)
    prepare_small(pg_conn, pg_schema)
    koku_ddl.add_nodes(pg_conn, pg_schema, SMALL_SOURCE, CLUSTER, list(SMALL_ROLES))
    proc = run_cli(summarize_args(str(root), pg_schema, kw, pg_url), dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    before = checksum(pg_conn, pg_schema)
    assert before[0] > 10
    return {"root": root, "kw": kw, "before": before}


def _refused(args: list[str], conn: Any, schema: str, before: tuple[int, str]) -> str:
    proc = run_cli(args, dict(os.environ))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert checksum(conn, schema) == before
    return lines[0]


def test_unknown_report_period(filled: dict[str, Any], pg_url: str, pg_conn: Any, pg_schema: str) -> None:
    args = summarize_args(str(filled["root"]), pg_schema, filled["kw"], pg_url, period=99)
    line = _refused(args, pg_conn, pg_schema, filled["before"])
    assert "report period 99 does not exist" in line
    with pg_conn.cursor() as cur:  # and it was not created on the fly
        cur.execute(f'SELECT count(*) FROM "{pg_schema}".reporting_ocpusagereportperiod WHERE id = 99')
        assert cur.fetchone() == (0,)
    pg_conn.commit()


def test_report_period_of_another_cluster(
    filled: dict[str, Any], pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    args = summarize_args(str(filled["root"]), pg_schema, filled["kw"], pg_url, cluster_id="other-cluster")
    line = _refused(args, pg_conn, pg_schema, filled["before"])
    assert f"report period {PERIOD} belongs to cluster {CLUSTER}, not other-cluster" in line


def test_report_period_of_another_source(
    filled: dict[str, Any], pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    other = "99999999-8888-7777-6666-555555555555"
    koku_ddl.add_report_period(
        pg_conn,
        pg_schema,
        period_id=7,
        cluster_id=CLUSTER,
        source_uuid=other,
        year=SMALL_YEAR,
        month=SMALL_MONTH,
    )
    args = summarize_args(str(filled["root"]), pg_schema, filled["kw"], pg_url, period=7)
    line = _refused(args, pg_conn, pg_schema, filled["before"])
    assert f"report period 7 belongs to source {other}, not {SMALL_SOURCE}" in line


def test_mistyped_source_prefix(filled: dict[str, Any], pg_url: str, pg_conn: Any, pg_schema: str) -> None:
    kw = dict(filled["kw"])
    args = summarize_args(str(filled["root"]), pg_schema, kw, pg_url)
    args[args.index("--source") + 1] = "11111111-1111-1111-1111-111111111111"  # no such prefix
    line = _refused(args, pg_conn, pg_schema, filled["before"])
    assert "report period 1 belongs to source" in line  # the period check catches it first


def test_day_without_pod_files(filled: dict[str, Any], pg_url: str, pg_conn: Any, pg_schema: str) -> None:
    root: Path = filled["root"]
    folder = Path(month_dir(str(root), pg_schema, "pod_usage", SMALL_SOURCE, SMALL_YEAR, SMALL_MONTH))
    missing = folder / f"pod_usage_{SMALL_YEAR}-{SMALL_MONTH:02d}-02.parquet"
    missing.unlink()
    args = summarize_args(str(root), pg_schema, filled["kw"], pg_url)
    line = _refused(args, pg_conn, pg_schema, filled["before"])
    assert line.startswith(f"ocpagg: error: {SMALL_YEAR}-{SMALL_MONTH:02d}-02: the table holds rows")
    assert str(folder) in line and "nothing was deleted" in line

    # --allow-missing-days lets the day through: its pod rows go (its storage files still give
    # storage rows, with no node to join), the other days are replaced
    proc = run_cli([*args, "--allow-missing-days"], dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    with pg_conn.cursor() as cur:
        cur.execute(
            "SELECT CAST(usage_start AS text), data_source, count(*) "
            f"FROM {SUMMARY.format(schema=pg_schema)} GROUP BY 1, 2 ORDER BY 1, 2"
        )
        counts = {(day, source): n for day, source, n in cur.fetchall()}
    pg_conn.commit()
    day2 = f"{SMALL_YEAR}-{SMALL_MONTH:02d}-02"
    assert [k for k in counts if k[0] == day2] == [(day2, "Storage")]
    assert counts[(f"{SMALL_YEAR}-{SMALL_MONTH:02d}-01", "Pod")] > 0


def test_missing_input_root(filled: dict[str, Any], pg_url: str, pg_conn: Any, pg_schema: str) -> None:
    args = summarize_args(str(filled["root"] / "nowhere"), pg_schema, filled["kw"], pg_url)
    line = _refused(args, pg_conn, pg_schema, filled["before"])
    assert "the input root does not exist" in line and "nowhere" in line


def test_missing_bucket(
    filled: dict[str, Any], pg_url: str, pg_conn: Any, pg_schema: str, s3_env: dict[str, str]
) -> None:
    args = summarize_args("s3://no-such-bucket-ocpagg", pg_schema, filled["kw"], pg_url)
    proc = run_cli(args, s3_env)
    assert proc.returncode == 1 and "the input root does not exist" in proc.stderr, proc.stderr
    assert checksum(pg_conn, pg_schema) == filled["before"]


@pytest.mark.parametrize("column", ["node", "pod_usage_cpu_core_seconds", "pod_labels"])
def test_required_column_missing(
    column: str, filled: dict[str, Any], pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    root: Path = filled["root"]
    folder = Path(month_dir(str(root), pg_schema, "pod_usage", SMALL_SOURCE, SMALL_YEAR, SMALL_MONTH))
    path = folder / f"pod_usage_{SMALL_YEAR}-{SMALL_MONTH:02d}-03.parquet"
    table = pq.read_table(path)
    pq.write_table(table.drop_columns([column]), path)
    line = _refused(
        summarize_args(str(root), pg_schema, filled["kw"], pg_url), pg_conn, pg_schema, filled["before"]
    )
    assert line == f"ocpagg: error: {path}: column {column} is missing"


def test_optional_columns_may_be_missing(tmp_path: Path) -> None:
    """Files older than the effective-usage and node_role columns read those as NULL."""
    import ocpagg

    kw = write_small_cluster(tmp_path)
    folder = Path(month_dir(str(tmp_path), SMALL_ACCOUNT, "pod_usage", SMALL_SOURCE, SMALL_YEAR, SMALL_MONTH))
    for path in folder.iterdir():
        table = pq.read_table(path)
        pq.write_table(
            table.drop_columns(
                [c for c in table.column_names if c.startswith("pod_effective_usage") or c == "node_role"]
            ),
            path,
        )
    rows = ocpagg.summarize_table(str(tmp_path), **kw, report_period_id=1, cluster_id="c")
    assert rows.num_rows > 0


def test_unreadable_file_names_it(filled: dict[str, Any], pg_url: str, pg_conn: Any, pg_schema: str) -> None:
    root: Path = filled["root"]
    folder = Path(month_dir(str(root), pg_schema, "storage_usage", SMALL_SOURCE, SMALL_YEAR, SMALL_MONTH))
    path = folder / f"storage_usage_{SMALL_YEAR}-{SMALL_MONTH:02d}-01.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    line = _refused(
        summarize_args(str(root), pg_schema, filled["kw"], pg_url), pg_conn, pg_schema, filled["before"]
    )
    assert line.startswith(f"ocpagg: error: {path}: unreadable Parquet file")


def test_copy_of_a_good_tree_still_runs(
    filled: dict[str, Any], pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    """The refusals above are not a run that always fails: the same input replaces the same rows."""
    copy = filled["root"].parent / "copy"
    shutil.copytree(filled["root"], copy)
    proc = run_cli(summarize_args(str(copy), pg_schema, filled["kw"], pg_url), dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    rows, _ = checksum(pg_conn, pg_schema)
    assert rows == filled["before"][0]  # same rows, new uuids
    assert proc.stdout.startswith(f"{rows} rows written for 3 days ({rows} replaced)"), proc.stdout


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {"namespace": "app-\x00z"},
            "ocpagg: error: 2027-01-02: column namespace holds a NUL character",
        ),
        (
            {"pod_usage_cpu_core_seconds": 3.6e24},  # 1e21 core-hours: beyond numeric(33,15)
            "ocpagg: error: 2027-01-02: column pod_usage_cpu_core_hours holds 1e+21, beyond numeric(33,15)",
        ),
    ],
)
def test_values_koku_cannot_hold_name_day_and_column(
    bad: dict[str, Any],
    message: str,
    tmp_path: Path,
    filled: dict[str, Any],
    pg_url: str,
    pg_conn: Any,
    pg_schema: str,
) -> None:
    from kokudata import hour

    row = {
        "interval_start": hour(SMALL_YEAR, SMALL_MONTH, 2, 5),
        "pod": "odd",
        "namespace": "app-z",
        "node": "worker-0",
        "resource_id": "i-w0",
        "pod_usage_cpu_core_seconds": 10.0,
        "node_capacity_cpu_core_seconds": 3600.0,
        **bad,
    }
    root = tmp_path / "bad"
    kw = write_small_cluster(root, extra_pod_rows=(row,), account=pg_schema)
    line = _refused(summarize_args(str(root), pg_schema, kw, pg_url), pg_conn, pg_schema, filled["before"])
    assert line == message


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("pod_usage_cpu_core_seconds", float("nan"), "NaN"),
        ("pod_request_memory_byte_seconds", float("inf"), "Infinity"),
        ("node_capacity_cpu_core_seconds", float("-inf"), "-Infinity"),
    ],
)
def test_non_finite_metric_names_file_column_and_hour(
    column: str, value: float, shown: str, tmp_path: Path, filled: dict[str, Any], pg_url: str, pg_conn: Any,
    pg_schema: str,
) -> None:  # fmt: skip
    from kokudata import hour

    row = {
        "interval_start": hour(SMALL_YEAR, SMALL_MONTH, 3, 7),
        "pod": "odd",
        "namespace": "app-z",
        "node": "worker-0",
        "resource_id": "i-w0",
        "pod_usage_cpu_core_seconds": 10.0,
        "node_capacity_cpu_core_seconds": 3600.0,
        column: value,
    }
    root = tmp_path / "bad"
    kw = write_small_cluster(root, extra_pod_rows=(row,), account=pg_schema)
    path = Path(month_dir(str(root), pg_schema, "pod_usage", SMALL_SOURCE, SMALL_YEAR, SMALL_MONTH))
    path = path / f"pod_usage_{SMALL_YEAR}-{SMALL_MONTH:02d}-03.parquet"
    line = _refused(summarize_args(str(root), pg_schema, kw, pg_url), pg_conn, pg_schema, filled["before"])
    at = f"{SMALL_YEAR}-{SMALL_MONTH:02d}-03T07:00:00"
    assert line == f"ocpagg: error: {path}: column {column}: {shown} at {at}"
