"""The conversion of operator CSV reports (files, folders, payloads) to koku's Parquet layout."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import ConvertError
from ..layout import account_from_schema
from .csv_input import CsvInput, expand_inputs, line_of_bad_width, line_of_record, read_header
from .hourly import convert_batch
from .rules import REPORT_DEFS, detect_report_type
from .values import BadValue
from .writers import FLUSH_ROWS, DayWriters

LOG = logging.getLogger(__name__)

DEFAULT_BLOCK_BYTES = 2 << 20


@dataclass
class ConvertedFile:
    """What one CSV report became."""

    source: str
    report_type: str
    rows_read: int = 0
    rows_dropped: int = 0
    days: set[date] = field(default_factory=set)
    hourly_files: list[Path] = field(default_factory=list)
    daily_files: list[Path] = field(default_factory=list)


@dataclass
class ConvertResult:
    """The outcome of a :func:`convert` run."""

    root: Path
    account: str
    source_uuid: str
    files: list[ConvertedFile] = field(default_factory=list)
    skipped_empty: list[str] = field(default_factory=list)  # empty CSV files, skipped as koku does

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_written(self) -> int:
        return sum(f.rows_read - f.rows_dropped for f in self.files)

    @property
    def rows_dropped(self) -> int:
        return sum(f.rows_dropped for f in self.files)

    def rows_by_type(self) -> dict[str, int]:
        """Rows written per report type, in koku's order of the types."""
        counts: Counter[str] = Counter()
        for f in self.files:
            counts[f.report_type] += f.rows_read - f.rows_dropped
        return {name: counts[name] for name in REPORT_DEFS if name in counts}

    def days(self, report_type: str | None = None) -> list[date]:
        """The days written (for one report type, or any)."""
        found: set[date] = set()
        for f in self.files:
            if report_type is None or f.report_type == report_type:
                found |= f.days
        return sorted(found)


def _open_reader(item: CsvInput, header: list[str], block_bytes: int, bad_rows: list[object]):
    def on_invalid(row: object) -> str:
        bad_rows.append(row)
        return "error"

    return pacsv.open_csv(
        item.path,
        read_options=pacsv.ReadOptions(block_size=block_bytes, use_threads=True),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header}, strings_can_be_null=False
        ),
    )


def _convert_one(
    item: CsvInput,
    header: list[str],
    root: Path,
    account: str,
    source_uuid: str,
    block_bytes: int,
    flush_rows: int,
) -> ConvertedFile:
    if len(set(header)) != len(header):
        raise ConvertError("duplicate column names in the CSV header", path=item.label)
    report_type = detect_report_type(header)
    if report_type is None:
        raise ConvertError(
            f"unknown report header (not one of {', '.join(REPORT_DEFS)}): {','.join(header)[:200]}",
            path=item.label,
        )
    result = ConvertedFile(source=item.label, report_type=report_type)
    bad_rows: list[object] = []

    def parse_error(err: pa.ArrowInvalid) -> ConvertError:
        if bad_rows:
            line, width = line_of_bad_width(item, len(header))
            if line is not None:
                return ConvertError(f"{width} fields, expected {len(header)}", path=item.label, line=line)
        return ConvertError(f"unreadable CSV ({err})", path=item.label)

    try:
        reader = _open_reader(item, header, block_bytes, bad_rows)
    except pa.ArrowInvalid as err:
        raise parse_error(err) from err
    writers = DayWriters(root, account, source_uuid, report_type, item.tag, flush_rows=flush_rows)
    offset = 0
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as err:
                raise parse_error(err) from err
            try:
                table, dropped = convert_batch(report_type, batch)
            except BadValue as bad:
                line = line_of_record(item, offset + bad.index)
                raise ConvertError(
                    f"column {bad.column}: malformed timestamp {bad.value!r}", path=item.label, line=line
                ) from None
            offset += batch.num_rows
            result.rows_read += batch.num_rows
            result.rows_dropped += dropped
            writers.add(table)
        writers.flush()
        result.daily_files = writers.write_daily()
    except BaseException:
        for path in writers.written() + result.daily_files:  # a failed CSV leaves no partial files
            path.unlink(missing_ok=True)
        raise
    if result.rows_dropped:
        LOG.warning("%s: dropped %d rows over koku's thresholds", item.label, result.rows_dropped)
    for day, paths in sorted(writers.paths.items()):
        result.days.add(day)
        result.hourly_files.extend(paths)
    return result


def convert(
    inputs: Iterable[str | Path] | str | Path,
    output: str | Path,
    *,
    schema: str,
    source_uuid: str,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    flush_rows: int = FLUSH_ROWS,
) -> ConvertResult:
    """Convert operator CSV reports (files, directories, ``.tar.gz`` payloads) to koku's layout.

    Writes ``{output}/data/parquet/{account}/OCP/{type}/source={uuid}/year=/month=/`` (hourly)
    and the same under ``data/parquet/daily/`` (koku's daily pre-aggregation), one file per
    input CSV and day (hourly rows in files of about ``flush_rows`` rows, read in blocks of
    ``block_bytes``). An empty CSV (no header) is skipped with a warning, as koku does; any
    other unreadable report stops the run with a :class:`~ocpagg.errors.ConvertError`.
    Rerunning with the same inputs replaces the files it wrote before.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    root = Path(output)
    account = account_from_schema(schema)
    result = ConvertResult(root=root, account=account, source_uuid=str(source_uuid))
    with ExitStack() as temps:  # payloads' extracted files live until the run ends
        items = expand_inputs(inputs, temps)
        if not items:
            raise ConvertError("no CSV report found in the inputs")
        for item in items:
            header = read_header(item)
            if header is None:
                LOG.warning("%s: empty file, skipped", item.label)
                result.skipped_empty.append(item.label)
                continue
            LOG.info("converting %s", item.label)
            converted = _convert_one(item, header, root, account, str(source_uuid), block_bytes, flush_rows)
            result.files.append(converted)
    return result
