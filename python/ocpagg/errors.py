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
