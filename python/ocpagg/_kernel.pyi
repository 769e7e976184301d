"""Type stubs for the compiled kernel (rust/)."""

import datetime
from typing import Protocol

import pyarrow as pa

class _ArrowArrayExportable(Protocol):
    """Anything exporting an Arrow struct array through the Arrow PyCapsule interface
    (pyarrow.RecordBatch among others). Exists in this stub only, not in the module."""

    def __arrow_c_array__(self, requested_schema: object | None = None) -> tuple[object, object]: ...

class KernelError(Exception):
    """Base of every error the kernel raises."""

class InputDataError(KernelError, ValueError):
    """Bad input data: a missing column, a column of the wrong type, a label value that is not a
    JSON object, or a NaN or +-Infinity metric."""

    column: str | None
    """The input column at fault."""
    hour: str | None
    """interval_start of the first row at fault, ISO-8601 (``2026-08-03T04:00:00``)."""

    def __init__(self, message: str, column: str | None = None, hour: str | None = None) -> None: ...

class InternalError(KernelError, RuntimeError):
    """A failure of the kernel itself: a bug (a Rust panic: "internal error in the kernel: ..."),
    an Arrow error, or misuse such as pushing to a day whose rows were already emitted. After a
    panic the DayAggregator refuses every further call."""

class KernelConfig:
    """Reference data shared by every day of a run.

    enabled_keys: the label keys K that survive filtering; empty means koku's NULL key array
    (every label set filters to {}). Python adds vm_kubevirt_io_name when any key is enabled.
    cost_categories: (SQL LIKE pattern, cost_category_id) pairs.
    node_roles: (node, resource_id, node_role) triples.
    """

    def __init__(
        self,
        enabled_keys: list[str],
        cost_categories: list[tuple[str, int]],
        node_roles: list[tuple[str, str, str]],
    ) -> None: ...
    def label_cache_stats(self) -> dict[str, int]:
        """The run's label cache (raw label JSON -> its kept pairs, shared by the days of the
        run, bounded by ``budget_bytes``): ``hits``, ``misses`` (strings parsed), ``evicted``
        (dropped: unused on the current and previous day), ``refused`` (parsed but not kept: full
        of strings still in use), ``entries``, ``bytes``, ``budget_bytes``."""

class DayAggregator:
    """The state of one day D: fed hourly record batches, it emits D's summary rows.

    Rows whose interval_start falls outside D are ignored, so a row group holding several
    days may be pushed to each of them. Batches are any object exporting a struct array with
    ``__arrow_c_array__`` (pyarrow.RecordBatch); absent optional columns read as NULL.
    The push methods raise InputDataError for bad data (a NaN or +-Infinity metric in a row of
    D included) and InternalError for failures of the kernel.
    """

    def __init__(self, config: KernelConfig, day: datetime.date) -> None: ...
    def push_pod_usage(self, batch: _ArrowArrayExportable) -> None: ...
    def push_storage_usage(self, batch: _ArrowArrayExportable) -> None: ...
    def push_node_labels(self, batch: _ArrowArrayExportable) -> None: ...
    def push_namespace_labels(self, batch: _ArrowArrayExportable) -> None: ...
    def finish(
        self,
        *,
        report_period_id: int,
        cluster_id: str,
        cluster_alias: str | None,
        source_uuid: str,
    ) -> pa.RecordBatch:
        """D's pod, storage and unallocated rows with ocpagg.schema.KERNEL_SCHEMA; the state is spent."""
