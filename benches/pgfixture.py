"""The session's throwaway PostgreSQL, as a pytest fixture for the bench modules that need it.

benches/ has no conftest.py, so that ``pytest tests benches/test_gates.py`` leaves the tests'
``conftest`` module alone; modules import the fixture from here instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import benchlib
import pytest


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
