"""``ocpagg check``: would a summary of this range start? Database, report periods, input, S3 settings.

Nothing is written: the database is read in a transaction that is rolled back, the input only
listed and its footers read. ``run_check`` returns a ``CheckReport``: what was found (``lines``)
and what would stop a run (``problems``, one line each); ``notes`` are worth a look but do not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .errors import OcpaggError
from .layout import account_from_schema
from .logs import get_logger
from .params import month_ranges
from .reader import open_report_file
from .schema import REPORT_TYPES, SUMMARY_SCHEMA
from .sinks import one_line, open_sink
from .sinks.connect import describe_database
from .sinks.postgres_ddl import summary_columns
from .sinks.seed import SUMMARY_TABLE
from .storage import describe_s3_settings, filesystem_for

LOG = get_logger(__name__)

# The columns ocpagg reads of koku's other tables, in koku's types.
_REFERENCE_COLUMNS: dict[str, dict[str, str]] = {
    "reporting_ocpusagereportperiod": {
        "id": "integer",
        "cluster_id": "varchar(50)",
        "cluster_alias": "varchar(256)",
        "report_period_start": "timestamptz",
        "report_period_end": "timestamptz",
        "provider_id": "uuid",
    },
    "reporting_enabledtagkeys": {"key": "varchar(512)", "enabled": "boolean", "provider_type": "varchar(50)"},
    "reporting_ocp_cost_category_namespace": {"namespace": "text", "cost_category_id": "integer"},
    "reporting_ocp_clusters": {"uuid": "uuid", "provider_id": "uuid"},
    "reporting_ocp_nodes": {"node": "text", "resource_id": "text", "node_role": "text", "cluster_id": "uuid"},
}


def expected_columns() -> dict[str, dict[str, str]]:
    """Table → column → koku's type, for the columns a run reads or writes."""
    wanted = set(SUMMARY_SCHEMA.names) | {"infrastructure_raw_cost"}
    summary: dict[str, str] = {}
    for definition in summary_columns():
        name, kind = definition.split()[:2]
        if name in wanted:
            summary[name] = kind
    return {SUMMARY_TABLE: summary, **_REFERENCE_COLUMNS}


def pg_type(data_type: str, length: Any, precision: Any, scale: Any) -> str:
    """A column's type from information_schema.columns, written as in koku's DDL."""
    if data_type == "character varying":
        return f"varchar({length})" if length is not None else "varchar"
    if data_type == "numeric" and precision is not None:
        return f"numeric({precision},{scale})"
    if data_type == "timestamp with time zone":
        return "timestamptz"
    return data_type


@dataclass
class CheckReport:
    """What ``check`` found; ``ok`` when a summarize of the range would start."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # (year, month) → report type → (files, rows)
    input_months: dict[tuple[int, int], dict[str, tuple[int, int]]] = field(default_factory=dict)
    report_periods: list[tuple[int, str, dt.date]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        out = list(self.lines)
        out += [f"note: {n}" for n in self.notes]
        out += [f"problem: {p}" for p in self.problems] or ["ready: a summarize of this range would start"]
        return "\n".join(out)


def run_check(
    *, root: str, schema: str, source_uuid: str, start_date: dt.date, end_date: dt.date, db: Any
) -> CheckReport:
    """Check everything a ``summarize`` of the range needs, writing nothing."""
    report = CheckReport()
    if end_date < start_date:
        report.problems.append(f"end date {end_date} is before start date {start_date}")
        return report
    months = [(y, m) for y, m, _ in month_ranges(start_date, end_date)]
    check_database(report, db, schema, source_uuid, months)
    check_input(report, root, schema, source_uuid, start_date, end_date)
    return report


def check_database(
    report: CheckReport, db: Any, schema: str, source_uuid: str, months: list[tuple[int, int]]
) -> None:
    """Reachable; tables and koku's column types; the source's report periods cover the months."""
    if db is None:
        report.problems.append("no database: give --db URL or set OCPAGG_DATABASE_URL")
        return
    try:
        where = describe_database(db)
        sink = open_sink(db, schema)
    except OcpaggError as exc:
        report.problems.append(f"database: {one_line(exc)}")
        return
    except Exception as exc:  # noqa: BLE001 - a driver failure is one line
        report.problems.append(f"database: {one_line(exc)}")
        return
    try:
        report.lines.append(f"database: {where} (reachable)")
        present = _check_tables(report, sink, schema)
        if "reporting_ocpusagereportperiod" in present:
            _check_report_periods(report, sink, source_uuid, months)
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        report.problems.append(f"database: {one_line(exc)}")
    finally:
        sink.rollback()
        sink.close()


def _check_tables(report: CheckReport, sink: Any, schema: str) -> set[str]:
    expected = expected_columns()
    present = {name for name in expected if sink.has_table(name)}
    for name in expected:
        if name not in present:
            report.problems.append(f"no table {sink.describe(name)} (koku's migrations, or ocpagg init-db)")
    is_pg = type(sink).__name__ == "PostgresSink"
    for name in sorted(present):
        if not is_pg:
            continue
        rows = sink.query(
            "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale "
            "FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
            [schema, name],
        )
        actual = {str(c): pg_type(str(t), n, p, s) for c, t, n, p, s in rows}
        for column, kind in expected[name].items():
            if column not in actual:
                report.problems.append(f"{schema}.{name}: no column {column} ({kind})")
            elif actual[column] != kind:
                report.problems.append(f"{schema}.{name}.{column} is {actual[column]}, koku's type is {kind}")
    checked = "with koku's column types" if is_pg else "(column types not compared on SQLite)"
    report.lines.append(f"tables: {len(present)} of {len(expected)} present {checked}")
    return present


def _month_of(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _check_report_periods(
    report: CheckReport, sink: Any, source_uuid: str, months: list[tuple[int, int]]
) -> None:
    p = sink.placeholders(1)
    rows = sink.query(
        f"SELECT id, cluster_id, report_period_start FROM {sink.table('reporting_ocpusagereportperiod')} "
        f"WHERE CAST(provider_id AS TEXT) = {p[0]} ORDER BY report_period_start, id",
        [source_uuid],
    )
    report.report_periods = [(int(i), str(c), _month_of(s)) for i, c, s in rows]
    listed = ", ".join(f"{i} ({s:%Y-%m}, cluster {c})" for i, c, s in report.report_periods) or "none"
    report.lines.append(f"report periods of source {source_uuid}: {listed}")
    covered = {(s.year, s.month) for _, _, s in report.report_periods}
    for year, month in months:
        if (year, month) not in covered:
            report.problems.append(
                f"{year:04d}-{month:02d}: source {source_uuid} has no report period (koku's MASU creates it; "
                "standalone: ocpagg init-db --register-source ...)"
            )


def check_input(
    report: CheckReport, root: str, schema: str, source_uuid: str, start_date: dt.date, end_date: dt.date
) -> None:
    """S3 settings; the root is readable; months, files and rows under the source; footers and columns."""
    if root.startswith(("s3://", "s3a://")):
        s3 = describe_s3_settings()
        report.lines.append("s3: " + ", ".join(f"{k} {v}" for k, v in s3.items()))
    try:
        fs, base = filesystem_for(root)
        if not fs.exists(base):
            report.problems.append(f"{root}: the input root does not exist (no such directory or bucket)")
            return
    except Exception as exc:  # noqa: BLE001 - credentials, endpoint, network: one line
        report.problems.append(f"{root}: cannot read the input root ({one_line(exc)})")
        return
    account = account_from_schema(schema)
    prefix = f"{base}/data/parquet/{account}/OCP"
    found: dict[tuple[int, int], dict[str, list[str]]] = {}
    for report_type in REPORT_TYPES:
        for path in fs.glob(f"{prefix}/{report_type}/source={source_uuid}/year=*/month=*/*.parquet"):
            parts = dict(p.split("=", 1) for p in str(path).split("/") if p.startswith(("year=", "month=")))
            key = (int(parts["year"]), int(parts["month"]))
            found.setdefault(key, {}).setdefault(report_type, []).append(str(path))
    report.lines.append(
        f"input: {root} (readable), {len(found)} months under {prefix}/*/source={source_uuid}"
    )
    pod_days: set[dt.date] = set()
    in_range = set()
    for year, month, days in month_ranges(start_date, end_date):
        in_range.add((year, month))
        counts = {}
        for report_type in REPORT_TYPES:
            paths = sorted(found.get((year, month), {}).get(report_type, []))
            rows = 0
            for path in paths:
                try:
                    opened = open_report_file(fs, path, report_type, days)
                except OcpaggError as exc:
                    report.problems.append(one_line(exc))
                    continue
                rows += opened.metadata.num_rows
                if report_type == "pod_usage":
                    pod_days.update(opened.day_row_groups)
            counts[report_type] = (len(paths), rows)
        report.input_months[(year, month)] = counts
        report.lines.append(
            f"  {year:04d}-{month:02d}: "
            + ", ".join(f"{t} {n} files {r} rows" for t, (n, r) in counts.items())
        )
    for year, month in sorted(set(found) - in_range):
        files = {t: len(v) for t, v in found[(year, month)].items()}
        report.input_months[(year, month)] = {t: (n, -1) for t, n in files.items()}
        report.lines.append(
            f"  {year:04d}-{month:02d} (outside the range; footers not read): "
            + ", ".join(f"{t} {n} files" for t, n in files.items())
        )
    days = [start_date + dt.timedelta(days=i) for i in range((end_date - start_date).days + 1)]
    if not pod_days:
        report.problems.append(
            f"no pod_usage rows for {start_date}..{end_date} under {prefix}/pod_usage/source={source_uuid}: "
            "check the input root, the schema (account folder) and the source"
        )
    elif missing := [d for d in days if d not in pod_days]:
        report.notes.append(
            f"{len(missing)} days without pod_usage rows (a run refuses them if the table holds their rows): "
            + ", ".join(str(d) for d in missing[:10])
            + (" ..." if len(missing) > 10 else "")
        )
