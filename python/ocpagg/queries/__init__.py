"""koku's other OCP queries without Trino: usage bounds, cluster information, GPU and VM inputs."""

from .bounds import usage_bounds
from .cluster_info import ClusterInformation, cluster_information

__all__ = ["ClusterInformation", "cluster_information", "usage_bounds"]
