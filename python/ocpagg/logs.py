"""A run's log context: ``schema``, ``source``, ``tracing_id`` and ``day`` on every ocpagg record.

The library configures no handler. Each ocpagg module takes its logger from ``get_logger``,
which adds a filter that copies the current run's context onto the records that logger makes,
so koku's handlers (or any ``%(schema)s`` format) see the fields. Outside a run they are ``""``.
The context lives in context variables: each reader task runs in a copy of it (``ocpagg.reader``), and
``set_day`` marks the day being read or written in the current thread.

``JsonFormatter`` and ``configure_cli_logging`` are for ``python -m ocpagg`` only.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any, TextIO

FIELDS = ("schema", "source", "tracing_id", "day")

_RUN: contextvars.ContextVar[tuple[str, str, str]] = contextvars.ContextVar(
    "ocpagg_run", default=("", "", "")
)
_DAY: contextvars.ContextVar[str] = contextvars.ContextVar("ocpagg_day", default="")


def context() -> dict[str, str]:
    """The current run's fields (empty strings outside a run)."""
    schema, source, tracing_id = _RUN.get()
    return {"schema": schema, "source": source, "tracing_id": tracing_id, "day": _DAY.get()}


@contextlib.contextmanager
def run_context(*, schema: str, source: str, tracing_id: str | None = None) -> Iterator[None]:
    """Tag the records logged inside the block with the run's schema, source and tracing id."""
    run_token = _RUN.set((schema, source, tracing_id or ""))
    day_token = _DAY.set("")
    try:
        yield
    finally:
        _DAY.reset(day_token)
        _RUN.reset(run_token)


def set_day(day: dt.date | None) -> None:
    """Mark the day the current thread works on (``None``: no day)."""
    _DAY.set("" if day is None else day.isoformat())


class ContextFilter(logging.Filter):
    """Adds the run's fields to a record that lacks them; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in context().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


_FILTER = ContextFilter()


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the run context filter attached (once)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message and the run fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            entry[name] = getattr(record, name, "")
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_cli_logging(level: int, log_format: str = "text", stream: TextIO | None = None) -> None:
    """The command line's root handler on stderr: text, or JSON lines for log collectors."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(ContextFilter())  # records of other libraries get the fields too
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
