"""``ocpagg demo``: a sample cluster-month in koku's layout → embedded SQLite → a readable summary."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import uuid
from pathlib import Path

from .demo_data import write_demo_month
from .layout import account_from_schema
from .params import RunParameters
from .run import run_summary
from .sinks import init_db, open_sink

LOG = logging.getLogger(__name__)

SCHEMA = "org1234567"
SOURCE = "3c0f4a7e-9b7e-4d35-9c3e-5a0b6ad1c001"
YEAR, MONTH = 2026, 8
DEMO_KEYS = ("app", "environment", "team")
CLUSTER_ID = "demo-cluster"
CLUSTER_ALIAS = "Demo cluster"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    right = [i > 0 for i in range(len(headers))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        )

    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)])


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _report(db_path: str, rows: int, seconds: float, start: dt.date, end: dt.date) -> str:
    import adbc_driver_sqlite.dbapi as sqlite

    with sqlite.connect(db_path) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT s.namespace, c.name, count(*), "
            "sum(s.pod_usage_cpu_core_hours), sum(s.pod_request_cpu_core_hours), "
            "sum(s.pod_usage_memory_gigabyte_hours), sum(s.persistentvolumeclaim_usage_gigabyte_months) "
            "FROM reporting_ocpusagelineitem_daily_summary s "
            "LEFT JOIN reporting_ocp_cost_category c ON c.id = s.cost_category_id "
            "WHERE s.namespace NOT IN ('Platform unallocated', 'Worker unallocated') OR s.namespace IS NULL "
            "GROUP BY s.namespace, c.name ORDER BY sum(s.pod_usage_cpu_core_hours) DESC, s.namespace"
        )
        projects = cur.fetchall()
        cur.execute(
            "SELECT s.namespace, s.node, count(*), max(s.node_capacity_cpu_cores), "
            "sum(s.pod_usage_cpu_core_hours), sum(s.pod_request_cpu_core_hours), "
            "sum(s.pod_usage_memory_gigabyte_hours) "
            "FROM reporting_ocpusagelineitem_daily_summary s "
            "WHERE s.namespace IN ('Platform unallocated', 'Worker unallocated') "
            "GROUP BY s.namespace, s.node ORDER BY s.namespace, s.node"
        )
        unallocated = cur.fetchall()
        cur.execute(
            "SELECT data_source, count(*) FROM reporting_ocpusagelineitem_daily_summary "
            "GROUP BY data_source ORDER BY data_source"
        )
        sources = cur.fetchall()
    lines = [
        f"ocpagg demo: {rows} daily summary rows for {start}..{end} written to SQLite in {seconds:.2f}s",
        "rows by data_source: " + ", ".join(f"{k}={v}" for k, v in sources),
        "",
        "Per namespace (Pod and Storage rows):",
        _table(
            [
                "namespace",
                "cost category",
                "rows",
                "cpu used h",
                "cpu requested h",
                "memory used GiB-h",
                "storage used GiB-mo",
            ],
            [
                [str(ns), str(cat or ""), str(n), _num(cpu), _num(req), _num(mem), _num(st, 3)]
                for ns, cat, n, cpu, req, mem, st in projects
            ],
        ),
        "",
        "Unallocated capacity per node (capacity minus what pods used / requested):",
        _table(
            [
                "namespace",
                "node",
                "days",
                "cores",
                "cpu unused h",
                "cpu unrequested h",
                "memory unused GiB-h",
            ],
            [
                [str(ns), str(node), str(n), _num(cores, 0), _num(cpu), _num(req), _num(mem)]
                for ns, node, n, cores, cpu, req, mem in unallocated
            ],
        ),
    ]
    return "\n".join(lines)


def run_demo(keep: str | None = None) -> str:
    """Write a sample cluster-month, summarize it into a SQLite file, and return the printed summary."""
    with tempfile.TemporaryDirectory(prefix="ocpagg-demo-") as tmp:
        base = Path(keep).resolve() if keep else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        root = str(base / "bucket")
        files = write_demo_month(
            root, account=account_from_schema(SCHEMA), source_uuid=SOURCE, year=YEAR, month=MONTH
        )
        db_path = str(base / "ocpagg-demo.sqlite")
        if os.path.exists(db_path):
            os.remove(db_path)
        db = f"sqlite:///{db_path}"
        init_db(db, SCHEMA)
        sink = open_sink(db, SCHEMA)
        try:
            sink.register_report_period(
                report_period_id=1,
                source_uuid=SOURCE,
                cluster_id=CLUSTER_ID,
                cluster_alias=CLUSTER_ALIAS,
                month_start=files.start_date,
            )
            placeholders = sink.placeholders(2)
            for key in DEMO_KEYS:
                sink.execute(
                    "INSERT INTO reporting_enabledtagkeys (uuid, key, enabled, provider_type) "
                    f"VALUES ({placeholders[0]}, {placeholders[1]}, 1, 'OCP')",
                    [str(uuid.uuid4()), key],
                )
            sink.commit()
        finally:
            sink.close()
        params = RunParameters(
            root=root,
            account=files.account,
            source_uuid=SOURCE,
            start_date=files.start_date,
            end_date=files.end_date,
            report_period_id=1,
            cluster_id=CLUSTER_ID,
            cluster_alias=CLUSTER_ALIAS,
        )
        result = run_summary(params, db=db, schema=SCHEMA)
        report = _report(db_path, result.rows, result.seconds, files.start_date, files.end_date)
        if keep:
            report += (
                f"\n\nfiles and database kept under {base}; to summarize them again:\n"
                f"python -m ocpagg summarize --input {root} --schema {SCHEMA} --source {SOURCE} "
                f"--start {files.start_date} --end {files.end_date} --report-period-id 1 "
                f"--cluster-id {CLUSTER_ID} --cluster-alias '{CLUSTER_ALIAS}' --db {db}"
            )
        else:
            report += "\n\nthe sample files and database were temporary and are gone (keep them: --keep DIR)"
        return report
