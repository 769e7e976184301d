"""The HTML report in a real browser: headless Chromium renders it; the picture is not blank and the
page holds the expected headings and counts. Chromium comes from Debian's packages (``.ci/run``
installs it); without it the browser test is skipped outside CI.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ocpagg.compare.html import render_html, write_html
from ocpagg.compare.match import match_day
from ocpagg.compare.result import CompareScope, ComparisonResult
from test_compare_match import ATOL, RTOL, row, table

START = dt.date(2027, 3, 1)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (.ci/run installs Debian's chromium package)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def month_result(days: int = 10) -> ComparisonResult:
    """Ten days of 40 rows each; day 4 has a row only in koku, day 7 a value that differs and a row only in
    ocpagg."""
    matches = []
    for i in range(days):
        day = START + dt.timedelta(days=i)
        rows = [row(usage_start=day, usage_end=day, namespace=f"ns-{n:02d}") for n in range(40)]
        koku, ocpagg = list(rows), list(rows)
        if i == 3:
            koku.append(row(usage_start=day, usage_end=day, namespace="ghost"))
        if i == 6:
            koku[5] = dict(koku[5], pod_usage_cpu_core_hours=12.5)
            ocpagg.append(row(usage_start=day, usage_end=day, namespace="new-<ns>"))
        matches.append(
            match_day(day, table(koku), table(ocpagg, round_numbers=True), rtol=RTOL, atol=ATOL, max_rows=10)
        )
    scope = CompareScope(
        schema="org1234567",
        source_uuid="0b6d0f1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
        start_date=START,
        end_date=START + dt.timedelta(days=days - 1),
        report_period_id=1,
        cluster_id="c1",
        cluster_alias="Cluster <one>",
        koku_label="koku's reporting_ocpusagelineitem_daily_summary",
        ocpagg_label="shadow table ocpagg_shadow",
        rtol=RTOL,
        atol=ATOL,
    )
    return ComparisonResult(scope=scope, days=matches, max_rows=10)


def test_page_is_self_contained_and_escaped() -> None:
    page = render_html(month_result())
    assert page.startswith("<!DOCTYPE html>")
    assert re.findall(r'(?:src|href)="(?!data:)', page) == []  # nothing loaded from elsewhere
    assert "<script" not in page and "<link" not in page
    assert page.count('src="data:image/png;base64,') == 1
    assert "Cluster &lt;one&gt;" in page and "new-&lt;ns&gt;" in page and "new-<ns>" not in page


def _render(chromium: str, page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--window-size=1200,1600",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_page_in_headless_chromium(tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    chromium = _chromium()
    page = tmp_path / "compare.html"
    write_html(month_result(), page)

    shot = tmp_path / "compare.png"
    proc = _render(chromium, page, tmp_path, f"--screenshot={shot}")
    assert shot.exists(), proc.stderr
    pixels: Any = mpimg.imread(str(shot))
    assert pixels.shape[:2] == (1600, 1200)
    rgb = pixels[:, :, :3]
    assert float(rgb.var()) > 0.005  # not a blank page
    # The chart's colours are on screen: the matched bars' green and the differing bars' red.
    green = (abs(rgb[:, :, 0] - 0x3A / 255) < 0.05) & (abs(rgb[:, :, 1] - 0x9D / 255) < 0.05)
    red = (abs(rgb[:, :, 0] - 0xC2 / 255) < 0.05) & (abs(rgb[:, :, 1] - 0x3B / 255) < 0.05)
    assert int(green.sum()) > 2000 and int(red.sum()) > 50

    dom = _render(chromium, page, tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr
    html = dom.stdout
    for heading in ("ocpagg compare: koku vs ocpagg", "Rows per day", "Per-day counts", "Differing rows"):
        assert re.search(rf"<h[12]>{re.escape(heading)}</h[12]>", html), heading
    assert "DIFFERENT: 3 rows differ (1 only in koku, 1 only in ocpagg, 1 values differ)" in html
    # The per-day table: 10 days and a total; day 4 and day 7 marked.
    days_table = html[
        html.index('<table id="days">') : html.index("</table>", html.index('<table id="days">'))
    ]
    assert days_table.count("<tr") == 12
    assert (
        '<tr class="differs"><td class="text">2027-03-04</td><td>40</td><td>1</td><td>0</td><td>0</td>'
        in days_table
    )
    assert (
        '<tr class="differs"><td class="text">2027-03-07</td><td>39</td><td>0</td><td>1</td><td>1</td>'
        in days_table
    )
    assert "<th>total</th><td>399</td><td>1</td><td>1</td><td>1</td>" in days_table
    assert "pod_usage_cpu_core_hours: koku 12.5, ocpagg 10 (rel 2.00e-01)" in html
