"""koku's Parquet layout (SPEC §1): where each source's report files live."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
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
    """A listed file and its version (ETag on S3, mtime and size on disk): a footer cache key.

    ``size`` (bytes, from the listing) lets the reader fetch a remote footer in one ranged GET.
    """

    path: str
    version: str
    size: int | None = None


def _version(info: dict[str, Any]) -> str:
    etag = info.get("ETag") or info.get("etag")
    if etag:
        return str(etag)
    return f"{info.get('mtime') or info.get('LastModified') or ''}:{info.get('size', '')}"


def _size(info: dict[str, Any]) -> int | None:
    size = info.get("size")
    return int(size) if isinstance(size, int) and size >= 0 else None


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """Whether ``fs`` is the local disk (read natively by pyarrow, with no request latency)."""
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol


def list_month_entries(
    fs: fsspec.AbstractFileSystem, base: str, account: str, source_uuid: str, year: int, month: int
) -> dict[str, list[FileEntry]]:
    """The hourly Parquet files of a source and month per report type, sorted by path, with versions.

    The four folders are listed at once on a remote store (one request each).
    """

    def listing(report_type: str) -> list[FileEntry]:
        folder = month_dir(base, account, report_type, source_uuid, year, month)
        try:
            infos = fs.ls(folder, detail=True, refresh=True)
        except FileNotFoundError:
            infos = []
        return sorted(
            (
                FileEntry(str(i["name"]), _version(i), _size(i))
                for i in infos
                if str(i["name"]).endswith(".parquet")
            ),
            key=lambda e: e.path,
        )

    if is_local(fs):
        return {rt: listing(rt) for rt in REPORT_TYPES}
    with ThreadPoolExecutor(len(REPORT_TYPES), thread_name_prefix="ocpagg-list") as pool:
        return dict(zip(REPORT_TYPES, pool.map(listing, REPORT_TYPES), strict=True))


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
