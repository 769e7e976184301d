"""The Hive twin: the run's rows as Parquet in the layout of koku's Trino table (SPEC §3).

``{root}/data/{schema}.db/reporting_ocpusagelineitem_daily_summary/source=/year=/month=/day=``,
month and day not padded, without all_labels, with csi_volume_handle.

Each day is staged out of readers' sight — a hidden ``.ocpagg-staging-<run>`` folder of the
source (Hive and Trino skip names starting with a dot) — and published only after the database
commit:

* on a local disk, the staged day folder and the live one are exchanged in one atomic
  ``renameat2(RENAME_EXCHANGE)``, so a kill at any moment leaves each day with either its old
  files or its new ones, never both and never a partial file;
* on S3, each staged object is copied to its new name beside the old objects of the day, then the
  old objects are deleted: both are visible for the time between that copy and that delete, a
  few requests per day.

A failed run (or a failed write, a full disk) removes what it staged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import errno
import os
import uuid

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from ..logs import get_logger
from ..schema import KERNEL_SCHEMA
from ..storage import filesystem_for
from .seed import SUMMARY_TABLE

LOG = get_logger(__name__)

STAGING_PREFIX = ".ocpagg-staging-"

# Trino's CREATE TABLE of the Hive table: int for the two ids, no all_labels, partition columns as folders.
HIVE_SCHEMA = pa.schema(
    [
        pa.field(f.name, pa.int32() if f.name in ("report_period_id", "cost_category_id") else f.type)
        for f in KERNEL_SCHEMA
        if f.name != "all_labels"
    ]
)


def source_dir(base: str, schema: str, source_uuid: str) -> str:
    """The folder of one source's partitions."""
    return f"{base}/data/{schema}.db/{SUMMARY_TABLE}/source={source_uuid}"


def day_part(day: dt.date) -> str:
    """A day's partition path below the source (month and day not zero-padded, as Trino writes them)."""
    return f"year={day.year}/month={day.month}/day={day.day}"


def day_dir(base: str, schema: str, source_uuid: str, day: dt.date) -> str:
    """The partition folder of one day."""
    return f"{source_dir(base, schema, source_uuid)}/{day_part(day)}"


def to_hive(batch: pa.RecordBatch) -> pa.Table:
    """Kernel rows in the Hive table's columns and types."""
    table = pa.Table.from_batches([batch], schema=KERNEL_SCHEMA)
    return table.select(HIVE_SCHEMA.names).cast(HIVE_SCHEMA)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: str, b: str) -> None:
    """Swap two existing paths atomically (Linux renameat2 with RENAME_EXCHANGE)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    renameat2 = libc.renameat2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), a)


class HiveWriter:
    """Stages each day's rows as one file; ``publish`` swaps them in, ``abort`` removes them."""

    def __init__(
        self, root: str, schema: str, source_uuid: str, fs: fsspec.AbstractFileSystem | None = None
    ) -> None:
        self.fs, self.base = filesystem_for(root, fs)
        self.schema = schema
        self.source_uuid = source_uuid
        self.run_id = uuid.uuid4().hex
        self.source = source_dir(self.base, schema, source_uuid)
        self.staging = f"{self.source}/{STAGING_PREFIX}{self.run_id}"
        self.local = "file" in _protocols(self.fs)
        self.staged: dict[dt.date, str] = {}
        self.published: list[str] = []
        self._remove_stale()

    def _remove_stale(self) -> None:
        """Remove staging folders a killed run left behind (hidden from readers, never published)."""
        try:
            names = self.fs.ls(self.source, detail=False, refresh=True)
        except FileNotFoundError:
            return
        for name in names:
            if name.rstrip("/").rsplit("/", 1)[-1].startswith(STAGING_PREFIX):
                LOG.info("removing the staging folder of an interrupted run: %s", name)
                self.fs.rm(name, recursive=True)

    def file_name(self) -> str:
        return f"ocpagg_{self.run_id}.parquet"

    def write(self, day: dt.date, batch: pa.RecordBatch) -> None:
        """Stage one day's rows out of readers' sight."""
        folder = f"{self.staging}/{day_part(day)}"
        path = f"{folder}/{self.file_name()}"
        self.fs.makedirs(folder, exist_ok=True)
        self.staged[day] = path
        with self.fs.open(path, "wb") as handle:
            pq.write_table(to_hive(batch), handle)

    def publish(self) -> list[str]:
        """Make the staged days the live ones; the partition folders published."""
        for day in sorted(self.staged):
            live = day_dir(self.base, self.schema, self.source_uuid, day)
            if self.local:
                self._publish_local(day, live)
            else:
                self._publish_object_store(day, live)
            self.published.append(live)
        self._remove_staging()
        LOG.info("Hive twin: %d day partitions published", len(self.published))
        return list(self.published)

    def _publish_local(self, day: dt.date, live: str) -> None:
        staged_dir = f"{self.staging}/{day_part(day)}"
        os.makedirs(os.path.dirname(live), exist_ok=True)
        if not os.path.exists(live):
            os.rename(staged_dir, live)  # atomic: readers see no folder, then the new one
            return
        try:
            exchange(staged_dir, live)  # the old files now sit in the hidden staging folder
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.EINVAL, errno.EXDEV):
                raise
            # No RENAME_EXCHANGE here: move the old folder aside, then the new one in.
            aside = f"{staged_dir}.old"
            os.rename(live, aside)
            os.rename(staged_dir, live)
            LOG.warning("renameat2 unavailable (%s): day %s swapped in two renames", exc, day)

    def _publish_object_store(self, day: dt.date, live: str) -> None:
        staged = self.staged[day]
        target = f"{live}/{self.file_name()}"
        try:
            old = [n for n in self.fs.ls(live, detail=False, refresh=True) if n != target]
        except FileNotFoundError:
            old = []
        self.fs.copy(staged, target)
        if old:
            self.fs.rm(old)

    def _remove_staging(self) -> None:
        try:
            self.fs.rm(self.staging, recursive=True)
        except FileNotFoundError:
            pass

    def abort(self) -> None:
        """Remove everything this run staged; the live days stay as they were."""
        try:
            self._remove_staging()
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the run's own error
            LOG.warning("could not remove Hive staging folder %s: %s", self.staging, exc)
        self.staged.clear()


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
