"""koku's other OCP queries without Trino: usage bounds, cluster information, GPU and VM inputs (SPEC §5-§8).

``usage_bounds``, ``cluster_information``, ``gpu_summary_rows`` and ``vm_request_rows`` read Parquet and
return Arrow; ``populate_cluster_information`` and ``populate_gpu_summary`` write koku's tables.
"""

from .bounds import usage_bounds
from .cluster_info import ClusterInformation, cluster_information
from .cluster_writer import ClusterCounts, populate_cluster_information
from .gpu import gpu_summary_rows
from .gpu_writer import GpuCounts, populate_gpu_summary
from .vm import vm_request_rows

__all__ = [
    "ClusterCounts",
    "ClusterInformation",
    "GpuCounts",
    "cluster_information",
    "gpu_summary_rows",
    "populate_cluster_information",
    "populate_gpu_summary",
    "usage_bounds",
    "vm_request_rows",
]
