"""S3 as fast as disk? The same month read from local disk and from S3 with 20 ms added to every request.

    python benches/bench_s3.py [--size 1M] [--rounds 5] [--delay-ms 20] [--json OUT]

moto's S3 server and the delaying proxy (``delay_proxy.py``) run in child processes, so this
process only reads and aggregates. The tree is uploaded to a bucket once; then, interleaved:
**disk** = ``iter_summary_batches`` on the local files; **S3 cold** = the same on ``s3://`` through
the proxy with an empty footer cache and a new filesystem (what a fresh worker does); **S3 warm** =
the same with the footers cached (``ocpagg.reader.FOOTERS``, kept by file version across the calls
of a process, as koku's 5-day windows of a month reuse them). Requests counted at the proxy are
not needed: every request pays the delay, so time is what counts. moto and the proxy share the
machine's two cores with the reader: their CPU seconds are reported beside (a real S3 costs none).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import benchlib  # noqa: E402
from delay_proxy import DelayProxy, MotoServer  # noqa: E402

BUCKET = "ocpagg-bench"
KEY, SECRET, REGION = "bench-key", "bench-secret", "us-east-1"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _child_cpu(pid: int) -> float:
    """CPU seconds a child process (moto, the proxy) has used: they share this machine's cores."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def upload(info: Any, endpoint: str) -> None:
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET, region_name=REGION
    )
    s3.create_bucket(Bucket=BUCKET)
    root = Path(info.root)
    for path in sorted(root.rglob("*.parquet")):
        s3.upload_file(str(path), BUCKET, str(path.relative_to(root)))


def storage(endpoint: str) -> Any:
    from ocpagg.storage import S3Storage

    return S3Storage(BUCKET, endpoint_url=endpoint, access_key=KEY, secret_key=SECRET, region=REGION)


def run(size: str, rounds: int, delay_ms: float) -> dict[str, Any]:
    from ocpagg import iter_summary_batches
    from ocpagg.memory import use_lean_allocator
    from ocpagg.reader import FOOTERS

    use_lean_allocator()
    info = benchlib.tree(benchlib.parse_size(size))
    local_params = benchlib.run_params(info)
    with MotoServer() as moto:
        upload(info, moto.url)
        with DelayProxy(f"127.0.0.1:{moto.port}", delay_ms) as proxy:
            s3 = storage(proxy.url)
            warm_fs = s3.filesystem()

            def disk() -> int:
                return sum(b.num_rows for _, b in iter_summary_batches(local_params))

            def s3_cold() -> int:
                FOOTERS.clear()
                params = replace(local_params, root=s3.root, filesystem=s3.filesystem())
                return sum(b.num_rows for _, b in iter_summary_batches(params))

            def s3_warm() -> int:
                params = replace(local_params, root=s3.root, filesystem=warm_fs)
                return sum(b.num_rows for _, b in iter_summary_batches(params))

            systems = {"disk": disk, "s3-cold": s3_cold, "s3-warm": s3_warm}
            rows = {name: fn() for name, fn in systems.items()}  # warm-up (page cache, imports, footers)
            if len(set(rows.values())) != 1:
                raise AssertionError(f"different rows: {rows}")
            wall: dict[str, list[float]] = {n: [] for n in systems}
            cpu: dict[str, list[float]] = {n: [] for n in systems}
            server: dict[str, list[float]] = {n: [] for n in systems}

            def servers() -> float:
                return _child_cpu(moto.proc.pid) + _child_cpu(proxy.proc.pid)

            for _ in range(rounds):
                for name, fn in systems.items():
                    w, c, sc = time.perf_counter(), _cpu(), servers()
                    fn()
                    wall[name].append(time.perf_counter() - w)
                    cpu[name].append(_cpu() - c)
                    server[name].append(servers() - sc)
    out = {
        "kind": "s3",
        "pod_rows": info.pod_rows,
        "files": sum(info.files.values()),
        "delay_ms": delay_ms,
        "rounds": rounds,
        "output_rows": next(iter(rows.values())),
        "wall": {n: statistics.median(v) for n, v in wall.items()},
        "cpu": {n: statistics.median(v) for n, v in cpu.items()},
        "server_cpu": {n: statistics.median(v) for n, v in server.items()},
    }
    out["ratio_cold"] = out["wall"]["s3-cold"] / out["wall"]["disk"]
    out["ratio_warm"] = out["wall"]["s3-warm"] / out["wall"]["disk"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1M")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--label", help="what was measured (e.g. the commit), kept in the JSON")
    args = parser.parse_args()
    result = run(args.size, args.rounds, args.delay_ms)
    if args.label:
        result["label"] = args.label
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
