"""The comparison as people and programs read it: a terminal report and a JSON document."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from .columns import KEY_COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS
from .match import VALUES_DIFFER, Counts, RowDifference
from .result import CompareScope, ComparisonResult

# Key columns every row of a comparison shares; a row shows them only when they are not the scope's.
_SCOPE_COLUMNS = {
    "cluster_id": "cluster_id",
    "cluster_alias": "cluster_alias",
    "source_uuid": "source_uuid",
    "report_period_id": "report_period_id",
}

JSON_FORMAT_VERSION = 1


def number(value: Any) -> str:
    """A value as the reports print it: numbers with 15 significant digits, NULL as NULL."""
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.15g}"
    return str(value)


def relative(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    return f"{value:.2e}"


def row_identity(row: RowDifference, scope: CompareScope) -> str:
    """The grouping columns of a row that tell it apart, as ``name=value`` pairs."""
    parts = []
    for name in KEY_COLUMNS:
        if name == "usage_start":
            continue
        value = row.key.get(name)
        if name in _SCOPE_COLUMNS and value == getattr(scope, _SCOPE_COLUMNS[name]):
            continue
        if value is None:
            continue
        parts.append(f"{name}={value}")
    return " ".join(parts)


def _counts_line(label: str, counts: Counts, max_relative: str) -> str:
    return (
        f"{label:<12} {counts.matched:>10} {counts.only_koku:>10} {counts.only_ocpagg:>12} "
        f"{counts.differ:>14} {max_relative:>13}"
    )


def format_text(result: ComparisonResult) -> str:
    """The terminal report: a line per day, the totals, the verdict, then the first differing rows."""
    s = result.scope
    alias = f" ({s.cluster_alias})" if s.cluster_alias else ""
    lines = [
        f"{s.koku_label} vs ocpagg's rows ({s.ocpagg_label})",
        f"schema {s.schema}, source {s.source_uuid}, {s.start_date}..{s.end_date}, "
        f"report period {s.report_period_id}, cluster {s.cluster_id}{alias}; "
        f"rtol {s.rtol:g}, atol {s.atol:g}",
        "",
        f"{'day':<12} {'matched':>10} {'only koku':>10} {'only ocpagg':>12} {'values differ':>14} "
        f"{'max rel diff':>13}",
    ]
    for day in result.days:
        lines.append(_counts_line(str(day.day), day.counts, relative(day.max_relative)))
    totals = result.totals
    lines.append(_counts_line("total", totals, relative(result.max_relative)))
    lines.append("")
    if result.equal:
        lines.append(f"EQUAL: {totals.matched} rows match over {len(result.days)} days")
        return "\n".join(lines) + "\n"
    lines.append(
        f"DIFFERENT: {totals.differing} rows differ over {sum(1 for d in result.days if d.counts.differing)} "
        f"of {len(result.days)} days ({totals.only_koku} only in koku, {totals.only_ocpagg} only in ocpagg, "
        f"{totals.differ} with values that differ)"
    )
    rows = result.rows
    if rows:
        lines.append("")
        more = f" ({result.rows_left_out} more not shown; --max-rows)" if result.rows_left_out else ""
        lines.append(f"first {len(rows)} differing rows{more}:")
        for row in rows:
            lines.extend(_row_lines(row, s))
    return "\n".join(lines) + "\n"


def _row_lines(row: RowDifference, scope: CompareScope) -> list[str]:
    lines = [f"{row.day} {row.kind}: {row_identity(row, scope)}"]
    if row.kind == VALUES_DIFFER:
        width = max(len(d.column) for d in row.differences) if row.differences else 0
        for diff in row.differences:
            lines.append(
                f"    {diff.column:<{width}}  koku {number(diff.koku)}  ocpagg {number(diff.ocpagg)}"
                f"  rel {relative(diff.relative)}"
            )
    else:
        shown = [
            f"{name}={number(row.values[name])}"
            for name in NUMERIC_COLUMNS
            if row.values.get(name) is not None
        ]
        if shown:
            lines.append("    " + " ".join(shown))
    return lines


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _row_json(row: RowDifference) -> dict[str, Any]:
    out: dict[str, Any] = {
        "day": row.day.isoformat(),
        "result": row.kind,
        "key": {name: _json_value(value) for name, value in row.key.items()},
    }
    if row.kind == VALUES_DIFFER:
        out["differences"] = [
            {
                "column": d.column,
                "koku": _json_value(d.koku),
                "ocpagg": _json_value(d.ocpagg),
                "relative_difference": d.relative,
            }
            for d in row.differences
        ]
    else:
        out["values"] = {name: _json_value(value) for name, value in row.values.items()}
    return out


def to_json(result: ComparisonResult) -> dict[str, Any]:
    """The comparison as a JSON document: scope, totals, counts per day and data source, differing rows."""
    s = result.scope
    return {
        "format": JSON_FORMAT_VERSION,
        "equal": result.equal,
        "scope": {
            "schema": s.schema,
            "source_uuid": s.source_uuid,
            "start_date": s.start_date.isoformat(),
            "end_date": s.end_date.isoformat(),
            "report_period_id": s.report_period_id,
            "cluster_id": s.cluster_id,
            "cluster_alias": s.cluster_alias,
            "koku": s.koku_label,
            "ocpagg": s.ocpagg_label,
            "rtol": s.rtol,
            "atol": s.atol,
        },
        "compared_columns": {
            "key": list(KEY_COLUMNS),
            "numeric": list(NUMERIC_COLUMNS),
            "exact": list(TEXT_COLUMNS),
        },
        "totals": result.totals.as_dict(),
        "by_data_source": {name: c.as_dict() for name, c in sorted(result.by_data_source.items())},
        "max_relative_difference": result.max_relative,
        "days": [
            {
                "day": day.day.isoformat(),
                **day.counts.as_dict(),
                "max_relative_difference": day.max_relative,
                "by_data_source": {name: c.as_dict() for name, c in sorted(day.by_data_source.items())},
            }
            for day in result.days
        ],
        "max_rows": result.max_rows,
        "rows": [_row_json(row) for row in result.rows],
        "rows_left_out": result.rows_left_out,
        "seconds": round(result.seconds, 3),
    }


def write_json(result: ComparisonResult, path: str | Path) -> None:
    """Write ``to_json(result)`` to ``path`` (indented, UTF-8)."""
    Path(path).write_text(json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
