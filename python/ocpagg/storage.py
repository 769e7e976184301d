"""The filesystem behind an input root: s3fs for ``s3://`` roots, the local disk otherwise."""

from __future__ import annotations

import os
from typing import Any

import fsspec

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


def s3_options() -> dict[str, Any]:
    """s3fs keyword arguments from koku's S3_* variables, falling back to the AWS ones."""
    options: dict[str, Any] = {}
    key, secret = _first_env(_S3_ENV["key"]), _first_env(_S3_ENV["secret"])
    if key and secret:
        options.update(key=key, secret=secret)
    client_kwargs: dict[str, Any] = {}
    endpoint = _first_env(_S3_ENV["endpoint"])
    if endpoint:
        if "://" not in endpoint:
            endpoint = f"https://{endpoint}"
        client_kwargs["endpoint_url"] = endpoint
    region = _first_env(_S3_ENV["region"])
    if region:
        client_kwargs["region_name"] = region
    if client_kwargs:
        options["client_kwargs"] = client_kwargs
    return options


def filesystem_for(root: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem holding ``root`` and the root's path within it (no scheme, no trailing slash)."""
    if root.startswith("s3://") or root.startswith("s3a://"):
        fs = fsspec.filesystem("s3", **s3_options())
        return fs, root.split("://", 1)[1].rstrip("/")
    if root.startswith("file://"):
        root = root[len("file://") :]
    fs = fsspec.filesystem("file")
    return fs, os.path.abspath(root).rstrip("/") or "/"
