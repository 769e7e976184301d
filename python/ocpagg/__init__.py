"""ocpagg: koku's OpenShift daily usage summary from koku's Parquet files, without Trino."""

from .errors import ConfigError, InputError, OcpaggError
from .summarize import ReferenceData, RunParameters, iter_summary_batches, summarize_table

__all__ = [
    "ConfigError",
    "InputError",
    "OcpaggError",
    "ReferenceData",
    "RunParameters",
    "iter_summary_batches",
    "summarize_table",
]
__version__ = "0.1.0"
