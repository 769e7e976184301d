"""The filesystem behind an input root: s3fs for ``s3://`` roots, the local disk otherwise.

The command line takes S3 settings from the environment (koku's ``S3_*`` variables, then the AWS
ones). koku's MASU passes them explicitly as an ``S3Storage`` (koku holds them in its Clowder
configuration, and its pods' ``AWS_*`` variables belong to another account): nothing is then read
from the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import fsspec

from .errors import ConfigError

# koku's variables first, then the standard AWS ones.
_S3_ENV = {
    "endpoint": ("S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "key": ("S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
    "secret": ("S3_SECRET", "AWS_SECRET_ACCESS_KEY"),
    "region": ("S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
}


def _first_env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _first_env_named(names: tuple[str, ...]) -> tuple[str, str] | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return name, value
    return None


def mask(value: str, shown: int = 4) -> str:
    """A credential for display: its first characters (at most a third of it), then ``***``."""
    return value[: min(shown, len(value) // 3)] + "***"


def describe_s3_settings() -> dict[str, str]:
    """The S3 settings the command line would use, each with the variable it came from; keys masked."""
    described: dict[str, str] = {}
    for setting, names in _S3_ENV.items():
        found = _first_env_named(names)
        if found is None:
            described[setting] = "not set" + (" (AWS default chain)" if setting in ("key", "secret") else "")
            continue
        name, value = found
        if setting == "endpoint":
            value = _endpoint(value)
        elif setting in ("key", "secret"):
            value = mask(value, 4 if setting == "key" else 0)
        described[setting] = f"{value} (from {name})"
    return described


def _endpoint(value: str) -> str:
    return value if "://" in value else f"https://{value}"


def s3_options() -> dict[str, Any]:
    """s3fs keyword arguments from koku's S3_* variables, falling back to the AWS ones."""
    options: dict[str, Any] = {}
    key, secret = _first_env(_S3_ENV["key"]), _first_env(_S3_ENV["secret"])
    if key and secret:
        options.update(key=key, secret=secret)
    client_kwargs: dict[str, Any] = {}
    endpoint = _first_env(_S3_ENV["endpoint"])
    if endpoint:
        client_kwargs["endpoint_url"] = _endpoint(endpoint)
    region = _first_env(_S3_ENV["region"])
    if region:
        client_kwargs["region_name"] = region
    if client_kwargs:
        options["client_kwargs"] = client_kwargs
    # the reader fetches footers and column chunks concurrently (ocpagg.reader.REMOTE_THREADS)
    options["config_kwargs"] = {"max_pool_connections": 32}
    return options


@dataclass(frozen=True)
class S3Storage:
    """Explicit S3 settings: the bucket koku writes its Parquet files to, and how to reach it.

    ``verify`` is True, False, or the path of a CA bundle. Timeouts are seconds; ``retries`` the
    number of attempts botocore makes. Nothing is taken from environment variables.
    """

    bucket: str
    endpoint_url: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    region: str | None = None
    verify: bool | str = True
    connect_timeout: float | None = None
    read_timeout: float | None = None
    retries: int | None = None

    def __post_init__(self) -> None:
        if not self.bucket or "/" in self.bucket.strip("/"):
            raise ConfigError(f"bad S3 bucket name {self.bucket!r}")
        if (self.access_key is None) != (self.secret_key is None):
            raise ConfigError("S3Storage needs both access_key and secret_key, or neither")

    @property
    def root(self) -> str:
        return f"s3://{self.bucket.strip('/')}"

    def __repr__(self) -> str:  # never show the secret
        return (
            f"S3Storage(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r}, "
            f"access_key={'***' if self.access_key else None}, region={self.region!r})"
        )

    def filesystem(self) -> fsspec.AbstractFileSystem:
        """An s3fs filesystem built from these settings alone."""
        client_kwargs: dict[str, Any] = {"region_name": self.region or "us-east-1", "verify": self.verify}
        if self.endpoint_url:
            client_kwargs["endpoint_url"] = _endpoint(self.endpoint_url)
        # the reader fetches footers and column chunks concurrently (ocpagg.reader.REMOTE_THREADS)
        config_kwargs: dict[str, Any] = {"ignore_configured_endpoint_urls": True, "max_pool_connections": 32}
        if self.connect_timeout is not None:
            config_kwargs["connect_timeout"] = self.connect_timeout
        if self.read_timeout is not None:
            config_kwargs["read_timeout"] = self.read_timeout
        if self.retries is not None:
            config_kwargs["retries"] = {"max_attempts": int(self.retries), "mode": "standard"}
        options: dict[str, Any] = {
            "client_kwargs": client_kwargs,
            "config_kwargs": config_kwargs,
            "skip_instance_cache": True,
        }
        if self.access_key is not None:
            options.update(key=self.access_key, secret=self.secret_key)
        else:
            options["anon"] = True
        return fsspec.filesystem("s3", **options)


def filesystem_for(
    root: str, fs: fsspec.AbstractFileSystem | None = None
) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem holding ``root`` and the root's path within it (no scheme, no trailing slash).

    With ``fs`` given (an explicit configuration), that filesystem is used; otherwise ``s3://``
    roots get s3fs configured from the environment, anything else the local disk.
    """
    if fs is not None:
        path = root.split("://", 1)[1] if "://" in root else root
        return fs, path.rstrip("/") or "/"
    if root.startswith("s3://") or root.startswith("s3a://"):
        return fsspec.filesystem("s3", **s3_options()), root.split("://", 1)[1].rstrip("/")
    if root.startswith("file://"):
        root = root[len("file://") :]
    return fsspec.filesystem("file"), os.path.abspath(root).rstrip("/") or "/"
