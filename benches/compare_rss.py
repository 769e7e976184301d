"""Peak memory of ``ocpagg compare`` on a large cluster-month (not a test gate; run it by hand).

    python benches/compare_rss.py [--pods-per-hour 15000] [--days 31] [--keep DIR]

It writes a synthetic cluster-month (benches/synth.py), starts a throwaway PostgreSQL with koku's
tables, fills koku's table and a shadow table with ``ocpagg summarize`` (koku's side stands in for
what Trino wrote), then runs ``ocpagg compare`` both ways under ``/usr/bin/time -v`` — against the
shadow table (both sides read from the database) and against ``--input`` (ocpagg's side computed
from the files) — over the first week and over the whole month, and prints each run's peak RSS.
Memory holds one day of each side, so the week and the month should need about the same.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib  # noqa: F401 - puts tests/ and the package on sys.path
import koku_ddl
import synth

SCHEMA = "org7654321"
SOURCE = "3c0f4a7e-9b7e-4d35-9c3e-5a0b6ad1c001"
CLUSTER = "rss-cluster"
PERIOD = 1
YEAR, MONTH = 2027, 1


def _env() -> dict[str, str]:
    env = dict(os.environ)
    python = str(Path(__file__).resolve().parents[1] / "python")
    env["PYTHONPATH"] = os.pathsep.join([python, *filter(None, [env.get("PYTHONPATH")])])
    return env


def _run(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``python -m ocpagg ARGS`` under /usr/bin/time -v: (process, peak RSS MiB, seconds)."""
    started = time.monotonic()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "ocpagg", *args],
        env=_env(),
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    rss = int(found.group(1)) / 1024 if found else float("nan")
    return proc, rss, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pods-per-hour", type=int, default=15000, help="cluster size (default: %(default)s)"
    )
    parser.add_argument("--days", type=int, default=31, help="days of the month (default: %(default)s)")
    parser.add_argument("--keep", default=None, help="write the files under this folder and keep them")
    args = parser.parse_args()

    work = Path(args.keep or tempfile.mkdtemp(prefix="ocpagg-compare-rss-"))
    root = work / "root"
    started = time.monotonic()
    info = synth.write_cluster_month(
        root,
        account=SCHEMA,
        source_uuid=SOURCE,
        year=YEAR,
        month=MONTH,
        days=args.days,
        pods_per_hour=args.pods_per_hour,
        workers=2,
    )
    print(f"wrote {info.pod_rows:,} hourly pod rows in {time.monotonic() - started:.0f}s", flush=True)

    server = benchlib.LocalPostgres()
    url = server.start()
    try:
        import adbc_driver_postgresql.dbapi as pg

        conn = pg.connect(url)
        koku_ddl.create_schema(conn, SCHEMA)
        koku_ddl.add_report_period(
            conn, SCHEMA, period_id=PERIOD, cluster_id=CLUSTER, source_uuid=SOURCE, year=YEAR, month=MONTH
        )
        koku_ddl.enable_keys(conn, SCHEMA, list(synth.ENABLED_KEYS))
        koku_ddl.add_nodes(conn, SCHEMA, SOURCE, CLUSTER, list(info.node_roles))
        conn.close()
        end = f"{YEAR:04d}-{MONTH:02d}-{args.days:02d}"
        common = [
            "--schema", SCHEMA, "--source", SOURCE, "--start", f"{YEAR:04d}-{MONTH:02d}-01",
            "--report-period-id", str(PERIOD), "--cluster-id", CLUSTER, "--db", url,
        ]  # fmt: skip
        for extra in ([], ["--shadow-table", "ocpagg_shadow"]):
            proc, rss, seconds = _run(["summarize", "--input", str(root), *common, "--end", end, *extra])
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
            print(
                f"summarize {' '.join(extra) or '(koku table)'}: {proc.stdout.strip()} [{rss:.0f} MiB]",
                flush=True,
            )
        week = f"{YEAR:04d}-{MONTH:02d}-{min(7, args.days):02d}"
        for side in (["--shadow-table", "ocpagg_shadow"], ["--input", str(root)]):
            for last in (week, end):
                proc, rss, seconds = _run(["compare", *common, "--end", last, *side])
                total = re.search(r"^total\s+(\d+)", proc.stdout, re.MULTILINE)
                print(
                    f"compare {side[0]} ..{last}: exit {proc.returncode}, "
                    f"{int(total.group(1)) if total else '?':,} rows matched a side, "
                    f"peak RSS {rss:.0f} MiB, {seconds:.0f}s",
                    flush=True,
                )
                if proc.returncode != 0:
                    print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
