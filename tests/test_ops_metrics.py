"""Metrics and logs of real runs: the textfile, the Pushgateway body, multiprocess mode, JSON logs.

Every exposition is parsed with prometheus_client's parser; the values are those of the run
(rows the CLI printed, rows of the hand-made cluster, the outcome of a refused run).
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from conftest import SMALL_ACCOUNT, SMALL_PODS, SMALL_SOURCE, write_small_cluster
from prometheus_client.parser import text_string_to_metric_families
from test_e2e_postgres import CLUSTER, PERIOD, prepare_small, run_cli, summarize_args

DAYS = 3
POD_ROWS = DAYS * 24 * len(SMALL_PODS)  # the small cluster: every pod every hour


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) → value of an exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


class _Capture(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[str, str, bytes]] = []

    def do_PUT(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        self.bodies.append((self.command, self.path, self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    do_POST = do_PUT  # noqa: N815

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def pushgateway() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A stand-in Pushgateway on a free loopback port that keeps each request's method, path and body."""
    bodies: list[tuple[str, str, bytes]] = []
    handler = type("Capture", (_Capture,), {"bodies": bodies})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


def test_textfile_and_pushgateway_hold_the_run(
    tmp_path: Path,
    pg_url: str,
    pg_conn: Any,
    pg_schema: str,
    s3_upload: Any,
    s3_env: dict[str, str],
    pushgateway: tuple[str, list],
) -> None:
    kw = write_small_cluster(tmp_path / "in", days=DAYS)
    prepare_small(pg_conn, pg_schema)
    root = s3_upload(tmp_path / "in", accounts={SMALL_ACCOUNT: pg_schema})
    url, bodies = pushgateway
    textfile = tmp_path / "prom" / "ocpagg.prom"
    textfile.parent.mkdir()
    before = time.time()
    args = summarize_args(root, pg_schema, kw, pg_url)
    args += ["--metrics-textfile", str(textfile), "--pushgateway", url, "--metrics-job", "ocpagg-test"]
    proc = run_cli(args, s3_env)
    assert proc.returncode == 0, proc.stderr
    written = int(proc.stdout.split(" rows written", 1)[0])
    assert written > 0

    text = textfile.read_text()
    assert [p.name for p in textfile.parent.iterdir()] == ["ocpagg.prom"]  # no temporary file left
    assert len(bodies) == 1
    method, path, body = bodies[0]
    assert (method, path) == ("PUT", "/metrics/job/ocpagg-test")
    for exposition in (text, body.decode()):
        found = samples(exposition)
        assert value(found, "ocpagg_runs_total", outcome="ok") == 1
        assert value(found, "ocpagg_runs_total", outcome="refused") == 0
        pod = value(found, "ocpagg_output_rows_total", data_source="Pod")
        storage = value(found, "ocpagg_output_rows_total", data_source="Storage")
        assert pod + storage == written and storage == DAYS  # one volume, one row a day
        assert value(found, "ocpagg_input_rows_total", report_type="pod_usage") == POD_ROWS
        assert value(found, "ocpagg_input_rows_total", report_type="storage_usage") == DAYS * 24
        assert value(found, "ocpagg_input_bytes_total") > 0
        assert value(found, "ocpagg_run_duration_seconds_count") == 1
        for phase in ("list", "read", "aggregate", "write", "commit"):
            assert value(found, "ocpagg_phase_seconds_total", phase=phase) > 0
        assert before <= value(found, "ocpagg_last_success_timestamp_seconds") <= time.time()
        assert not any(name.endswith("_created") for name, _ in found)
        labels = {k for _, ls in found for k, _ in ls}
        assert labels <= {"outcome", "phase", "report_type", "data_source", "le"}


def test_failed_runs_export_their_outcome_and_keep_the_last_success(
    tmp_path: Path,
    pg_url: str,
    pg_conn: Any,
    pg_schema: str,
    s3_upload: Any,
    s3_env: dict[str, str],
    pushgateway: tuple[str, list],
) -> None:
    kw = write_small_cluster(tmp_path / "in", days=DAYS)
    prepare_small(pg_conn, pg_schema)
    root = s3_upload(tmp_path / "in", accounts={SMALL_ACCOUNT: pg_schema})
    url, bodies = pushgateway
    textfile = tmp_path / "ocpagg.prom"
    export = ["--metrics-textfile", str(textfile), "--pushgateway", url]
    proc = run_cli([*summarize_args(root, pg_schema, kw, pg_url), *export], s3_env)
    assert proc.returncode == 0, proc.stderr
    success = value(samples(textfile.read_text()), "ocpagg_last_success_timestamp_seconds")
    assert success > 0 and bodies[-1][0] == "PUT"
    cases = (
        ("refused", summarize_args(root, pg_schema, kw, pg_url, period="99")),
        ("input_error", summarize_args(root + "-missing", pg_schema, kw, pg_url)),
        ("config_error", summarize_args(root, pg_schema, kw, "mysql://nowhere")),
    )
    for outcome, args in cases:
        proc = run_cli([*args, *export], s3_env)
        assert proc.returncode == 1, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        method, path, body = bodies[-1]
        # A failure adds to the group (POST) and leaves the Pushgateway's last-success value alone.
        assert (method, path) == ("POST", "/metrics/job/ocpagg")
        pushed = samples(body.decode())
        assert not any(name == "ocpagg_last_success_timestamp_seconds" for name, _ in pushed)
        written = samples(textfile.read_text())
        assert value(written, "ocpagg_last_success_timestamp_seconds") == success
        for found in (pushed, written):
            assert value(found, "ocpagg_runs_total", outcome=outcome) == 1
            assert value(found, "ocpagg_runs_total", outcome="ok") == 0
            assert value(found, "ocpagg_output_rows_total", data_source="Pod") == 0
            assert value(found, "ocpagg_run_duration_seconds_count") == 1
    assert len(bodies) == 1 + len(cases)


_WORKER = textwrap.dedent(
    """
    import sys, datetime as dt, fsspec, prometheus_client
    from ocpagg.masu import populate_line_item_daily_summary_table
    db, schema, root, source, cluster, period = sys.argv[1:7]
    for _ in range(2):  # two runs of one worker process into koku's (default) registry
        populate_line_item_daily_summary_table(
            schema, dt.date(2027, 1, 1), dt.date(2027, 1, 3), int(period), cluster, None, source,
            database=db, storage=(fsspec.filesystem("file"), root),
            registry=prometheus_client.REGISTRY, tracing_id="t-1",
        )
    """
)

_COLLECT = textwrap.dedent(
    """
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    print(generate_latest(registry).decode())
    """
)


def test_multiprocess_mode_collects_every_worker(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str
) -> None:
    """koku's Celery workers: several processes, PROMETHEUS_MULTIPROC_DIR, a MultiProcessCollector."""
    write_small_cluster(tmp_path / "in", days=DAYS, account=pg_schema)
    prepare_small(pg_conn, pg_schema)
    multiproc = tmp_path / "multiproc"
    multiproc.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    argv = [pg_url, pg_schema, str(tmp_path / "in"), SMALL_SOURCE, CLUSTER, str(PERIOD)]
    for _ in range(2):  # two worker processes, one after the other
        proc = subprocess.run(
            [sys.executable, "-c", _WORKER, *argv], env=env, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
    assert len(list(multiproc.glob("*.db"))) >= 2
    collected = subprocess.run(
        [sys.executable, "-c", _COLLECT], env=env, capture_output=True, text=True, timeout=60
    )
    assert collected.returncode == 0, collected.stderr
    found = samples(collected.stdout)
    assert value(found, "ocpagg_runs_total", outcome="ok") == 4
    assert value(found, "ocpagg_input_rows_total", report_type="pod_usage") == 4 * POD_ROWS
    assert value(found, "ocpagg_run_duration_seconds_count") == 4
    last = [v for (name, labels), v in found.items() if name == "ocpagg_last_success_timestamp_seconds"]
    assert len(last) == 1 and last[0] > time.time() - 600  # mode max: one series, no pid label

    # The CLI in multiprocess mode exports what the directory holds (its run and the workers').
    textfile = tmp_path / "cli.prom"
    kw = {"source_uuid": SMALL_SOURCE, "start_date": dt.date(2027, 1, 1), "end_date": dt.date(2027, 1, 3)}
    args = summarize_args(str(tmp_path / "in"), pg_schema, kw, pg_url)
    proc = run_cli([*args, "--metrics-textfile", str(textfile)], env)
    assert proc.returncode == 0, proc.stderr
    assert value(samples(textfile.read_text()), "ocpagg_runs_total", outcome="ok") == 5


def test_masu_registry_shared_by_runs_and_records_carry_the_run(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One registry for many MASU calls; every ocpagg record of a run names schema, source, tracing id."""
    from ocpagg.masu import populate_line_item_daily_summary_table
    from prometheus_client import CollectorRegistry, generate_latest

    write_small_cluster(tmp_path / "in", days=DAYS, account=pg_schema)
    prepare_small(pg_conn, pg_schema)
    registry = CollectorRegistry()
    storage = (fsspec.filesystem("file"), str(tmp_path / "in"))
    caplog.set_level(logging.DEBUG, logger="ocpagg")
    for tracing_id in ("trace-a", "trace-b"):
        populate_line_item_daily_summary_table(
            pg_schema,
            "2027-01-01",
            dt.datetime(2027, 1, 3),
            PERIOD,
            CLUSTER,
            None,
            SMALL_SOURCE,
            database=pg_url,
            storage=storage,
            registry=registry,
            tracing_id=tracing_id,
        )
    found = samples(generate_latest(registry).decode())
    assert value(found, "ocpagg_runs_total", outcome="ok") == 2
    assert value(found, "ocpagg_input_rows_total", report_type="pod_usage") == 2 * POD_ROWS

    records = [r for r in caplog.records if r.name.startswith("ocpagg")]
    assert len(records) > 10
    for record in records:
        assert record.schema == pg_schema, record.getMessage()  # type: ignore[attr-defined]
        assert record.source == SMALL_SOURCE  # type: ignore[attr-defined]
        assert record.tracing_id in ("trace-a", "trace-b")  # type: ignore[attr-defined]
    days = {r.day for r in records}  # type: ignore[attr-defined]
    assert {"2027-01-01", "2027-01-02", "2027-01-03"} <= days, days
    assert {r.tracing_id for r in records} == {"trace-a", "trace-b"}  # type: ignore[attr-defined]


def test_json_logs_one_object_a_line(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, s3_upload: Any, s3_env: dict[str, str]
) -> None:
    kw = write_small_cluster(tmp_path / "in", days=DAYS)
    prepare_small(pg_conn, pg_schema)
    root = s3_upload(tmp_path / "in", accounts={SMALL_ACCOUNT: pg_schema})
    args = summarize_args(root, pg_schema, kw, pg_url)
    proc = run_cli([*args[:1], "-vv", "--log-format", "json", *args[1:], "--tracing-id", "job-42"], s3_env)
    assert proc.returncode == 0, proc.stderr
    entries = [json.loads(line) for line in proc.stderr.splitlines()]
    run_entries = [e for e in entries if e["logger"].startswith("ocpagg.") and e["logger"] != "ocpagg.cli"]
    assert len(run_entries) > 5
    for entry in entries:
        assert set(entry) >= {"time", "level", "logger", "message", "schema", "source", "tracing_id", "day"}
        dt.datetime.fromisoformat(entry["time"])
    for entry in run_entries:
        assert (entry["schema"], entry["source"], entry["tracing_id"]) == (pg_schema, SMALL_SOURCE, "job-42")
    assert {"2027-01-01", "2027-01-02", "2027-01-03"} <= {e["day"] for e in run_entries}

    # A failure is one JSON line too.
    proc = run_cli(
        [*summarize_args(root, pg_schema, kw, pg_url, period="99"), "--log-format", "json"], s3_env
    )
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["message"].startswith("ocpagg: error: report period 99")
