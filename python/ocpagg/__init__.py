"""ocpagg: koku's OpenShift daily usage summary from koku's Parquet files, without Trino."""

from .errors import ConfigError, InputError, OcpaggError
from .sink import RunResult, populate_line_item_daily_summary_table, run_summary
from .summarize import ReferenceData, RunParameters, iter_summary_batches, summarize_table

__all__ = [
    "ConfigError",
    "InputError",
    "OcpaggError",
    "ReferenceData",
    "RunParameters",
    "iter_summary_batches",
    "populate_line_item_daily_summary_table",
    "run_summary",
    "RunResult",
    "summarize_table",
]
__version__ = "0.1.0"
