"""Fixtures of the benchmarks: sizes from the environment, cached synthetic trees, a PostgreSQL server.

OCPAGG_BENCH_SIZES        pod-row sizes of the timing benches (default "1M,10M")
OCPAGG_BENCH_MEMORY_SIZES pod-row sizes of the peak-RSS runs (default "1M,10M,50M")
OCPAGG_BENCH_DIR          where generated trees are cached (default $TMPDIR/ocpagg-bench)
OCPAGG_BENCH_PG_URL       an existing PostgreSQL server to use instead of a throwaway one
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The URL of a PostgreSQL server for the session (skips when none can be started)."""
    server = benchlib.LocalPostgres()
    try:
        url = server.start()
    except Exception as exc:  # noqa: BLE001 - no server here: the PostgreSQL benches skip
        pytest.skip(f"no PostgreSQL: {exc}")
    try:
        yield url
    finally:
        server.stop()
