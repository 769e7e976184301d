"""koku's fixed data that ocpagg's databases share: the summary's cost columns and default seed rows."""

from __future__ import annotations

SUMMARY_TABLE = "reporting_ocpusagelineitem_daily_summary"

# Columns of koku's summary table that the usage summary never fills (OCP-on-cloud and the cost
# model write them later), with the kind of value each holds.
COST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("infrastructure_raw_cost", "numeric"),
    ("infrastructure_project_raw_cost", "numeric"),
    ("infrastructure_data_in_gigabytes", "numeric"),
    ("infrastructure_data_out_gigabytes", "numeric"),
    ("infrastructure_markup_cost", "numeric"),
    ("infrastructure_project_markup_cost", "numeric"),
    ("infrastructure_monthly_cost", "numeric"),
    ("supplementary_monthly_cost", "numeric"),
    ("cost_model_cpu_cost", "numeric"),
    ("cost_model_memory_cost", "numeric"),
    ("cost_model_volume_cost", "numeric"),
    ("cost_model_gpu_cost", "numeric"),
    ("distributed_cost", "numeric"),
    ("infrastructure_monthly_cost_json", "json"),
    ("infrastructure_project_monthly_cost", "json"),
    ("supplementary_usage_cost", "json"),
    ("supplementary_monthly_cost_json", "json"),
    ("supplementary_project_monthly_cost", "json"),
    ("cost_model_rate_type", "text"),
    ("monthly_cost_type", "text"),
    ("raw_currency", "text"),
)

# koku's default cost category and its namespace patterns (its reporting migrations seed them).
PLATFORM_CATEGORY = ("Platform", "Default OpenShift projects bucketed into a Platform group", "OCP")
PLATFORM_NAMESPACES = ("openshift-%", "kube-%", "Platform unallocated", "openshift")
