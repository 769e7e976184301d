"""Session services for the end-to-end tests: a PostgreSQL server and an S3 (moto) server.

``OCPAGG_TEST_PG_URL`` and ``OCPAGG_TEST_S3_ENDPOINT`` point at running services (``.ci/run``
starts them); when unset, a throwaway PostgreSQL cluster (from a local ``pg_ctl``) and an
in-process moto server on a free loopback port are started for the session.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

import koku_ddl  # noqa: E402

S3_KEY = "testing"
S3_SECRET = "testing"
S3_REGION = "us-east-1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL: $OCPAGG_TEST_PG_URL, or a throwaway local cluster for the session."""
    env_url = os.environ.get("OCPAGG_TEST_PG_URL")
    if env_url:
        yield env_url
        return
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("set OCPAGG_TEST_PG_URL or install PostgreSQL (initdb/pg_ctl not found)")
    # Under /tmp itself: pytest's own temp folders are private to root, the server's user must reach it.
    base = Path(tempfile.mkdtemp(prefix="ocpagg-test-pg-"))
    user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "postgres" if _user_exists("postgres") else "nobody"
        shutil.chown(base, user=user)
        os.chmod(base, 0o700)
    data = base / "data"
    port = free_port()
    subprocess.run(
        _as_user([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"], user),
        check=True,
        capture_output=True,
    )
    import pgtls

    options = (
        f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        + pgtls.prepare(data, user)
    )
    subprocess.run(
        _as_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"], user),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"], user), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3 endpoint URL: $OCPAGG_TEST_S3_ENDPOINT, or an in-process moto server for the session."""
    env_endpoint = os.environ.get("OCPAGG_TEST_S3_ENDPOINT")
    if env_endpoint:
        yield env_endpoint
        return
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_env(s3_endpoint: str) -> dict[str, str]:
    """koku's S3 variables for a child process talking to the test S3 server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
    env.update(S3_ENDPOINT=s3_endpoint, S3_ACCESS_KEY=S3_KEY, S3_SECRET=S3_SECRET, S3_REGION=S3_REGION)
    return env


@pytest.fixture
def s3_env_in_process(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The same S3 variables in this process (for in-process ocpagg calls on s3:// roots)."""
    for name in [n for n in os.environ if n.startswith(("AWS_", "S3_"))]:
        monkeypatch.delenv(name)
    for name in ("S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET", "S3_REGION"):
        monkeypatch.setenv(name, s3_env[name])
    return s3_env


def _s3_client(endpoint: str):  # noqa: ANN202 - a boto3 client
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name=S3_REGION,
    )


@pytest.fixture
def s3_upload(s3_endpoint: str) -> Callable[[Path], str]:
    """``upload(local_root, accounts={}) -> "s3://bucket"``: a fresh bucket holding the local tree's files.

    ``accounts`` renames account folders of ``data/parquet/`` on the way (old name -> new name).
    """

    def upload(local_root: Path, accounts: dict[str, str] | None = None) -> str:
        client = _s3_client(s3_endpoint)
        bucket = f"koku-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=bucket)
        for path in sorted(Path(local_root).rglob("*")):
            if path.is_file():
                parts = list(path.relative_to(local_root).parts)
                if accounts and parts[:2] == ["data", "parquet"] and len(parts) > 2:
                    index = 3 if parts[2] == "daily" else 2
                    parts[index] = accounts.get(parts[index], parts[index])
                client.upload_file(str(path), bucket, "/".join(parts))
        return f"s3://{bucket}"

    return upload


@pytest.fixture
def pg_conn(pg_url: str) -> Iterator[object]:
    """An ADBC connection to the test server (closed after the test)."""
    import adbc_driver_postgresql.dbapi as pg

    conn = pg.connect(pg_url)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def pg_schema(pg_url: str, pg_conn: object) -> Iterator[str]:
    """A fresh tenant schema holding koku's tables (tests/koku_ddl.py), dropped after the test."""
    schema = f"org{uuid.uuid4().hex[:10]}"
    koku_ddl.create_schema(pg_conn, schema)
    try:
        yield schema
    finally:
        pg_conn.rollback()
        with pg_conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        pg_conn.commit()


SMALL_SOURCE = "0b6d0f1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
SMALL_ACCOUNT = "org1234567"
SMALL_YEAR, SMALL_MONTH = 2027, 1
SMALL_KEYS = ("app", "environment")
GIB = float(2**30)

# node -> (resource_id, cores, memory GiB, node labels)
SMALL_NODES = {
    "master-0": ("i-m0", 8.0, 32.0, {"node_role_kubernetes_io_master": "", "kubernetes_io_arch": "amd64"}),
    "infra-0": ("i-i0", 4.0, 16.0, {"node_role_kubernetes_io": "infra", "environment": "ops"}),
    "worker-0": ("i-w0", 16.0, 64.0, {"node_role_kubernetes_io_worker": "", "environment": "prod"}),
    "worker-1": ("i-w1", 16.0, 64.0, {"node_role_kubernetes_io_worker": "", "environment": "prod"}),
}
# (pod, namespace, node, cpu used, cpu requested, memory GiB used, labels)
SMALL_PODS = (
    ("kube-apiserver-0", "openshift-kube-apiserver", "master-0", 0.5, 1.0, 2.0, {"app": "apiserver"}),
    ("prometheus-0", "openshift-monitoring", "infra-0", 1.0, 2.0, 6.0, {"app": "prometheus"}),
    ("web-1", "app-a", "worker-0", 2.0, 1.5, 3.0, {"app": "web", "environment": "prod", "tier": "front"}),
    ("web-2", "app-a", "worker-1", 1.0, 1.5, 2.5, {"app": "web", "environment": "prod", "tier": "front"}),
    ("db-0", "app-b", "worker-1", 3.0, 4.0, 12.0, {"app": "db"}),
    ("pending-0", "app-b", "", 0.0, 0.5, 0.0, {"app": "db"}),
)


def write_small_cluster(
    root: Path, days: int = 3, extra_pod_rows: tuple[dict, ...] = (), account: str = SMALL_ACCOUNT
) -> dict:
    """A small hand-made cluster in koku's layout (one file per day and report type).

    Returns the keyword arguments of ocpagg.summarize_table (less the row constants).
    """
    import datetime as dt

    from kokudata import hour, write_report

    y, m = SMALL_YEAR, SMALL_MONTH
    for d in range(1, days + 1):
        pods, storage, nodes, namespaces = [], [], [], []
        for h in range(24):
            ts = hour(y, m, d, h)
            for name, (_rid, _cores, _mem, labels) in SMALL_NODES.items():
                nodes.append({"interval_start": ts, "node": name, "node_labels": labels})
            for ns in sorted({p[1] for p in SMALL_PODS}):
                namespaces.append(
                    {"interval_start": ts, "namespace": ns, "namespace_labels": {"environment": f"ns-{ns}"}}
                )
            for pod, ns, node, cpu, req, mem_gib, labels in SMALL_PODS:
                rid, cores, mem, _ = SMALL_NODES.get(node, ("", 0.0, 0.0, {}))
                pods.append(
                    {
                        "interval_start": ts,
                        "pod": pod,
                        "namespace": ns,
                        "node": node,
                        "resource_id": rid,
                        "pod_usage_cpu_core_seconds": cpu * 3600 * (1 + 0.01 * h),
                        "pod_request_cpu_core_seconds": req * 3600,
                        "pod_limit_cpu_core_seconds": req * 2 * 3600,
                        "pod_usage_memory_byte_seconds": mem_gib * GIB * 3600,
                        "pod_request_memory_byte_seconds": mem_gib * 1.5 * GIB * 3600,
                        "pod_limit_memory_byte_seconds": mem_gib * 2 * GIB * 3600,
                        "node_capacity_cpu_cores": cores,
                        "node_capacity_cpu_core_seconds": cores * 3600,
                        "node_capacity_memory_bytes": mem * GIB,
                        "node_capacity_memory_byte_seconds": mem * GIB * 3600,
                        "pod_effective_usage_cpu_core_seconds": max(cpu, req) * 3600,
                        "pod_effective_usage_memory_byte_seconds": mem_gib * 1.5 * GIB * 3600,
                        "pod_labels": labels,
                    }
                )
            storage.append(
                {
                    "interval_start": ts,
                    "namespace": "app-b",
                    "pod": "db-0",
                    "persistentvolumeclaim": "db-data",
                    "persistentvolume": "pv-db-data",
                    "storageclass": "gp3",
                    "csi_volume_handle": "vol-0abc",
                    "persistentvolumeclaim_capacity_bytes": 100 * GIB,
                    "persistentvolumeclaim_capacity_byte_seconds": 100 * GIB * 3600,
                    "volume_request_storage_byte_seconds": 100 * GIB * 3600,
                    "persistentvolumeclaim_usage_byte_seconds": 40 * GIB * 3600,
                    "persistentvolume_labels": {"app": "db", "storage_tier": "fast"},
                    "persistentvolumeclaim_labels": {"environment": "prod"},
                }
            )
        pods.extend(r for r in extra_pod_rows if r["interval_start"].day == d)
        for report_type, rows in (
            ("pod_usage", pods),
            ("storage_usage", storage),
            ("node_labels", nodes),
            ("namespace_labels", namespaces),
        ):
            write_report(
                root,
                account,
                SMALL_SOURCE,
                report_type,
                rows,
                year=y,
                month=m,
                file_name=f"{report_type}_{y}-{m:02d}-{d:02d}.parquet",
            )
    return {
        "account": account,
        "source_uuid": SMALL_SOURCE,
        "start_date": dt.date(y, m, 1),
        "end_date": dt.date(y, m, days),
    }


# The roles koku's get_nodes_query_sql gives the small cluster's nodes.
SMALL_ROLES = (
    ("infra-0", "i-i0", "infra"),
    ("master-0", "i-m0", "master"),
    ("worker-0", "i-w0", "worker"),
    ("worker-1", "i-w1", "worker"),
)
