"""Where a run's rows go: koku's PostgreSQL tables, an embedded SQLite file, the Hive twin.

The sinks know nothing of the run (``ocpagg.run`` drives them); they import only the parameters,
the schema and the storage helpers below them.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError, WriteError
from .base import DatabaseSink, one_line, quote_ident
from .connect import resolve_database
from .seed import PLATFORM_CATEGORY, PLATFORM_NAMESPACES, SUMMARY_TABLE

__all__ = [
    "DatabaseSink",
    "SUMMARY_TABLE",
    "WriteError",
    "init_db",
    "one_line",
    "open_sink",
    "parse_db_url",
    "quote_ident",
]


def parse_db_url(url: str) -> tuple[str, str]:
    """('postgresql', dsn) or ('sqlite', path) from a URL or libpq keyword string."""
    kind, target = resolve_database(url)
    return kind, str(target)


def open_sink(database: Any, schema: str, *, target: str = SUMMARY_TABLE) -> DatabaseSink:
    """The sink for database settings (see ``resolve_database``) or an open, idle ADBC connection."""
    kind, resolved = resolve_database(database)
    if kind == "postgresql":
        from .postgres import PostgresSink

        return PostgresSink.connect(resolved, schema, target=target)
    if kind == "sqlite":
        from .sqlite import SqliteSink

        return SqliteSink.connect(resolved, target=target)
    vendor = str(resolved.adbc_get_info().get("vendor_name", "")).lower()
    sink: DatabaseSink
    if "postgres" in vendor:
        from .postgres import PostgresSink

        sink = PostgresSink(resolved, schema, owns_connection=False, target=target)
    elif "sqlite" in vendor:
        from .sqlite import SqliteSink

        sink = SqliteSink(resolved, owns_connection=False, target=target)
    else:
        raise ConfigError(f"unsupported ADBC connection to {vendor or 'an unknown database'}")
    sink.check_idle()
    return sink


def init_db(database: Any, schema: str) -> str:
    """Create koku-compatible tables if missing and seed koku's default cost category; where."""
    kind, resolved = resolve_database(database)
    if kind == "postgresql":
        from .postgres import PostgresSink, connect
        from .postgres_ddl import init_db_statements

        sink: DatabaseSink = PostgresSink(connect(resolved), schema, owns_connection=True)
        statements = init_db_statements(schema)
        where = f"schema {schema}"
    elif kind == "sqlite":
        from .sqlite import SqliteSink
        from .sqlite import connect as sqlite_connect
        from .sqlite import init_db_statements as sqlite_statements

        sink = SqliteSink(sqlite_connect(resolved, create=True), owns_connection=True)
        statements = sqlite_statements()
        where = str(resolved)
    else:
        raise ConfigError("init-db needs database settings, not an open connection")
    try:
        for statement in statements:
            sink.execute(statement)
        name, description, source_type = PLATFORM_CATEGORY
        p = sink.placeholders(4)
        empty_labels = "CAST('{}' AS text[])" if kind == "postgresql" else "'[]'"
        categories = sink.table("reporting_ocp_cost_category")
        sink.execute(
            f"INSERT INTO {categories} (name, description, source_type, system_default, label) "
            f"SELECT {p[0]}, {p[1]}, {p[2]}, true, {empty_labels} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {categories} WHERE name = {p[3]})",
            [name, description, source_type, name],
        )
        namespaces = sink.table("reporting_ocp_cost_category_namespace")
        for pattern in PLATFORM_NAMESPACES:
            p2 = sink.placeholders(3)
            sink.execute(
                f"INSERT INTO {namespaces} (namespace, system_default, cost_category_id) "
                f"SELECT {p2[0]}, true, id FROM {categories} WHERE name = {p2[1]} "
                f"AND NOT EXISTS (SELECT 1 FROM {namespaces} WHERE namespace = {p2[2]})",
                [pattern, name, pattern],
            )
        sink.commit()
    except Exception as exc:
        sink.rollback()
        raise WriteError(f"init-db {where}: {one_line(exc)}") from exc
    finally:
        sink.close()
    return where
