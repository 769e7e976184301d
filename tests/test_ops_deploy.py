"""Deployment files against the code: metric names of the dashboard and rules, manifest arguments,
and the CLI features the manifests rely on (relative dates, --month, --report-period-id auto)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import koku_ddl
import pytest
import yaml
from conftest import SMALL_ACCOUNT, SMALL_SOURCE, write_small_cluster
from ocpagg.cli import build_parser
from prometheus_client.parser import text_string_to_metric_families
from test_e2e_postgres import CLUSTER, prepare_small, run_cli, summarize_args

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
METRIC = re.compile(r"\bocpagg_[a-z0-9_]+")


def _exported_after_a_real_run(tmp_path: Path) -> set[str]:
    """Sample names of the textfile of a real run (SQLite, local files)."""
    kw = write_small_cluster(tmp_path / "in", days=2)
    db = f"sqlite:///{tmp_path / 'summary.sqlite'}"
    register = [
        "init-db", "--db", db, "--register-source", SMALL_SOURCE, "--cluster-id", CLUSTER,
        "--report-period-id", "1", "--month", "2027-01",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "OCPAGG_DATABASE_URL"}
    assert run_cli(register, env).returncode == 0
    textfile = tmp_path / "ocpagg.prom"
    args = summarize_args(str(tmp_path / "in"), SMALL_ACCOUNT, kw, db)
    proc = run_cli([*args, "--metrics-textfile", str(textfile)], env)
    assert proc.returncode == 0, proc.stderr
    names = set()
    for family in text_string_to_metric_families(textfile.read_text()):
        names.add(family.name)
        names.update(s.name for s in family.samples)
    return names


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "ocpagg.json").read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]


def _rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "ocpagg-rules.yaml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def test_dashboard_and_rules_use_only_exported_metrics(tmp_path: Path) -> None:
    exported = _exported_after_a_real_run(tmp_path)
    dashboard = {m for e in _dashboard_exprs() for m in METRIC.findall(e)}
    rules = {m for r in _rules() for m in METRIC.findall(r["expr"])}
    assert dashboard and rules
    assert dashboard - exported == set(), sorted(exported)
    assert rules - exported == set(), sorted(exported)
    # The dashboard shows outcomes, phases, rows in and out, and the time since the last success.
    assert {
        "ocpagg_runs_total",
        "ocpagg_phase_seconds_total",
        "ocpagg_input_rows_total",
        "ocpagg_output_rows_total",
        "ocpagg_last_success_timestamp_seconds",
    } <= dashboard
    alerts = {r["alert"]: r["expr"] for r in _rules()}
    assert 'outcome!="ok"' in alerts["OcpaggRunFailed"]
    assert "26 * 3600" in alerts["OcpaggNoRecentSuccess"]
    assert "ocpagg_run_duration_seconds_sum" in alerts["OcpaggRunSlow"]


def _manifest(name: str) -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "kubernetes" / name).read_text())


def _expand(args: list[str], env: dict[str, str]) -> list[str]:
    """Kubernetes' $(VAR) expansion of container arguments."""
    return [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env[m.group(1)], a) for a in args]


def _pod_spec(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    job = doc["spec"]["jobTemplate"]["spec"] if kind == "CronJob" else doc["spec"]
    assert job["activeDeadlineSeconds"] > 0 and job["backoffLimit"] >= 1
    return job["template"]["spec"]


@pytest.mark.parametrize("name", ["cronjob.yaml", "backfill-job.yaml"])
def test_manifests_run_the_cli_safely(name: str) -> None:
    doc = _manifest(name)
    settings = _manifest("configmap.yaml")["data"]
    pod = _pod_spec(doc["kind"], doc)
    (container,) = pod["containers"]
    args = build_parser().parse_args(_expand(container["args"], {**settings, "JOB_COMPLETION_INDEX": "3"}))
    assert args.command == "summarize" and args.report_period_id == "auto"
    assert args.sub_log_format == "json" and args.pushgateway == settings["OCPAGG_PUSHGATEWAY"]
    today = dt.datetime.now(dt.UTC).date()
    if doc["kind"] == "CronJob":
        assert (args.start, args.end) == (today - dt.timedelta(days=1), today)
        assert doc["spec"]["concurrencyPolicy"] == "Forbid" and doc["spec"]["startingDeadlineSeconds"] > 0
    else:
        assert doc["spec"]["completionMode"] == "Indexed" and doc["spec"]["suspend"] is True
        first = dt.date.fromisoformat(settings["BACKFILL_FIRST_MONTH"] + "-01")
        assert args.month[0] == dt.date(first.year, first.month + 3, 1)
    secrets = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert secrets == {"OCPAGG_DATABASE_URL", "S3_ACCESS_KEY", "S3_SECRET"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert {v["name"]: v for v in pod["volumes"]}[mounts["/tmp"]]["emptyDir"]
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]


def test_report_period_auto_runs_month_by_month(
    tmp_path: Path, pg_url: str, pg_conn: Any, pg_schema: str, s3_upload: Any, s3_env: dict[str, str]
) -> None:
    kw = write_small_cluster(tmp_path / "in", days=2)
    prepare_small(pg_conn, pg_schema)  # report period 1: January
    root = s3_upload(tmp_path / "in", accounts={SMALL_ACCOUNT: pg_schema})
    textfile = tmp_path / "ocpagg.prom"
    wide = {**kw, "end_date": dt.date(2027, 2, 1)}

    # February has no report period: refused before anything runs.
    proc = run_cli(summarize_args(root, pg_schema, wide, pg_url, period="auto"), s3_env)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"ocpagg: error: 2027-02: source {SMALL_SOURCE} has no report period")
    assert koku_ddl.read_summary(pg_conn, pg_schema).num_rows == 0

    koku_ddl.add_report_period(
        pg_conn, pg_schema, period_id=7, cluster_id=CLUSTER, source_uuid=SMALL_SOURCE, year=2027, month=2
    )
    args = summarize_args(root, pg_schema, wide, pg_url, period="auto")
    proc = run_cli([*args, "--allow-missing-days", "--metrics-textfile", str(textfile)], s3_env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2
    assert "(report period 1, 2027-01-01..2027-01-31)" in lines[0]
    assert lines[1].startswith("0 rows written") and "(report period 7, 2027-02-01..2027-02-01)" in lines[1]
    rows = koku_ddl.read_summary(pg_conn, pg_schema)
    assert rows.num_rows == int(lines[0].split()[0]) > 0
    assert set(rows.column("report_period_id").to_pylist()) == {1}
    runs = {
        s.labels["outcome"]: s.value
        for f in text_string_to_metric_families(textfile.read_text())
        for s in f.samples
        if s.name == "ocpagg_runs_total"
    }
    assert runs["ok"] == 2

    # --month: the whole month, the same rows again (replaced, not duplicated).
    month_args = [a for a in args if a not in ("--start", "--end", "2027-01-01", "2027-02-01")]
    proc = run_cli([*month_args, "--month", "2027-01"], s3_env)
    assert proc.returncode == 0, proc.stderr
    assert koku_ddl.read_summary(pg_conn, pg_schema).num_rows == rows.num_rows
