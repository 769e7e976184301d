"""koku's Parquet layout (SPEC §1): where each source's report files live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import fsspec

from .schema import REPORT_TYPES


def account_from_schema(schema: str) -> str:
    """koku's account path segment: the tenant schema without a leading ``acct``."""
    return schema[4:] if schema.startswith("acct") else schema


def month_dir(
    base: str, account: str, report_type: str, source_uuid: str, year: int, month: int, *, daily: bool = False
) -> str:
    """The folder of one source's hourly (or koku's daily) files of a report type and month."""
    tree = f"{base}/data/parquet/daily" if daily else f"{base}/data/parquet"
    return f"{tree}/{account}/OCP/{report_type}/source={source_uuid}/year={year:04d}/month={month:02d}"


@dataclass(frozen=True)
class FileEntry:
    """A listed file and its version (ETag on S3, mtime and size on disk): a footer cache key."""

    path: str
    version: str


def _version(info: dict[str, Any]) -> str:
    etag = info.get("ETag") or info.get("etag")
    if etag:
        return str(etag)
    return f"{info.get('mtime') or info.get('LastModified') or ''}:{info.get('size', '')}"


def list_month_entries(
    fs: fsspec.AbstractFileSystem, base: str, account: str, source_uuid: str, year: int, month: int
) -> dict[str, list[FileEntry]]:
    """The hourly Parquet files of a source and month per report type, sorted by path, with versions."""
    found: dict[str, list[FileEntry]] = {}
    for report_type in REPORT_TYPES:
        folder = month_dir(base, account, report_type, source_uuid, year, month)
        try:
            infos = fs.ls(folder, detail=True, refresh=True)
        except FileNotFoundError:
            infos = []
        found[report_type] = sorted(
            (FileEntry(str(i["name"]), _version(i)) for i in infos if str(i["name"]).endswith(".parquet")),
            key=lambda e: e.path,
        )
    return found


def list_month_files(
    fs: fsspec.AbstractFileSystem, base: str, account: str, source_uuid: str, year: int, month: int
) -> dict[str, list[str]]:
    """The hourly Parquet files of a source and month per report type, sorted by path."""
    entries = list_month_entries(fs, base, account, source_uuid, year, month)
    return {rt: [e.path for e in files] for rt, files in entries.items()}


def list_report_files(
    fs: fsspec.AbstractFileSystem,
    base: str,
    account: str,
    source_uuid: str,
    report_type: str,
    year: int,
    month: int,
    *,
    daily: bool = False,
) -> list[str]:
    """The Parquet files of any report type (gpu_usage, vm_usage too) for a source and month, sorted."""
    folder = month_dir(base, account, report_type, source_uuid, year, month, daily=daily)
    try:
        names = fs.ls(folder, detail=False, refresh=True)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.endswith(".parquet"))


def source_has_report(
    fs: fsspec.AbstractFileSystem,
    base: str,
    account: str,
    source_uuid: str,
    report_type: str,
    *,
    daily: bool = False,
) -> bool:
    """Whether a source holds a Parquet file of a report type in any month (koku's partition check)."""
    tree = f"{base}/data/parquet/daily" if daily else f"{base}/data/parquet"
    pattern = f"{tree}/{account}/OCP/{report_type}/source={source_uuid}/year=*/month=*/*.parquet"
    try:
        return bool(fs.glob(pattern))
    except FileNotFoundError:
        return False
