"""The tenant's reference rows the summary joins, read from the output database.

Enabled OCP tag keys (``reporting_enabledtagkeys``), cost-category namespace patterns
(``reporting_ocp_cost_category_namespace``) and node roles (``reporting_ocp_nodes``). When the
database holds no node row for the source (no MASU filled it), roles are derived from the files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from .logs import get_logger
from .node_roles import derive_node_roles
from .params import ReferenceData, RunParameters

LOG = get_logger(__name__)

# (sql, parameters) -> rows
Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


def read_reference_rows(
    query: Query, table: Callable[[str], str], param: Callable[[int], str], source_uuid: str
) -> tuple[ReferenceData, bool]:
    """The reference data in the database, and whether reporting_ocp_nodes knows the source's nodes.

    ``table`` turns a table name into its quoted, qualified form; ``param(i)`` is the i-th (1-based)
    placeholder of the dialect.
    """
    keys = query(
        f"SELECT key FROM {table('reporting_enabledtagkeys')} WHERE enabled AND provider_type = {param(1)}",
        ["OCP"],
    )
    categories = query(
        f"SELECT namespace, cost_category_id FROM {table('reporting_ocp_cost_category_namespace')} "
        "WHERE namespace IS NOT NULL AND cost_category_id IS NOT NULL",
        [],
    )
    nodes = query(
        f"SELECT node, resource_id, node_role FROM {table('reporting_ocp_nodes')} "
        "WHERE node IS NOT NULL AND resource_id IS NOT NULL AND node_role IS NOT NULL",
        [],
    )
    known = query(
        f"SELECT count(*) FROM {table('reporting_ocp_nodes')} AS n "
        f"JOIN {table('reporting_ocp_clusters')} AS c ON n.cluster_id = c.uuid "
        f"WHERE CAST(c.provider_id AS TEXT) = {param(1)}",
        [str(source_uuid)],
    )
    reference = ReferenceData(
        enabled_keys=tuple(sorted({str(k) for (k,) in keys})),
        cost_categories=tuple((str(p), int(i)) for p, i in categories),
        node_roles=tuple((str(n), str(r), str(role)) for n, r, role in nodes),
    )
    return reference, bool(known and known[0][0])


def with_derived_roles(
    params: RunParameters, reference: ReferenceData, has_source_nodes: bool
) -> RunParameters:
    """``params`` with ``reference``, plus roles derived from the files when the database knows none."""
    if has_source_nodes:
        return dataclasses.replace(params, reference=reference)
    derived = derive_node_roles(
        params.root, params.account, params.source_uuid, params.start_date, params.end_date, params.filesystem
    )
    LOG.info(
        "reporting_ocp_nodes holds no node of source %s: derived %d node roles from its files (%s)",
        params.source_uuid,
        len(derived),
        ", ".join(f"{n}={r}" for n, _, r in derived[:20]) + (" ..." if len(derived) > 20 else ""),
    )
    return dataclasses.replace(
        params, reference=dataclasses.replace(reference, node_roles=reference.node_roles + tuple(derived))
    )
