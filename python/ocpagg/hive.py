"""The Hive twin: the run's rows as Parquet in the layout of koku's Trino table (SPEC §3).

``{root}/data/{schema}.db/reporting_ocpusagelineitem_daily_summary/source=/year=/month=/day=``,
month and day not padded, without all_labels, with csi_volume_handle. Each processed day's folder is
replaced: new files are written next to the old ones and the old ones removed only on ``commit``;
``abort`` removes the new ones.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

from .schema import KERNEL_SCHEMA
from .sink import SUMMARY_TABLE
from .storage import filesystem_for

LOG = logging.getLogger(__name__)

# Trino's CREATE TABLE of the Hive table: int for the two ids, no all_labels, partition columns as folders.
HIVE_SCHEMA = pa.schema(
    [
        pa.field(f.name, pa.int32() if f.name in ("report_period_id", "cost_category_id") else f.type)
        for f in KERNEL_SCHEMA
        if f.name != "all_labels"
    ]
)


def day_dir(base: str, schema: str, source_uuid: str, day: dt.date) -> str:
    """The partition folder of one day (month and day not zero-padded, as Trino writes them)."""
    return (
        f"{base}/data/{schema}.db/{SUMMARY_TABLE}/source={source_uuid}"
        f"/year={day.year}/month={day.month}/day={day.day}"
    )


def to_hive(batch: pa.RecordBatch) -> pa.Table:
    """Kernel rows in the Hive table's columns and types."""
    table = pa.Table.from_batches([batch], schema=KERNEL_SCHEMA)
    return table.select(HIVE_SCHEMA.names).cast(HIVE_SCHEMA)


class HiveWriter:
    """Writes each day's rows as one file and swaps them in on commit."""

    def __init__(self, root: str, schema: str, source_uuid: str) -> None:
        self.fs, self.base = filesystem_for(root)
        self.schema = schema
        self.source_uuid = source_uuid
        self.run_id = uuid.uuid4().hex
        self.written: dict[dt.date, str] = {}

    def write(self, day: dt.date, batch: pa.RecordBatch) -> None:
        folder = day_dir(self.base, self.schema, self.source_uuid, day)
        path = f"{folder}/ocpagg_{self.run_id}.parquet"
        self.fs.makedirs(folder, exist_ok=True)
        with self.fs.open(path, "wb") as handle:
            pq.write_table(to_hive(batch), handle)
        self.written[day] = path

    def commit(self) -> None:
        """Remove the processed days' older files, leaving this run's."""
        for day, path in self.written.items():
            folder = day_dir(self.base, self.schema, self.source_uuid, day)
            try:
                names = self.fs.ls(folder, detail=False, refresh=True)
            except FileNotFoundError:
                names = []
            mine = path.rsplit("/", 1)[-1]
            old = [n for n in names if n.rsplit("/", 1)[-1] != mine]
            if old:
                self.fs.rm(old)
        LOG.info("Hive twin: %d day partitions written", len(self.written))

    def abort(self) -> None:
        """Remove the files this run wrote."""
        for path in self.written.values():
            try:
                self.fs.rm(path)
            except FileNotFoundError:
                pass
        self.written.clear()
