"""One day's memory in the kernel: its state after the day's pushes, and its summary rows.

    python benches/day_memory.py 10M [50M ...]

For each synthetic month (``benchlib.tree``), two mid-month days are pushed and finished in this
process; the figures are glibc's bytes in use (``mallinfo2``: the kernel allocates from the C
heap) after the pushes and after the finish, less those before the day. A day aggregated first,
untimed, leaves the thread's reused scratch buffers allocated, as a run's later days find them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
from ocpagg import ReferenceData, _kernel  # noqa: E402
from ocpagg.summarize import kernel_config  # noqa: E402
from runner import malloc_info  # noqa: E402

_MALLOC = malloc_info()


def heap_in_use() -> int:
    """Bytes the C heap has handed out (small chunks and mmapped ones)."""
    return int(_MALLOC()[0])


def measure(size: str) -> None:
    info = benchlib.tree(benchlib.parse_size(size))
    loaded = benchlib.load_batches(info)
    config = kernel_config(ReferenceData(info.enabled_keys, info.cost_categories, info.node_roles))
    constants = {
        "report_period_id": 1,
        "cluster_id": "c",
        "cluster_alias": None,
        "source_uuid": info.source_uuid,
    }

    def aggregate(day: object, batches: list) -> tuple[int, int, int, int]:
        base = heap_in_use()
        agg = _kernel.DayAggregator(config, day)
        for report_type, batch in batches:
            getattr(agg, f"push_{report_type}")(batch)
        pushed = heap_in_use() - base
        rows = agg.finish(**constants)
        return pushed, heap_in_use() - base, rows.num_rows, rows.get_total_buffer_size()

    first_day, first_batches = loaded.days[len(loaded.days) // 2 - 1]
    aggregate(first_day, first_batches)
    for day, batches in loaded.days[len(loaded.days) // 2 : len(loaded.days) // 2 + 2]:
        pushed, finished, rows, row_bytes = aggregate(day, batches)
        print(
            f"{size} {day} ({info.pods_per_hour:,} pods/hour): day state after the pushes "
            f"{pushed / 2**20:.1f} MiB; after the finish, the rows kept: {finished / 2**20:.1f} MiB; "
            f"{rows:,} rows = {row_bytes / 2**20:.1f} MiB ({row_bytes / rows:.0f} B a row)"
        )


if __name__ == "__main__":
    for size in sys.argv[1:] or ["10M"]:
        measure(size)
