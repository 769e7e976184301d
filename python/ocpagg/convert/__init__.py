"""Convert koku-metrics-operator CSV reports to koku's Parquet layout (SPEC §1).

The rules are koku's (its OCP post-processor and Parquet report processor): the report type
comes from the CSV header; the four timestamps lose their `` +0000 UTC`` suffix and become
``timestamp[ms]``; metric columns become float64 (empty or unparsable -> 0.0); label columns
``label_a:x|label_b:y`` become JSON object text; other columns stay strings ('' when empty);
pod_usage gains the two effective-usage columns; GPU rows get koku's MIG fields; rows over
koku's 1e18 thresholds are dropped. Each day of each CSV goes to its own hourly files and to
koku's daily pre-aggregation. Empty CSV files are skipped with a warning, as koku does.

Everything is streamed: a CSV is read in blocks of strings by pyarrow and converted
column-wise in Arrow; hourly rows are written as they come, and each day's daily rows are
accumulated from those rows as they are written.

Modules: :mod:`.rules` (report types and column rules), :mod:`.values` (cell conversions),
:mod:`.hourly` (a block of rows), :mod:`.gpu` (GPU/MIG fields), :mod:`.daily` (daily
pre-aggregation), :mod:`.csv_input` (finding and reading CSVs), :mod:`.writers` (Parquet files),
:mod:`.pipeline` (:func:`convert`), :mod:`.cli` (the ``convert`` command).
"""

from __future__ import annotations

from ..errors import ConvertError
from .cli import add_convert_parser, run_convert, summary_line
from .daily import DailyAggregator, KahanSums, daily_table
from .hourly import convert_batch
from .pipeline import ConvertedFile, ConvertResult, convert
from .rules import FLOAT_COLUMNS, REPORT_DEFS, THRESHOLD_COLUMNS, ReportDef, detect_report_type
from .values import labels_to_json

__all__ = [
    "FLOAT_COLUMNS",
    "REPORT_DEFS",
    "THRESHOLD_COLUMNS",
    "ConvertError",
    "ConvertResult",
    "ConvertedFile",
    "DailyAggregator",
    "KahanSums",
    "ReportDef",
    "add_convert_parser",
    "convert",
    "convert_batch",
    "daily_table",
    "detect_report_type",
    "labels_to_json",
    "run_convert",
    "summary_line",
]
