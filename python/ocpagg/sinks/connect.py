"""Which database a run writes to: URLs, libpq keyword strings, Django settings, ADBC connections."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

# Django DATABASES OPTIONS that libpq understands and that ocpagg passes on.
_LIBPQ_OPTIONS = (
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcrl",
    "application_name",
    "connect_timeout",
    "options",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
)

_KEYWORD_STRING = re.compile(r"^\s*[A-Za-z_]+\s*=")


def _libpq_value(value: object) -> str:
    """A value quoted for a libpq keyword string: single quotes, backslash and quote escaped."""
    text = str(value)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def django_to_libpq(settings: Mapping[str, Any]) -> str:
    """A libpq keyword string from a Django ``DATABASES`` entry (NAME, USER, PASSWORD, HOST, PORT, …)."""
    engine = str(settings.get("ENGINE", "postgresql"))
    if "postgres" not in engine:
        raise ConfigError(f"database ENGINE {engine!r} is not PostgreSQL")
    parts: dict[str, object] = {}
    for key, name in (("NAME", "dbname"), ("USER", "user"), ("PASSWORD", "password"), ("HOST", "host")):
        value = settings.get(key)
        if value not in (None, ""):
            parts[name] = value
    port = settings.get("PORT")
    if port not in (None, ""):
        parts["port"] = int(str(port))
    options = settings.get("OPTIONS") or {}
    if not isinstance(options, Mapping):
        raise ConfigError("database OPTIONS must be a mapping")
    for key, value in options.items():
        if key in _LIBPQ_OPTIONS and value not in (None, ""):
            parts[key] = value
    if "dbname" not in parts:
        raise ConfigError("database settings have no NAME")
    return " ".join(f"{k}={_libpq_value(v)}" for k, v in parts.items())


def resolve_database(database: object) -> tuple[str, Any]:
    """('postgresql', dsn), ('sqlite', path) or ('adbc', connection) for what a caller passed.

    Accepted: ``postgresql://`` URLs, libpq keyword strings (``host=… dbname=…``), Django
    ``DATABASES`` entries, ``sqlite:///path`` URLs and open ADBC connections. Other connection
    objects (psycopg2, psycopg 3, Django's wrapper) are refused: ocpagg writes through ADBC.
    """
    if isinstance(database, str):
        if database.startswith(("postgresql://", "postgres://")):
            return "postgresql", database
        if database.startswith("sqlite://"):
            return "sqlite", sqlite_path(database)
        if _KEYWORD_STRING.match(database):
            return "postgresql", database
        raise ConfigError(
            f"unsupported database URL {database.split('://', 1)[0]!r}: use postgresql://, a libpq keyword "
            "string or sqlite:///"
        )
    if isinstance(database, Mapping):
        return "postgresql", django_to_libpq(database)
    module = type(database).__module__ or ""
    if module.startswith("adbc_driver_") and hasattr(database, "adbc_get_info"):
        return "adbc", database
    raise ConfigError(
        f"unsupported connection object {module}.{type(database).__name__}: pass the database settings "
        "instead (a postgresql:// URL, a libpq keyword string or Django's DATABASES['default'] dict); "
        "ocpagg opens its own ADBC connection and transaction"
    )


def sqlite_path(url: str) -> str:
    """The file path of ``sqlite:///relative/path`` or ``sqlite:////absolute/path``."""
    rest = url[len("sqlite://") :]
    if not rest.startswith("/") or rest == "/":
        raise ConfigError(f"bad SQLite URL {url!r}: use sqlite:///relative/path or sqlite:////abs/path")
    path = rest[1:]
    if not path:
        raise ConfigError(f"bad SQLite URL {url!r}: no file path")
    return path


def describe_database(database: object) -> str:
    """Where a database setting points, without its password (for logs and ``check``)."""
    kind, target = resolve_database(database)
    if kind == "sqlite":
        return f"sqlite:///{target}"
    if kind == "adbc":
        return "an open ADBC connection"
    text = str(target)
    text = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", text)
