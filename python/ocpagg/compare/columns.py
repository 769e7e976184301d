"""Which columns of the daily summary a comparison reads, and the one shape both sides are put in.

A row is identified by the summary's grouping columns (``KEY_COLUMNS``); the usage numbers the
summary SQL writes (``NUMERIC_COLUMNS``) match within a tolerance, and the derived text columns
(``TEXT_COLUMNS``) match exactly once normalised. ``uuid`` is ignored (each run makes new ones), and
so are the cost columns koku's cost model and OCP-on-cloud steps fill after the summary.

Label sets (jsonb in PostgreSQL, text in the kernel) are put in one canonical JSON form — keys
sorted, no spaces — so that two sets holding the same pairs compare equal whatever their key order.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ComparisonError
from ..schema import MEASURE_COLUMNS

# The summary's grouping columns: two rows are the same row when all of these are equal (NULL = NULL).
KEY_COLUMNS: tuple[str, ...] = (
    "usage_start",
    "data_source",
    "namespace",
    "node",
    "resource_id",
    "persistentvolumeclaim",
    "persistentvolume",
    "storageclass",
    "pod_labels",
    "volume_labels",
    "cost_category_id",
    "cluster_id",
    "cluster_alias",
    "source_uuid",
    "report_period_id",
)

# The usage numbers the summary SQL writes (numeric(33,15) in PostgreSQL): equal within a tolerance.
NUMERIC_COLUMNS: tuple[str, ...] = MEASURE_COLUMNS

# Other columns the summary SQL writes, equal after normalisation (JSON canonical, dates as dates).
TEXT_COLUMNS: tuple[str, ...] = ("usage_end", "all_labels", "infrastructure_usage_cost")

COMPARED_COLUMNS: tuple[str, ...] = KEY_COLUMNS + NUMERIC_COLUMNS + TEXT_COLUMNS

# Columns holding JSON objects, compared as objects (key order never matters).
JSON_COLUMNS: frozenset[str] = frozenset(
    {"pod_labels", "volume_labels", "all_labels", "infrastructure_usage_cost"}
)

_INTEGER_COLUMNS = frozenset({"cost_category_id", "report_period_id"})
_DATE_COLUMNS = frozenset({"usage_start", "usage_end"})

# The Arrow type of every compared column once normalised.
COMPARED_SCHEMA = pa.schema(
    [
        pa.field(
            name,
            pa.date32()
            if name in _DATE_COLUMNS
            else pa.int64()
            if name in _INTEGER_COLUMNS
            else pa.float64()
            if name in NUMERIC_COLUMNS
            else pa.string(),
        )
        for name in COMPARED_COLUMNS
    ]
)

# numeric(33,15): the scale of koku's numbers; one unit of it is the default absolute tolerance.
NUMERIC_SCALE = 15


def canonical_json(text: str, column: str) -> str:
    """A JSON object's text with keys sorted and no spaces; a ComparisonError when it is not an object."""
    try:
        value: Any = json.loads(text)
    except ValueError as exc:
        raise ComparisonError(f"column {column} holds text that is not JSON: {text[:80]!r}") from exc
    if not isinstance(value, dict):
        raise ComparisonError(f"column {column} holds JSON that is not an object: {text[:80]!r}")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical_column(column: pa.ChunkedArray | pa.Array, name: str) -> pa.Array:
    """The JSON texts of a column in canonical form; each distinct text is parsed once."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column.cast(pa.string()))
    dictionary = [canonical_json(text, name) for text in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(dictionary, pa.string()), encoded.indices)


def normalise(table: pa.Table, *, round_numbers: bool = False) -> pa.Table:
    """``table``'s compared columns in ``COMPARED_SCHEMA``, JSON columns canonical.

    ``round_numbers`` rounds the numbers to numeric(33,15)'s scale, as PostgreSQL stores them (for
    rows computed on the fly, which were never stored).
    """
    missing = [name for name in COMPARED_COLUMNS if name not in table.column_names]
    if missing:
        raise ComparisonError(f"the rows lack compared columns: {', '.join(missing)}")
    arrays = []
    for field in COMPARED_SCHEMA:
        column = table.column(field.name)
        if field.name in JSON_COLUMNS:
            arrays.append(_canonical_column(column, field.name))
            continue
        column = column.cast(field.type)
        if round_numbers and field.name in NUMERIC_COLUMNS:
            column = pc.round(column, ndigits=NUMERIC_SCALE, round_mode="half_towards_infinity")
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=COMPARED_SCHEMA)


def describe_columns() -> str:
    """The compared columns as a person reads them (for --help and the docs)."""
    return (
        f"row identity (grouping columns, NULL = NULL, labels as JSON objects): {', '.join(KEY_COLUMNS)}; "
        f"numbers within --rtol/--atol: {', '.join(NUMERIC_COLUMNS)}; "
        f"exact after normalisation: {', '.join(TEXT_COLUMNS)}. "
        "Not compared: uuid and the cost columns filled after the summary (cost model, OCP-on-cloud); "
        "rows with infrastructure_raw_cost set (OCP-on-cloud rows) are left out."
    )
