"""Typed errors of ocpagg; each message names the file or value at fault in one line."""

from __future__ import annotations


class OcpaggError(Exception):
    """Base of every error ocpagg raises on purpose."""


class InputError(OcpaggError):
    """An input file is unreadable, has a column of the wrong type, or holds a bad value."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ConfigError(OcpaggError):
    """An argument or environment setting is missing or malformed."""


class ConvertError(OcpaggError, ValueError):
    """An operator CSV report cannot be converted; names the file and, when known, the line."""

    def __init__(self, reason: str, path: str | None = None, line: int | None = None) -> None:
        where = path if path is None or line is None else f"{path}: line {line}"
        super().__init__(f"{where}: {reason}" if where else reason)
        self.path = path
        self.line = line
        self.reason = reason
