"""Child process of benchlib.run_child: run one system once; write {seconds, rows, vmhwm_kb} as JSON.

Usage: python benches/runner.py SYSTEM INFO_PICKLE OUT_JSON [PG_URL]
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402


def _vmhwm_kb() -> int:
    """This process's peak RSS (VmHWM). Unlike ru_maxrss it starts at exec, not at the parent's fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main(argv: list[str]) -> int:
    system, info_path, out_path = argv[:3]
    with open(info_path, "rb") as fh:
        info = pickle.load(fh)
    if system.startswith("ocpagg"):
        from ocpagg.reader import use_lean_allocator

        use_lean_allocator()  # as `python -m ocpagg` does
    start = time.perf_counter()
    if system == "ocpagg-pg":
        rows = benchlib.run_ocpagg_pg(info, argv[3])
    else:
        rows = benchlib.SYSTEMS[system](info)
    seconds = time.perf_counter() - start
    result = {"seconds": seconds, "rows": rows, "vmhwm_kb": _vmhwm_kb()}
    result["result_bytes"] = benchlib.LAST_RESULT_BYTES.get(system, 0)
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
