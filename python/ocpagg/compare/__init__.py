"""``ocpagg compare``: koku's summary rows against ocpagg's, day by day, for the parallel run.

- ``columns``: which columns are compared, and the one normalised shape of both sides;
- ``sides``: koku's table, a shadow table, or rows computed from the Parquet files, one day at a time;
- ``match``: one day's multiset match on the grouping columns, numbers within tolerance;
- ``run``: the comparison of a range; ``result``: what it found;
- ``report``: the terminal and JSON reports; ``html``: the HTML page (needs ``ocpagg[report]``).
"""

from __future__ import annotations

from .columns import COMPARED_COLUMNS, KEY_COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS, describe_columns
from .match import Counts, DayMatch, RowDifference, match_day
from .result import CompareScope, ComparisonResult
from .run import CompareRequest, compare_summaries

__all__ = [
    "COMPARED_COLUMNS",
    "KEY_COLUMNS",
    "NUMERIC_COLUMNS",
    "TEXT_COLUMNS",
    "CompareRequest",
    "CompareScope",
    "ComparisonResult",
    "Counts",
    "DayMatch",
    "RowDifference",
    "compare_summaries",
    "describe_columns",
    "match_day",
]
