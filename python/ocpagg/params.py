"""What a run covers: its parameters, the tenant's reference rows, and the months of a range.

Every layer imports these (the pipeline, the reference-data reader, node roles, the sinks, the
run); this module imports nothing of ocpagg but its errors, so no lower module depends on a
higher one.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class ReferenceData:
    """The tenant's rows the SQL joins: enabled OCP tag keys, cost-category patterns, node roles."""

    enabled_keys: tuple[str, ...] = ()
    cost_categories: tuple[tuple[str, int], ...] = ()
    node_roles: tuple[tuple[str, str, str], ...] = ()

    def kernel_keys(self) -> list[str]:
        """koku's key array: vm_kubevirt_io_name plus the enabled keys, or none at all (Trino's NULL)."""
        return ["vm_kubevirt_io_name", *sorted(set(self.enabled_keys))] if self.enabled_keys else []


@dataclass(frozen=True)
class RunParameters:
    """What one summary run covers: where the files are and the constants of every row."""

    root: str
    account: str
    source_uuid: str
    start_date: dt.date
    end_date: dt.date
    report_period_id: int
    cluster_id: str
    cluster_alias: str | None = None
    reference: ReferenceData = field(default_factory=ReferenceData)
    # An fsspec filesystem holding ``root`` when the caller configured one (MASU); else from the root.
    filesystem: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.end_date < self.start_date:
            raise ConfigError(f"end date {self.end_date} is before start date {self.start_date}")

    @property
    def days(self) -> list[dt.date]:
        """Every day of the inclusive range."""
        return [
            self.start_date + dt.timedelta(days=i) for i in range((self.end_date - self.start_date).days + 1)
        ]


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after ``day``'s."""
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def month_ranges(start: dt.date, end: dt.date) -> Iterator[tuple[int, int, list[dt.date]]]:
    """(year, month, days) for each month the inclusive range touches."""
    day = start
    while day <= end:
        last = dt.date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        stop = min(last, end)
        yield day.year, day.month, [day + dt.timedelta(days=i) for i in range((stop - day).days + 1)]
        day = stop + dt.timedelta(days=1)
