"""Shared pieces of the benchmarks: cached synthetic trees, the systems compared, peak-RSS runs, PostgreSQL.

Systems (each takes a SynthInfo and returns the number of output rows):
  ocpagg         ocpagg.summarize_table: read + aggregate into one pyarrow Table
  ocpagg-stream  ocpagg.iter_summary_batches, each day's rows dropped (the sinks' memory profile)
  duckdb         the tests' DuckDB oracle (tests/reference.py): simple on purpose, not a baseline
  duckdb-koku    koku's summary SQL rendered for DuckDB at its best settings (duckdb_koku_sql.py)
  pandas         the proof of concept's approach (benches/pandas_baseline.py, pod rows only)
  ocpagg-pg      ocpagg.run.run_summary into koku's PostgreSQL table (end to end)
  masu           ocpagg.masu.populate_line_item_daily_summary_table, as koku's worker calls it
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for _p in (REPO / "tests", HERE):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))
if importlib.util.find_spec("ocpagg") is None:  # not installed: the source tree (kernel built in place)
    sys.path.insert(0, str(REPO / "python"))

from typing import TYPE_CHECKING  # noqa: E402

import pyarrow as pa  # noqa: E402

if TYPE_CHECKING:
    from synth import SynthInfo

BENCH_DIR = Path(os.environ.get("OCPAGG_BENCH_DIR") or Path(tempfile.gettempdir()) / "ocpagg-bench")
SCHEMA = "org1234567"
REPORT_PERIOD_ID = 1
CLUSTER_ID = "bench-cluster"
_SUFFIX = {"k": 1_000, "M": 1_000_000}


def parse_size(text: str) -> int:
    """'200k', '10M' or '1500000' as a row count."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kM]?)", text.strip())
    if not m:
        raise ValueError(f"bad size {text!r}")
    return int(float(m.group(1)) * _SUFFIX.get(m.group(2), 1))


def size_label(rows: int) -> str:
    """10000000 → '10M'."""
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    if rows >= 1_000 and rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def _sizes(name: str, default: str) -> list[int]:
    return [parse_size(s) for s in os.environ.get(name, default).split(",") if s.strip()]


def rounds(pod_rows: int, small: int, large: int) -> int:
    """More rounds for small inputs, fewer for large ones."""
    return small if pod_rows <= 2_000_000 else large


# Pod-row sizes of the timing benches and of the peak-RSS runs.
SIZES = _sizes("OCPAGG_BENCH_SIZES", "1M,10M")
MEMORY_SIZES = _sizes("OCPAGG_BENCH_MEMORY_SIZES", "1M,10M,50M")
# The cluster whose month is repeated over more months for the flat-memory check (same rows per day).
FLAT_BASE = parse_size(os.environ.get("OCPAGG_BENCH_FLAT_BASE", "10M"))


def tree_folder(pod_rows: int, *, days: int | None = None, months: int = 1) -> Path:
    """Where ``tree`` keeps that tree."""
    return BENCH_DIR / f"p{pod_rows}_d{days or 'all'}_m{months}"


def tree(pod_rows: int, *, days: int | None = None, months: int = 1, workers: int = 2) -> SynthInfo:
    """A synthetic tree of about ``pod_rows`` pod rows, generated once and cached under BENCH_DIR.

    ``months`` > 1 spreads the rows over consecutive months of one cluster (the same pods per hour),
    so the per-day size stays that of a one-month tree of ``pod_rows / months`` rows.
    """
    from synth import write_cluster_month

    folder = tree_folder(pod_rows, days=days, months=months)
    marker = folder / "info.pkl"
    if marker.exists():
        with marker.open("rb") as fh:
            return pickle.load(fh)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    infos = []
    year, month = 2026, 1 if months > 1 else 8
    pods_per_hour = None
    for i in range(months):
        m = month + i
        info = write_cluster_month(
            folder,
            year=year + (m - 1) // 12,
            month=(m - 1) % 12 + 1,
            pod_rows=pod_rows // months,
            days=days,
            pods_per_hour=pods_per_hour,
            workers=workers,
        )
        pods_per_hour = info.pods_per_hour
        infos.append(info)
    info = infos[0]
    if months > 1:
        info = replace(
            info,
            days=tuple(d for i in infos for d in i.days),
            rows={k: sum(i.rows[k] for i in infos) for k in info.rows},
            files={k: sum(i.files[k] for i in infos) for k in info.files},
            bytes_written=sum(i.bytes_written for i in infos),
        )
    with marker.open("wb") as fh:
        pickle.dump(info, fh)
    return info


# ---- the systems --------------------------------------------------------------------------------


def _kwargs(info: SynthInfo) -> dict[str, Any]:
    return {"report_period_id": REPORT_PERIOD_ID, "cluster_id": CLUSTER_ID, **info.summarize_kwargs()}


# Bytes of the last Table a system returned (what summarize_table holds at its end), for runner.py.
LAST_RESULT_BYTES: dict[str, int] = {}


def run_ocpagg(info: SynthInfo) -> int:
    import ocpagg

    table = ocpagg.summarize_table(info.root, **_kwargs(info))
    LAST_RESULT_BYTES["ocpagg"] = table.get_total_buffer_size()
    return table.num_rows


def run_params(info: SynthInfo) -> Any:
    from ocpagg import ReferenceData, RunParameters

    return RunParameters(
        root=info.root,
        account=info.account,
        source_uuid=info.source_uuid,
        start_date=info.start_date,
        end_date=info.end_date,
        report_period_id=REPORT_PERIOD_ID,
        cluster_id=CLUSTER_ID,
        reference=ReferenceData(info.enabled_keys, info.cost_categories, info.node_roles),
    )


def run_ocpagg_stream(info: SynthInfo) -> int:
    from ocpagg import iter_summary_batches

    rows = 0
    for _, batch in iter_summary_batches(run_params(info)):
        rows += batch.num_rows
        del batch  # a streaming consumer keeps no day's rows while the next is aggregated
    return rows


def run_duckdb(info: SynthInfo) -> int:
    """The tests' oracle (tests/reference.py): simple on purpose, not a tuned baseline."""
    from reference import reference_table

    return reference_table(info.root, **_kwargs(info)).num_rows


def run_duckdb_koku(info: SynthInfo) -> int:
    """koku's summary SQL rendered for DuckDB at its best settings (benches/duckdb_koku_sql.py)."""
    from duckdb_koku_sql import koku_sql_table

    return koku_sql_table(info.root, **_kwargs(info)).num_rows


def run_pandas(info: SynthInfo) -> int:
    from pandas_baseline import pandas_pod_rows

    return len(pandas_pod_rows(info.root, **info.summarize_kwargs()))


def run_ocpagg_pg(info: SynthInfo, url: str) -> int:
    from ocpagg.run import run_summary

    # run_summary reads the reference rows from the database (prepare_database put the tree's there).
    return run_summary(run_params(info), db=url, schema=SCHEMA).rows


def run_masu(info: SynthInfo, url: str) -> int:
    """koku's MASU call (the report period must exist: prepare_database adds it)."""
    from ocpagg.masu import populate_line_item_daily_summary_table
    from ocpagg.storage import filesystem_for

    return populate_line_item_daily_summary_table(
        SCHEMA,
        info.start_date,
        info.end_date,
        REPORT_PERIOD_ID,
        CLUSTER_ID,
        CLUSTER_ID,
        info.source_uuid,
        database=url,
        storage=filesystem_for(info.root),
    ).rows


def run_decode_floor(info: SynthInfo) -> int:
    """The decode floor (benches/decode_floor.py): the row groups and columns ocpagg reads, decoded only."""
    from decode_floor import decode_floor, month_units

    units = month_units(info.root, info.account, info.source_uuid, info.start_date, info.end_date)
    return decode_floor(units)


SYSTEMS: dict[str, Callable[[SynthInfo], int]] = {
    "floor": run_decode_floor,
    "ocpagg": run_ocpagg,
    "ocpagg-stream": run_ocpagg_stream,
    "duckdb": run_duckdb,
    "duckdb-koku": run_duckdb_koku,
    "pandas": run_pandas,
}


# ---- the kernel alone -----------------------------------------------------------------------------


@dataclass
class LoadedDays:
    """Every day's input batches held in memory, in the order the pipeline pushes them."""

    days: list[tuple[dt.date, list[tuple[str, pa.RecordBatch]]]]
    rows: dict[str, int]


def load_batches(info: SynthInfo) -> LoadedDays:
    """Read the tree's batches exactly as ocpagg's reader yields them, into memory."""
    from ocpagg.layout import list_month_files
    from ocpagg.reader import iter_day_batches, open_report_file
    from ocpagg.storage import filesystem_for
    from ocpagg.summarize import month_ranges

    fs, base = filesystem_for(info.root)
    order = ("node_labels", "namespace_labels", "pod_usage", "storage_usage")
    out: list[tuple[dt.date, list[tuple[str, pa.RecordBatch]]]] = []
    rows = dict.fromkeys(order, 0)
    for year, month, days in month_ranges(info.start_date, info.end_date):
        files = list_month_files(fs, base, info.account, info.source_uuid, year, month)
        reports = {rt: [open_report_file(fs, p, rt, days) for p in files[rt]] for rt in order}
        for day in days:
            batches = []
            for rt in order:
                for report in reports[rt]:
                    for batch in iter_day_batches(fs, report, day):
                        batches.append((rt, batch))
                        rows[rt] += batch.num_rows
            out.append((day, batches))
    return LoadedDays(out, rows)


def run_kernel(info: SynthInfo, loaded: LoadedDays) -> int:
    """Push every loaded day through a DayAggregator and finish it; output rows."""
    from ocpagg import ReferenceData, _kernel
    from ocpagg.summarize import kernel_config

    config = kernel_config(ReferenceData(info.enabled_keys, info.cost_categories, info.node_roles))
    total = 0
    for day, batches in loaded.days:
        agg = _kernel.DayAggregator(config, day)
        for rt, batch in batches:
            getattr(agg, f"push_{rt}")(batch)
        total += agg.finish(
            report_period_id=REPORT_PERIOD_ID,
            cluster_id=CLUSTER_ID,
            cluster_alias=None,
            source_uuid=info.source_uuid,
        ).num_rows
    return total


# ---- timing and peak RSS ----------------------------------------------------------------------------


def interleaved_medians(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds of each function over ``rounds`` rounds, run in turn so noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


@dataclass(frozen=True)
class ChildRun:
    """One system run in a fresh process: wall seconds inside the child, its peak RSS, output rows."""

    system: str
    seconds: float
    max_rss_mb: float
    rows: int
    result_mb: float = 0.0  # the returned Table's buffers (ocpagg), 0 when the rows are not kept
    memory: dict[str, Any] | None = None  # the split of a "+profile" run (runner.MemorySampler)
    cpu_seconds: float = 0.0  # the child's CPU time (all threads) over the same span as ``seconds``


def _child_pythonpath() -> str:
    """PYTHONPATH for a child that imports the same ocpagg as this process (installed, snapshot or tree)."""
    spec = importlib.util.find_spec("ocpagg")
    parts = [os.environ.get("PYTHONPATH", "")]
    if spec is not None and spec.submodule_search_locations:
        parts.append(str(Path(next(iter(spec.submodule_search_locations))).parent))
    return os.pathsep.join(p for p in parts if p)


def run_child(
    system: str,
    info: SynthInfo,
    *,
    pg_url: str | None = None,
    timeout: float = 3600,
    env: dict[str, str] | None = None,
) -> ChildRun:
    """Run ``system`` on ``info`` in a new Python process and take its peak RSS (VmHWM at exit).

    ``system`` + "+profile" also samples the memory split (runner.MemorySampler).
    """
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
        pickle.dump(info, fh)
        info_path = fh.name
    out_path = info_path + ".json"
    cmd = [sys.executable, str(HERE / "runner.py"), system, info_path, out_path]
    if pg_url:
        cmd.append(pg_url)
    env = {**os.environ, **(env or {}), "PYTHONPATH": _child_pythonpath()}
    try:
        proc = subprocess.Popen(cmd, env=env)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise TimeoutError(f"{system} took over {timeout}s")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"{system} failed with exit status {proc.returncode} (see its stderr above)")
        result = json.loads(Path(out_path).read_text())
    finally:
        for p in (info_path, out_path):
            Path(p).unlink(missing_ok=True)
    # VmHWM of the child's own address space; wait4's ru_maxrss would also count the parent's
    # resident pages copied at fork (the maximum is kept across exec), so it serves as a fallback only.
    peak_kb = result.get("vmhwm_kb") or usage.ru_maxrss
    return ChildRun(
        system,
        result["seconds"],
        peak_kb / 1024.0,
        result["rows"],
        result.get("result_bytes", 0) / 2**20,
        result.get("memory"),
        result.get("cpu_seconds", 0.0),
    )


# ---- PostgreSQL --------------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalPostgres:
    """A throwaway PostgreSQL cluster on a local port (or the server of $OCPAGG_BENCH_PG_URL)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.dir: Path | None = None
        self.url = os.environ.get("OCPAGG_BENCH_PG_URL", "")

    def _as_owner(self, *args: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def start(self) -> str:
        if self.url:
            return self.url
        for tool in ("initdb", "pg_ctl"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} not found")
        self.dir = Path(tempfile.mkdtemp(prefix="ocpagg-bench-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> str:
        assert self.dir is not None
        data = self.dir / "data"
        subprocess.run(
            self._as_owner("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"),
            check=True,
            capture_output=True,
        )
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c shared_buffers=256MB"
        subprocess.run(
            self._as_owner("pg_ctl", "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start"),
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        return self.url

    def stop(self) -> None:
        if self.dir is None:
            return
        if not (self.dir / "data" / "postmaster.pid").exists():
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
            return
        subprocess.run(
            self._as_owner("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


def _execute(url: str, statements: list[tuple[str, list[Any]]]) -> list[Any]:
    import adbc_driver_postgresql.dbapi as pg

    out = []
    with pg.connect(url) as conn:
        with conn.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql, parameters=params or None)
                out.append(cur.fetchall() if cur.description else None)
        conn.commit()
    return out


def prepare_database(url: str, info: SynthInfo) -> None:
    """koku's tables for SCHEMA with the tree's reference rows (tag keys, cost categories, nodes)."""
    from ocpagg.sinks import init_db

    init_db(url, SCHEMA)
    s = SCHEMA
    statements: list[tuple[str, list[Any]]] = [
        (
            f"INSERT INTO {s}.reporting_tenant_api_provider (uuid, name, type) "
            "VALUES ($1::uuid, 'bench', 'OCP') ON CONFLICT DO NOTHING",
            [info.source_uuid],
        ),
        (
            f"INSERT INTO {s}.reporting_ocp_clusters (cluster_id, cluster_alias, provider_id) "
            "VALUES ($1, $1, $2::uuid) ON CONFLICT DO NOTHING",
            [CLUSTER_ID, info.source_uuid],
        ),
        (f"DELETE FROM {s}.reporting_ocp_nodes", []),
        (
            f"INSERT INTO {s}.reporting_ocpusagereportperiod (id, cluster_id, report_period_start, "
            "report_period_end, provider_id) VALUES ($1, $2, CAST($3 AS timestamptz), "
            "CAST($4 AS timestamptz), CAST($5 AS uuid)) ON CONFLICT DO NOTHING",
            [
                REPORT_PERIOD_ID,
                CLUSTER_ID,
                f"{info.year:04d}-{info.month:02d}-01 00:00:00+00",
                f"{info.year + info.month // 12:04d}-{info.month % 12 + 1:02d}-01 00:00:00+00",
                info.source_uuid,
            ],
        ),
        (f"DELETE FROM {s}.reporting_enabledtagkeys", []),
    ]
    for key in info.enabled_keys:
        statements.append(
            (
                f"INSERT INTO {s}.reporting_enabledtagkeys (key, enabled, provider_type) "
                "VALUES ($1, true, 'OCP')",
                [key],
            )
        )
    for pattern, ident in info.cost_categories:
        statements.append(
            (
                f"INSERT INTO {s}.reporting_ocp_cost_category (id, name, description, source_type, label) "
                "VALUES ($1, $2, 'bench', 'OCP', CAST('{}' AS text[])) ON CONFLICT DO NOTHING",
                [ident, f"category {ident}"],
            )
        )
        statements.append(
            (
                f"INSERT INTO {s}.reporting_ocp_cost_category_namespace (namespace, cost_category_id) "
                "VALUES ($1, $2) ON CONFLICT (namespace) "
                "DO UPDATE SET cost_category_id = EXCLUDED.cost_category_id",
                [pattern, ident],
            )
        )
    _execute(url, statements)
    rows = [(n, r, role) for n, r, role in info.node_roles]
    values = ", ".join(f"(${3 * i + 1}, ${3 * i + 2}, ${3 * i + 3})" for i in range(len(rows)))
    flat = [v for row in rows for v in row]
    _execute(
        url,
        [
            (
                f"INSERT INTO {s}.reporting_ocp_nodes (node, resource_id, node_role, cluster_id) "
                f"SELECT v.column1, v.column2, v.column3, c.uuid FROM (VALUES {values}) AS v "
                f"CROSS JOIN {s}.reporting_ocp_clusters AS c WHERE c.cluster_id = '{CLUSTER_ID}'",
                flat,
            )
        ],
    )


def empty_summary(url: str) -> None:
    """Remove every summary row (all partitions), so each round starts from the same table."""
    _execute(url, [(f"TRUNCATE {SCHEMA}.reporting_ocpusagelineitem_daily_summary", [])])


def copy_csv(table: pa.Table, path: Path) -> list[str]:
    """The summary rows as CSV for COPY (uuid filled in); the column names."""
    import pyarrow.csv as pacsv

    uuids = pa.array([str(uuid.uuid4()) for _ in range(table.num_rows)], pa.string())
    table = table.set_column(table.schema.get_field_index("uuid"), "uuid", uuids)
    pacsv.write_csv(table, path, pacsv.WriteOptions(include_header=True, quoting_style="needed"))
    return table.column_names


def plain_copy(url: str, path: Path, columns: list[str]) -> None:
    """psql's \\copy of a CSV file into koku's summary table: the floor of any writer."""
    cols = ", ".join(columns)
    cmd = (
        f"\\copy {SCHEMA}.reporting_ocpusagelineitem_daily_summary ({cols}) FROM '{path}' "
        "WITH (FORMAT csv, HEADER true)"
    )
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", cmd], check=True, capture_output=True)
