"""Typed errors of ocpagg; each message names the file, day, column or value at fault in one line.

Every error ocpagg raises on purpose is an ``OcpaggError``. ``database_committed`` tells a caller
with a fallback (koku's MASU) whether the database transaction had committed when the error was
raised: False means every table is exactly as before the run.
"""

from __future__ import annotations


class OcpaggError(Exception):
    """Base of every error ocpagg raises on purpose."""

    database_committed: bool = False


class InputError(OcpaggError):
    """An input file is unreadable, lacks a required column, or holds a bad value."""

    def __init__(self, path: str, reason: str, *, column: str | None = None, hour: str | None = None) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.column = column
        self.hour = hour


class ConfigError(OcpaggError):
    """An argument, connection or setting is missing or malformed."""


class RefusedError(OcpaggError):
    """The run cannot replace what koku's delete would remove, so it refused before deleting."""


class WriteError(OcpaggError):
    """The database refused or lost the rows; the run's transaction was rolled back."""

    def __init__(self, message: str, *, day: str | None = None, column: str | None = None) -> None:
        super().__init__(message)
        self.day = day
        self.column = column


class InternalError(OcpaggError):
    """A bug in ocpagg (the kernel or the pipeline), not a fault of the input or the database."""


class ConvertError(OcpaggError, ValueError):
    """An operator CSV report cannot be converted; names the file and, when known, the line."""

    def __init__(self, reason: str, path: str | None = None, line: int | None = None) -> None:
        where = path if path is None or line is None else f"{path}: line {line}"
        super().__init__(f"{where}: {reason}" if where else reason)
        self.path = path
        self.line = line
        self.reason = reason


# The outcome of a run, as metrics label it (a small fixed set): "ok" or the kind of error.
OUTCOMES = ("ok", "input_error", "config_error", "refused", "write_error", "internal_error", "interrupted")


class ComparisonError(OcpaggError):
    """A comparison (``ocpagg compare``) could not run: a side is unreadable or its arguments disagree."""


def outcome_of(exc: BaseException | None) -> str:
    """The outcome label of a run that raised ``exc`` (None: it succeeded)."""
    if exc is None:
        return "ok"
    for kind, label in (
        (InputError, "input_error"),
        (ConfigError, "config_error"),
        (RefusedError, "refused"),
        (WriteError, "write_error"),
    ):
        if isinstance(exc, kind):
            return label
    if isinstance(exc, Exception):
        return "internal_error"
    return "interrupted"  # KeyboardInterrupt, SystemExit: the run was stopped, not broken
