"""Child process of benchlib.run_child: run one system once; write {seconds, rows, vmhwm_kb} as JSON.

Usage: python benches/runner.py SYSTEM INFO_PICKLE OUT_JSON [PG_URL]
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402


def _vmhwm_kb() -> int:
    """This process's peak RSS (VmHWM). Unlike ru_maxrss it starts at exec, not at the parent's fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks")
        + ("uordblks", "fordblks", "keepcost")
    ]


def malloc_info() -> Any:
    """glibc malloc: (bytes in use, free bytes its arenas keep); the Rust kernel, libpq, larger objects."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return lambda: (0, 0)

    def info() -> tuple[int, int]:
        m = libc.mallinfo2()
        return int(m.uordblks + m.hblkhd), int(m.fordblks)

    return info


class MemorySampler:
    """Samples RSS, the Arrow pool's bytes and malloc's bytes in use every ``period`` seconds.

    Keeps each one's peak, and the split at the moment of the RSS peak.
    """

    def __init__(self, period: float = 0.01) -> None:
        import pyarrow as pa

        self.pa = pa
        self.malloc = malloc_info()
        self.period = period
        self.stop = threading.Event()
        self.peaks: dict[str, int] = {"rss": 0, "arrow": 0, "malloc": 0, "malloc_free": 0}
        self.at_rss_peak: dict[str, int] = {}
        self.thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def sample(self) -> dict[str, int]:
        in_use, free = self.malloc()
        return {
            "rss": _rss_bytes(),
            "arrow": int(self.pa.total_allocated_bytes()),
            "malloc": in_use,
            "malloc_free": free,
        }

    def _run(self) -> None:
        while not self.stop.wait(self.period):
            now = self.sample()
            for k, v in now.items():
                self.peaks[k] = max(self.peaks[k], v)
            if now["rss"] >= self.peaks["rss"]:
                self.at_rss_peak = now

    def __enter__(self) -> MemorySampler:
        self.baseline = self.sample()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def main(argv: list[str]) -> int:
    system, info_path, out_path = argv[:3]
    with open(info_path, "rb") as fh:
        info = pickle.load(fh)
    profile = system.endswith("+profile")
    system = system.removesuffix("+profile")
    # The decode floor decodes with ocpagg's pool, as ocpagg's reader would.
    # (The MASU call picks its pool itself: koku's worker keeps pyarrow's.)
    if system.startswith("ocpagg") or system == "floor":
        from ocpagg.memory import use_lean_allocator

        use_lean_allocator()  # as `python -m ocpagg` does
        decay = os.environ.get("OCPAGG_BENCH_JEMALLOC_DECAY_MS")  # experiments on the pool's page reuse
        if decay:
            import pyarrow as pa

            pa.jemalloc_set_decay_ms(int(decay))
    if system == "masu":  # imports before the baseline, as a worker has them loaded
        import ocpagg.masu  # noqa: F401
        import ocpagg.sinks.postgres  # noqa: F401
    trace = profile and os.environ.get("OCPAGG_TRACEMALLOC") == "1"
    if trace:
        import tracemalloc

        tracemalloc.start()
    sampler = MemorySampler() if profile else None
    if sampler is not None:
        sampler.__enter__()
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        if system == "ocpagg-pg":
            rows = benchlib.run_ocpagg_pg(info, argv[3])
        elif system == "masu":
            rows = benchlib.run_masu(info, argv[3])
        else:
            rows = benchlib.SYSTEMS[system](info)
    finally:
        if sampler is not None:
            sampler.__exit__()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    result: dict[str, Any] = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rows": rows,
        "vmhwm_kb": _vmhwm_kb(),
    }
    result["result_bytes"] = benchlib.LAST_RESULT_BYTES.get(system, 0)
    if sampler is not None:
        import pyarrow as pa

        result["memory"] = {
            "baseline": sampler.baseline,
            "peaks": sampler.peaks,
            "at_rss_peak": sampler.at_rss_peak,
            "arrow_pool_max": int(pa.default_memory_pool().max_memory() or 0),
            "arrow_pool": pa.default_memory_pool().backend_name,
        }
    if trace:
        import tracemalloc

        current, peak = tracemalloc.get_traced_memory()
        top = tracemalloc.take_snapshot().statistics("filename")[:8]
        result.setdefault("memory", {})["tracemalloc"] = {
            "peak": peak,
            "current": current,
            "top_at_end": [(str(s.traceback), s.size) for s in top],
        }
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
