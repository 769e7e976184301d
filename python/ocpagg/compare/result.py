"""What a comparison found: per-day counts, the first differing rows, and what was compared."""

from __future__ import annotations

import dataclasses
import datetime as dt

from .match import RESULTS, Counts, DayMatch, RowDifference


@dataclasses.dataclass(frozen=True)
class CompareScope:
    """What was compared: the tenant, source, range and report period, and the two sides."""

    schema: str
    source_uuid: str
    start_date: dt.date
    end_date: dt.date
    report_period_id: int
    cluster_id: str
    cluster_alias: str | None
    koku_label: str
    ocpagg_label: str
    rtol: float
    atol: float


@dataclasses.dataclass
class ComparisonResult:
    """Every day's counts, and the first differing rows (at most ``max_rows``)."""

    scope: CompareScope
    days: list[DayMatch]
    max_rows: int
    seconds: float = 0.0

    @property
    def totals(self) -> Counts:
        counts = Counts()
        for day in self.days:
            counts.add(day.counts)
        return counts

    @property
    def by_data_source(self) -> dict[str, Counts]:
        out: dict[str, Counts] = {}
        for day in self.days:
            for source, counts in day.by_data_source.items():
                out.setdefault(source, Counts()).add(counts)
        return out

    @property
    def max_relative(self) -> float:
        return max((day.max_relative for day in self.days), default=0.0)

    @property
    def rows(self) -> list[RowDifference]:
        """The differing rows reported, in day order."""
        return [row for day in self.days for row in day.rows]

    @property
    def rows_left_out(self) -> int:
        """Differing rows found but not reported (beyond ``max_rows``)."""
        return self.totals.differing - len(self.rows)

    @property
    def equal(self) -> bool:
        return self.totals.differing == 0

    def gauges(self) -> dict[str, int]:
        """Rows per result (matched, only_koku, only_ocpagg, differ).

        The samples of the ``ocpagg_compare_rows{result}`` gauge (``ocpagg.metrics.record_comparison``).
        """
        totals = self.totals
        return {name: getattr(totals, name) for name in RESULTS}
