"""Grouped aggregation folded over row groups: partial results are re-grouped with each new part."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

# How a partial aggregate combines with another of the same kind.
_REFOLD = {"max": "max", "min": "min", "any": "any", "sum": "sum"}


def group(table: pa.Table, keys: Sequence[str], aggs: Mapping[str, tuple[str, str]]) -> pa.Table:
    """``table`` grouped by ``keys`` with ``{output: (column, function)}``; columns keys then outputs."""
    if not aggs:
        result = table.group_by(list(keys), use_threads=False).aggregate([])
        return result.select(list(keys))
    result = table.group_by(list(keys), use_threads=False).aggregate(
        [(column, function) for column, function in aggs.values()]
    )
    names = [f"{column}_{function}" for column, function in aggs.values()]
    return pa.Table.from_arrays(
        [result.column(k) for k in keys] + [result.column(n) for n in names],
        names=[*keys, *aggs.keys()],
    )


class Folder:
    """Accumulates ``group(part)`` over parts; ``result()`` is the grouping of all parts together."""

    def __init__(self, keys: Sequence[str], aggs: Mapping[str, tuple[str, str]]) -> None:
        self.keys = list(keys)
        self.aggs = dict(aggs)
        self._refold = {out: (out, _REFOLD[function]) for out, (_column, function) in aggs.items()}
        self._acc: pa.Table | None = None

    def add(self, part: pa.Table) -> None:
        grouped = group(part, self.keys, self.aggs)
        if self._acc is None:
            self._acc = grouped
        else:
            self._acc = group(pa.concat_tables([self._acc, grouped]), self.keys, self._refold)

    def result(self, schema: pa.Schema) -> pa.Table:
        """The folded groups named and typed as ``schema`` (by position), empty when no part came."""
        if self._acc is None:
            return schema.empty_table()
        return self._acc.rename_columns(schema.names).cast(schema)
