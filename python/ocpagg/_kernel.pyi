"""Type stubs for the compiled kernel (rust/)."""

import datetime
from typing import Any

import pyarrow as pa

class KernelError(ValueError):
    """Bad input met by the kernel: a wrong column type or a label value that is not a JSON object."""

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

class DayAggregator:
    """The state of one day D: fed hourly record batches, it emits D's summary rows.

    Rows whose interval_start falls outside D are ignored, so a row group holding several
    days may be pushed to each of them. Batches are any Arrow record batch exporting
    ``__arrow_c_array__`` (pyarrow.RecordBatch); absent optional columns read as NULL.
    """

    def __init__(self, config: KernelConfig, day: datetime.date) -> None: ...
    def push_pod_usage(self, batch: Any) -> None: ...
    def push_storage_usage(self, batch: Any) -> None: ...
    def push_node_labels(self, batch: Any) -> None: ...
    def push_namespace_labels(self, batch: Any) -> None: ...
    def finish(
        self,
        *,
        report_period_id: int,
        cluster_id: str,
        cluster_alias: str | None,
        source_uuid: str,
    ) -> pa.RecordBatch:
        """D's pod, storage and unallocated rows with ocpagg.schema.KERNEL_SCHEMA; the state is spent."""
