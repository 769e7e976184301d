"""What a caller can rely on: the fallback flag, koku's 5-day windows, readers never wait, the Hive twin.

Faults are injected into ocpagg's own steps (never into PostgreSQL or the filesystem) or made real
(an unwritable folder, a SIGKILL).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import fsspec
import koku_ddl
import ocpagg
import pyarrow.parquet as pq
import pytest
from compare import assert_tables_match
from conftest import SMALL_ROLES, SMALL_SOURCE, write_small_cluster
from ocpagg.masu import populate_line_item_daily_summary_table
from ocpagg.reader import FOOTERS
from ocpagg.sinks.hive import HiveWriter
from ocpagg.sinks.postgres import PostgresSink
from test_e2e_postgres import ALIAS, CLUSTER, PERIOD, prepare_small, run_cli, summarize_args
from test_refusals import checksum


@pytest.fixture
def small(tmp_path: Path, pg_conn: Any, pg_schema: str) -> dict[str, Any]:
    files = write_small_cluster(tmp_path / "in", days=12, account=pg_schema)
    prepare_small(pg_conn, pg_schema)
    koku_ddl.add_nodes(pg_conn, pg_schema, SMALL_SOURCE, CLUSTER, list(SMALL_ROLES))
    return files


def _masu(root: Path, schema: str, pg_url: str, start: Any, end: Any, **kw: Any) -> ocpagg.RunResult:
    return populate_line_item_daily_summary_table(
        schema,
        start,
        end,
        PERIOD,
        CLUSTER,
        ALIAS,
        SMALL_SOURCE,
        database=pg_url,
        storage=(fsspec.filesystem("file"), str(root)),
        **kw,
    )


def test_failure_before_the_commit_leaves_everything_as_before(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, small: dict[str, Any], monkeypatch: Any
) -> None:
    root = tmp_path / "in"
    _masu(root, pg_schema, pg_url, small["start_date"], small["end_date"])
    before = checksum(pg_conn, pg_schema)

    def broken_insert(self: PostgresSink) -> int:
        raise RuntimeError("injected: the server went away during the insert")

    monkeypatch.setattr(PostgresSink, "insert_staged", broken_insert)
    with pytest.raises(ocpagg.WriteError, match="injected") as failed:
        _masu(root, pg_schema, pg_url, small["start_date"], small["end_date"])
    assert failed.value.database_committed is False
    assert checksum(pg_conn, pg_schema) == before

    # a real failure of the Hive twin before the commit: its root cannot hold folders
    monkeypatch.undo()
    blocked = tmp_path / "hive-root"
    blocked.mkdir()
    (blocked / "data").write_text("a file where the twin's folders should go")
    with pytest.raises(ocpagg.OcpaggError) as failed_hive:
        _masu(root, pg_schema, pg_url, small["start_date"], small["end_date"], hive_output=str(blocked))
    assert failed_hive.value.database_committed is False
    assert checksum(pg_conn, pg_schema) == before
    assert sorted(p.name for p in blocked.iterdir()) == ["data"]


def test_failure_after_the_commit_says_so(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, small: dict[str, Any], monkeypatch: Any
) -> None:
    root = tmp_path / "in"

    def broken_publish(self: HiveWriter) -> list[str]:
        raise OSError("injected: the twin could not be published")

    monkeypatch.setattr(HiveWriter, "publish", broken_publish)
    with pytest.raises(ocpagg.WriteError, match="injected") as failed:
        _masu(root, pg_schema, pg_url, small["start_date"], small["end_date"], hive_output=str(tmp_path))
    assert failed.value.database_committed is True
    assert koku_ddl.read_summary(pg_conn, pg_schema).num_rows > 0  # the rows are in: no Trino rerun


def test_five_day_windows_give_the_whole_month(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, small: dict[str, Any]
) -> None:
    """koku's updater calls in TRINO_DATE_STEP windows; each footer is read once for the month."""
    import datetime as dt

    root = tmp_path / "in"
    whole = _masu(root, pg_schema, pg_url, small["start_date"], small["end_date"])
    whole_rows = koku_ddl.read_summary(pg_conn, pg_schema)

    FOOTERS.clear()
    start, end, total = small["start_date"], small["end_date"], 0
    while start <= end:
        stop = min(start + dt.timedelta(days=4), end)
        total += _masu(root, pg_schema, pg_url, start, stop).rows
        start = stop + dt.timedelta(days=1)
    assert total == whole.rows
    assert_tables_match(koku_ddl.read_summary(pg_conn, pg_schema), whole_rows, rel=0.0)
    assert FOOTERS.reads == 4 * 12  # four report types, one file a day: each footer once


def test_a_reader_never_waits_for_a_run(tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str) -> None:
    """A 2M-row month whose partition is new: concurrent SELECTs on the table stay fast."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benches"))
    from synth import write_cluster_month

    info = write_cluster_month(
        str(tmp_path / "big"), account=pg_schema, source_uuid=SMALL_SOURCE, year=2027, month=3,
        pod_rows=2_000_000, nodes=40, namespaces=20, seed=3,
    )  # fmt: skip
    koku_ddl.add_report_period(
        pg_conn, pg_schema, period_id=PERIOD, cluster_id=CLUSTER, source_uuid=SMALL_SOURCE,
        year=2027, month=3,
    )  # fmt: skip
    kw = {"source_uuid": SMALL_SOURCE, "start_date": info.start_date, "end_date": info.end_date}
    args = summarize_args(str(tmp_path / "big"), pg_schema, kw, pg_url)
    run = subprocess.Popen(
        [sys.executable, "-m", "ocpagg", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    waits: list[float] = []
    with pg_conn.cursor() as cur:
        cur.execute("SET lock_timeout = '5s'")
    pg_conn.commit()
    while run.poll() is None:
        began = time.monotonic()
        with pg_conn.cursor() as cur:
            cur.execute(f'SELECT count(*) FROM "{pg_schema}".reporting_ocpusagelineitem_daily_summary')
            cur.fetchall()
        pg_conn.commit()
        waits.append(time.monotonic() - began)
        time.sleep(0.05)
    out, err = run.communicate()
    assert run.returncode == 0, err
    assert len(waits) > 10, "the run ended before the reader could watch it"
    assert max(waits) < 1.0, sorted(waits)[-5:]
    with pg_conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE c.relname = 'reporting_ocpusagelineitem_daily_summary_2027_03'"
        )
        assert cur.fetchall() == [(1,)]  # the run created the month's partition
    pg_conn.commit()


def _day_files(hive: Path) -> dict[str, list[str]]:
    """Visible files of each day partition (hidden staging folders are not partitions)."""
    days: dict[str, list[str]] = {}
    for folder in sorted(hive.rglob("day=*")):
        if any(part.startswith(".") for part in folder.relative_to(hive).parts):
            continue
        days[str(folder.relative_to(hive))] = sorted(p.name for p in folder.iterdir())
    return days


def test_sigkill_never_leaves_a_day_with_old_and_new_files(tmp_path: Path) -> None:
    files = write_small_cluster(tmp_path / "in", days=12)
    hive = tmp_path / "hive"
    env = {k: v for k, v in os.environ.items() if k != "OCPAGG_DATABASE_URL"}
    args = summarize_args(str(tmp_path / "in"), "org1234567", files, "unused")
    args = args[: args.index("--db")] + ["--hive-output", str(hive)]
    began = time.monotonic()
    proc = run_cli(args, env)
    assert proc.returncode == 0, proc.stderr
    duration = time.monotonic() - began
    first = _day_files(hive)
    assert len(first) == 12 and all(len(names) == 1 for names in first.values())
    rng = random.Random(11)
    outcomes = set()
    for _ in range(10):
        run = subprocess.Popen([sys.executable, "-m", "ocpagg", *args], env=env)
        time.sleep(rng.uniform(0.3 * duration, 1.1 * duration))
        run.send_signal(signal.SIGKILL)
        run.wait()
        outcomes.add(run.returncode)
        days = _day_files(hive)
        assert sorted(days) == sorted(first)
        for day, names in days.items():
            assert len(names) == 1 and names[0].endswith(".parquet"), (day, names)
            assert pq.read_table(hive / day / names[0]).num_rows > 0  # never a partial file
    proc = run_cli(args, env)  # a later run cleans what the killed ones staged
    assert proc.returncode == 0, proc.stderr
    source = next(hive.rglob("source=*"))
    assert not [p for p in source.iterdir() if p.name.startswith(".")]


def test_a_run_that_fails_while_staging_removes_its_files(tmp_path: Path, monkeypatch: Any) -> None:
    files = write_small_cluster(tmp_path / "in", days=3)
    hive = tmp_path / "hive"
    env = {k: v for k, v in os.environ.items() if k != "OCPAGG_DATABASE_URL"}
    args = summarize_args(str(tmp_path / "in"), "org1234567", files, "unused")
    args = args[: args.index("--db")] + ["--hive-output", str(hive)]
    assert run_cli(args, env).returncode == 0
    first = _day_files(hive)

    written = 0
    real_write = HiveWriter.write

    def write_then_fail(self: HiveWriter, day: Any, batch: Any) -> None:
        nonlocal written
        real_write(self, day, batch)
        written += 1
        if written == 2:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(HiveWriter, "write", write_then_fail)
    params = ocpagg.RunParameters(
        root=str(tmp_path / "in"),
        account=files["account"],
        source_uuid=SMALL_SOURCE,
        start_date=files["start_date"],
        end_date=files["end_date"],
        report_period_id=PERIOD,
        cluster_id=CLUSTER,
    )
    with pytest.raises(ocpagg.WriteError, match="No space left"):
        ocpagg.run_summary(params, db=None, schema="org1234567", hive_output=str(hive))
    assert _day_files(hive) == first
    source = next(hive.rglob("source=*"))
    assert not [p for p in source.iterdir() if p.name.startswith(".")]
