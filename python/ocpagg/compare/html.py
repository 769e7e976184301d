"""The comparison as one self-contained HTML page: a per-day chart (PNG, inline) and the tables.

The chart needs matplotlib (``pip install ocpagg[report]``); it is imported only here, and only when
a page is written. The page loads nothing from elsewhere: the style is inline and the picture is a
base64 ``data:`` URL.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from ..errors import ConfigError
from .columns import KEY_COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS
from .match import VALUES_DIFFER, RowDifference
from .report import number, relative, row_identity
from .result import ComparisonResult

MATCHED_COLOUR = "#3a9d5d"
DIFFERING_COLOURS = {"only in koku": "#d9822b", "only in ocpagg": "#7b5ea7", "values differ": "#c23b3b"}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; font-size: 0.9em; }
th { background: #f2f2f2; } td.text { text-align: left; font-family: monospace; }
td:first-child { white-space: nowrap; }
tr.differs td { background: #fbe9e9; }
.verdict { font-size: 1.2em; font-weight: bold; padding: 0.4em 0.8em; display: inline-block; }
.equal { background: #e3f4e8; color: #1d6b38; } .different { background: #fbe3e3; color: #9b1c1c; }
"""


def chart_png(result: ComparisonResult) -> bytes:
    """A bar chart per day: matched rows, and the differing rows stacked by kind."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:
        raise ConfigError("--html needs matplotlib: pip install 'ocpagg[report]'") from exc
    days = [d.day.strftime("%m-%d") for d in result.days]
    x = list(range(len(days)))
    width = 0.4
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, height_ratios=(1, 1))
    try:
        top.bar(x, [d.counts.matched for d in result.days], color=MATCHED_COLOUR, label="matched")
        top.set_ylabel("rows matched")
        top.set_title("rows per day: matched (top), differing (bottom)")
        base = [0] * len(days)
        for kind, colour in DIFFERING_COLOURS.items():
            attribute = {
                "only in koku": "only_koku",
                "only in ocpagg": "only_ocpagg",
                "values differ": "differ",
            }[kind]
            values = [getattr(d.counts, attribute) for d in result.days]
            bottom.bar(x, values, width * 2, bottom=base, color=colour, label=kind)
            base = [b + v for b, v in zip(base, values, strict=True)]
        bottom.set_ylabel("rows differing")
        bottom.set_ylim(0, max([*base, 1]) * 1.15)
        bottom.yaxis.set_major_locator(MaxNLocator(integer=True))
        top.yaxis.set_major_locator(MaxNLocator(integer=True))
        for axes in (top, bottom):
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
        bottom.set_xticks(x, days, rotation=90 if len(days) > 12 else 0, fontsize="small")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def _cell(value: object, text: bool = False) -> str:
    cls = ' class="text"' if text else ""
    return f"<td{cls}>{html.escape(str(value))}</td>"


def _day_table(result: ComparisonResult) -> str:
    head = (
        "<tr><th>day</th><th>matched</th><th>only in koku</th><th>only in ocpagg</th>"
        "<th>values differ</th><th>max rel diff</th><th>by data source</th></tr>"
    )
    rows = []
    for day in result.days:
        sources = "; ".join(
            f"{name}: {c.matched} matched, {c.differing} differ"
            for name, c in sorted(day.by_data_source.items())
        )
        cls = ' class="differs"' if day.counts.differing else ""
        rows.append(
            f"<tr{cls}>{_cell(day.day, True)}{_cell(day.counts.matched)}{_cell(day.counts.only_koku)}"
            f"{_cell(day.counts.only_ocpagg)}{_cell(day.counts.differ)}{_cell(relative(day.max_relative))}"
            f"{_cell(sources, True)}</tr>"
        )
    t = result.totals
    rows.append(
        f"<tr><th>total</th>{_cell(t.matched)}{_cell(t.only_koku)}{_cell(t.only_ocpagg)}{_cell(t.differ)}"
        f"{_cell(relative(result.max_relative))}<td></td></tr>"
    )
    return f'<table id="days">{head}{"".join(rows)}</table>'


def _row_details(row: RowDifference) -> str:
    if row.kind == VALUES_DIFFER:
        return "<br>".join(
            html.escape(
                f"{d.column}: koku {number(d.koku)}, ocpagg {number(d.ocpagg)} (rel {relative(d.relative)})"
            )
            for d in row.differences
        )
    shown = [
        f"{n}={number(row.values[n])}"
        for n in NUMERIC_COLUMNS + TEXT_COLUMNS
        if row.values.get(n) is not None
    ]
    return html.escape(", ".join(shown))


def _rows_table(result: ComparisonResult) -> str:
    if not result.rows:
        return "<p>No differing rows.</p>"
    head = "<tr><th>day</th><th>result</th><th>row</th><th>values</th></tr>"
    body = "".join(
        f"<tr>{_cell(r.day, True)}{_cell(r.kind, True)}{_cell(row_identity(r, result.scope), True)}"
        f'<td class="text">{_row_details(r)}</td></tr>'
        for r in result.rows
    )
    more = (
        f"<p>{result.rows_left_out} more differing rows not shown (--max-rows).</p>"
        if result.rows_left_out
        else ""
    )
    return f'<table id="rows">{head}{body}</table>{more}'


def render_html(result: ComparisonResult) -> str:
    """The whole page as text."""
    s = result.scope
    t = result.totals
    png = base64.b64encode(chart_png(result)).decode("ascii")
    verdict = (
        f'<p class="verdict equal" id="verdict">EQUAL: {t.matched} rows match</p>'
        if result.equal
        else f'<p class="verdict different" id="verdict">DIFFERENT: {t.differing} rows differ '
        f"({t.only_koku} only in koku, {t.only_ocpagg} only in ocpagg, {t.differ} values differ)</p>"
    )
    title = f"ocpagg compare {s.schema} {s.start_date}..{s.end_date}"
    alias = f" ({s.cluster_alias})" if s.cluster_alias else ""
    scope = (
        f"schema {s.schema}, source {s.source_uuid}, {s.start_date}..{s.end_date}, report period "
        f"{s.report_period_id}, cluster {s.cluster_id}{alias}. {s.koku_label} against ocpagg's rows "
        f"({s.ocpagg_label}); numbers within rtol {s.rtol:g}, atol {s.atol:g}."
    )
    columns = (
        f"Row identity: {', '.join(KEY_COLUMNS)}. Numbers: {', '.join(NUMERIC_COLUMNS)}. "
        f"Exact: {', '.join(TEXT_COLUMNS)}."
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>ocpagg compare: koku vs ocpagg</h1>
<p>{html.escape(scope)}</p>
{verdict}
<h2>Rows per day</h2>
<img id="chart" alt="rows matched and differing per day" src="data:image/png;base64,{png}">
<h2>Per-day counts</h2>
{_day_table(result)}
<h2>Differing rows</h2>
{_rows_table(result)}
<h2>Compared columns</h2>
<p>{html.escape(columns)}</p>
</body>
</html>
"""


def write_html(result: ComparisonResult, path: str | Path) -> None:
    """Write ``render_html(result)`` to ``path``."""
    Path(path).write_text(render_html(result), encoding="utf-8")
