"""Random small koku trees: ``ocpagg.summarize_table`` must equal the DuckDB reference row for row."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compare import assert_tables_match
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kokudata import EFFECTIVE_COLUMNS, GIB, hour, write_report
from reference import reference_table

ACCOUNT = "org1234567"
SOURCE = "0b5c7a57-cf8b-4e8c-8d4a-6a4c8e2a1b11"
H = 3600.0
STORAGE_OPTIONAL = ("node", "csi_driver", "csi_volume_handle")

NODES = ["n1", "n2", ""]
NAMESPACES = ["ns-a", "ns_b", "team\\x", "Platform unallocated"]
PODS = ["p1", "p2", "p3"]
LABEL_KEYS = ["app", "env", "vm_kubevirt_io_name", "x", "app.kubernetes.io/name"]
ENABLEABLE = ["app", "env", "vm_kubevirt_io_name", "app.kubernetes.io/name"]
LABEL_VALUES = ["1", "2", "", 'q"uote', "é"]
PATTERNS = ["ns%", "%a", "ns_b", "team\\_", "team\\x", "%", "Platform%", "%unallocated", "Worker unallocated"]
ROLES = ["master", "infra", "worker", "gpu"]
# (days of the range, a day outside it in the same month folder); the last range spans two months
RANGES = [
    ([(2027, 1, 5)], (2027, 1, 6)),
    ([(2027, 2, 27), (2027, 2, 28)], (2027, 2, 26)),
    ([(2028, 2, 29)], (2028, 2, 28)),
    ([(2027, 1, 31), (2027, 2, 1)], (2027, 2, 2)),
]

seconds = st.sampled_from([0.0, 1800.0, H, 2 * H])
byte_seconds = st.sampled_from([0.0, GIB * 1800.0, GIB * H, 3 * GIB * H])
label_sets = st.builds(
    # insertion order and spacing vary: neither may matter once filtered
    lambda pairs, compact: json.dumps(dict(pairs), separators=(",", ":") if compact else None),
    st.lists(st.tuples(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES)), max_size=3),
    st.booleans(),
)


@dataclass
class World:
    """A random hourly koku tree and the run's reference data."""

    days: list[dt.date]
    outside: dt.date
    pod_rows: list[dict[str, Any]] = field(default_factory=list)
    storage_rows: list[dict[str, Any]] = field(default_factory=list)
    node_label_rows: list[dict[str, Any]] = field(default_factory=list)
    namespace_label_rows: list[dict[str, Any]] = field(default_factory=list)
    old_pod_days: set[dt.date] = field(default_factory=set)
    old_storage: bool = False
    split_files: bool = False
    enabled_keys: list[str] = field(default_factory=list)
    cost_categories: list[tuple[str, int]] = field(default_factory=list)
    node_roles: list[tuple[str, str, str]] = field(default_factory=list)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    in_range, outside = draw(st.sampled_from(RANGES))
    days = [dt.date(*d) for d in in_range]
    world = World(days=days, outside=dt.date(*outside))
    day_of = st.sampled_from([*days, world.outside])
    hours = st.integers(0, 2)
    for _ in range(draw(st.integers(0, 10))):
        day = draw(day_of)
        node = draw(st.sampled_from(NODES))
        cores = draw(st.sampled_from([0.0, 2.0, 4.0]))
        memory = draw(st.sampled_from([0.0, 4.0 * GIB, 8.0 * GIB]))
        world.pod_rows.append(
            {
                "interval_start": hour(day.year, day.month, day.day, draw(hours)),
                "namespace": draw(st.sampled_from(NAMESPACES)),
                "node": node,
                "pod": draw(st.sampled_from(PODS)),
                "resource_id": f"r-{node}-{draw(st.integers(0, 1))}",
                "pod_labels": draw(label_sets),
                "pod_usage_cpu_core_seconds": draw(seconds),
                "pod_request_cpu_core_seconds": draw(seconds),
                "pod_limit_cpu_core_seconds": draw(seconds),
                "pod_effective_usage_cpu_core_seconds": draw(seconds),
                "pod_usage_memory_byte_seconds": draw(byte_seconds),
                "pod_request_memory_byte_seconds": draw(byte_seconds),
                "pod_limit_memory_byte_seconds": draw(byte_seconds),
                "pod_effective_usage_memory_byte_seconds": draw(byte_seconds),
                "node_capacity_cpu_cores": cores,
                "node_capacity_cpu_core_seconds": cores * H,
                "node_capacity_memory_bytes": memory,
                "node_capacity_memory_byte_seconds": memory * H,
            }
        )
    for _ in range(draw(st.integers(0, 6))):
        day = draw(day_of)
        world.storage_rows.append(
            {
                "interval_start": hour(day.year, day.month, day.day, draw(hours)),
                "namespace": draw(st.sampled_from(NAMESPACES)),
                "pod": draw(st.sampled_from([*PODS, "ghost"])),
                "persistentvolumeclaim": draw(st.sampled_from(["c1", "c2"])),
                "persistentvolume": draw(st.sampled_from(["v1", "v2"])),
                "storageclass": "gp3",
                "csi_volume_handle": draw(st.sampled_from(["", "h1"])),
                "persistentvolumeclaim_capacity_bytes": draw(st.sampled_from([0.0, GIB, 10.0 * GIB])),
                "persistentvolumeclaim_capacity_byte_seconds": draw(byte_seconds),
                "volume_request_storage_byte_seconds": draw(byte_seconds),
                "persistentvolumeclaim_usage_byte_seconds": draw(byte_seconds),
                "persistentvolume_labels": draw(label_sets),
                "persistentvolumeclaim_labels": draw(label_sets),
            }
        )
    for _ in range(draw(st.integers(0, 4))):
        day = draw(day_of)
        world.node_label_rows.append(
            {
                "interval_start": hour(day.year, day.month, day.day, draw(hours)),
                "node": draw(st.sampled_from(NODES)),
                "node_labels": draw(label_sets),
            }
        )
    for _ in range(draw(st.integers(0, 4))):
        day = draw(day_of)
        world.namespace_label_rows.append(
            {
                "interval_start": hour(day.year, day.month, day.day, draw(hours)),
                "namespace": draw(st.sampled_from(NAMESPACES)),
                "namespace_labels": draw(label_sets),
            }
        )
    world.old_pod_days = {d for d in [*days, world.outside] if draw(st.booleans())}
    world.old_storage = draw(st.booleans())
    world.split_files = draw(st.booleans())
    world.enabled_keys = draw(st.lists(st.sampled_from(ENABLEABLE), unique=True))
    world.cost_categories = draw(
        st.lists(
            st.tuples(st.sampled_from(PATTERNS), st.integers(1, 5)), max_size=3, unique_by=lambda t: t[0]
        )
    )
    world.node_roles = draw(
        st.lists(
            st.tuples(
                st.sampled_from(NODES),
                st.sampled_from(["r-n1-0", "r-n1-1", "r-n2-0", "r--0"]),
                st.sampled_from(ROLES),
            ),
            max_size=4,
        )
    )
    return world


def _put(
    root: Path,
    world: World,
    report_type: str,
    rows: list[dict[str, Any]],
    day: dt.date,
    drop: tuple[str, ...] = (),
) -> None:
    """Write rows of day's month, in one file or (split_files) two."""
    if not rows:
        return
    parts = [rows[::2], rows[1::2]] if world.split_files and len(rows) > 1 else [rows]
    for part in parts:
        write_report(
            root, ACCOUNT, SOURCE, report_type, part, year=day.year, month=day.month, drop_columns=drop
        )


def _write(root: Path, world: World) -> None:
    """Write the world's hourly rows: per day for pods (old or new style), per month for the rest.

    Rows of the day outside the range land in a month folder that is read, and must be ignored.
    """
    for day in [*world.days, world.outside]:
        rows = [r for r in world.pod_rows if r["interval_start"].date() == day]
        # an old-style file lacks the effective-usage columns (and node_role)
        old = day in world.old_pod_days
        _put(root, world, "pod_usage", rows, day, drop=(*EFFECTIVE_COLUMNS, "node_role") if old else ())
    months = {(d.year, d.month): d for d in world.days}
    for (year, month), day in months.items():

        def of_month(rows: list[dict[str, Any]], y: int = year, m: int = month) -> list[dict[str, Any]]:
            return [r for r in rows if (r["interval_start"].year, r["interval_start"].month) == (y, m)]

        storage_drop = STORAGE_OPTIONAL if world.old_storage else ()
        _put(root, world, "storage_usage", of_month(world.storage_rows), day, drop=storage_drop)
        _put(root, world, "node_labels", of_month(world.node_label_rows), day)
        _put(root, world, "namespace_labels", of_month(world.namespace_label_rows), day)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=worlds())
def test_kernel_equals_reference(world: World) -> None:
    import ocpagg

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, world)
        params: dict[str, Any] = {
            "account": ACCOUNT,
            "source_uuid": SOURCE,
            "start_date": world.days[0],
            "end_date": world.days[-1],
            "report_period_id": 3,
            "cluster_id": "cluster-h",
            "cluster_alias": None,
            "enabled_keys": tuple(world.enabled_keys),
            "cost_categories": tuple(world.cost_categories),
            "node_roles": tuple(world.node_roles),
        }
        expected = reference_table(root, **params)
        actual = ocpagg.summarize_table(str(root), **params)
        assert_tables_match(actual, expected)
