"""ocpagg: koku's OpenShift daily usage summary from koku's Parquet files, without Trino.

The pipeline, one layer a package or module: ``storage``/``layout``/``reader`` (files) →
``summarize`` (the Rust kernel, day by day) → ``sinks`` (PostgreSQL, SQLite, the Hive twin) →
``run`` (one safe run) → ``masu`` (koku's entry points) and ``cli``.
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import ConfigError, InputError, InternalError, OcpaggError, RefusedError, WriteError
from .params import ReferenceData, RunParameters
from .queries import ClusterInformation, cluster_information, gpu_summary_rows, usage_bounds, vm_request_rows
from .run import RunResult, run_summary
from .summarize import iter_summary_batches, summarize_table

try:
    __version__ = version("ocpagg")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "ClusterInformation",
    "ConfigError",
    "InputError",
    "InternalError",
    "OcpaggError",
    "ReferenceData",
    "RefusedError",
    "RunParameters",
    "RunResult",
    "WriteError",
    "__version__",
    "cluster_information",
    "gpu_summary_rows",
    "iter_summary_batches",
    "run_summary",
    "summarize_table",
    "usage_bounds",
    "vm_request_rows",
]
