"""koku's other OCP queries without Trino: usage bounds, cluster information, GPU and VM inputs."""

from .bounds import usage_bounds
from .cluster_info import ClusterInformation, cluster_information
from .gpu import gpu_summary_rows
from .vm import vm_request_rows

__all__ = ["ClusterInformation", "cluster_information", "gpu_summary_rows", "usage_bounds", "vm_request_rows"]
