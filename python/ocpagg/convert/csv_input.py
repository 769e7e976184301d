"""Finding operator CSV reports in files, folders and ``.tar.gz`` payloads, and reading them."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import re
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConvertError

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class CsvInput:
    """One CSV report to convert."""

    path: Path  # a readable file (possibly extracted into a temporary directory)
    label: str  # how messages name it
    tag: str  # stable file-name tag in the output


def _is_csv(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".csv") or name.endswith(".csv.gz")


def _is_payload(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".tar.gz") or name.endswith(".tgz")


def _tag(identity: str, stem: str) -> str:
    digest = hashlib.sha1(identity.encode()).hexdigest()[:10]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:80]
    return f"{safe}.{digest}"


def _stem(path: Path) -> str:
    name = path.name
    for ext in (".csv.gz", ".csv"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return path.stem


def _skipped_by_manifest(folder: Path) -> set[str]:
    """Names a manifest.json lists as resource-optimisation (ROS) files: not cost reports."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return set()
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError) as err:
        raise ConvertError(f"unreadable manifest ({err})", path=str(manifest)) from err
    return set(data.get("resource_optimization_files") or [])


def _dir_inputs(folder: Path, temps: ExitStack, identity_base: str | None = None) -> Iterator[CsvInput]:
    for sub in sorted(p for p in folder.rglob("*") if p.is_file()):
        if _is_csv(sub):
            if sub.name in _skipped_by_manifest(sub.parent):
                LOG.info("skipping %s: a resource-optimisation report", sub)
                continue
            rel = sub.relative_to(folder).as_posix()
            identity = f"{identity_base}!{rel}" if identity_base else str(sub.resolve())
            label = f"{identity_base}!{rel}" if identity_base else str(sub)
            yield CsvInput(sub, label, _tag(identity, _stem(sub)))
        elif _is_payload(sub) and identity_base is None:
            yield from _payload_inputs(sub, temps)


def _payload_inputs(path: Path, temps: ExitStack) -> Iterator[CsvInput]:
    """The reports of an operator payload, extracted into a temporary folder ``temps`` removes."""
    folder = Path(temps.enter_context(tempfile.TemporaryDirectory(prefix="ocpagg-payload-")))
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            names = tar.getnames()
            if not any(Path(n).name == "manifest.json" for n in names):
                raise ConvertError("operator payload without manifest.json", path=str(path))
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ConvertError(f"unreadable payload ({err})", path=str(path)) from err
    found = list(_dir_inputs(folder, temps, identity_base=str(path.resolve())))
    if not found:
        LOG.warning("%s: payload holds no CSV report", path)
    yield from found


def expand_inputs(inputs: Iterable[str | Path], temps: ExitStack) -> list[CsvInput]:
    """The CSV reports of files, folders and payloads; payloads are extracted under ``temps``."""
    out: list[CsvInput] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out.extend(_dir_inputs(path, temps))
        elif path.is_file() and _is_payload(path):
            out.extend(_payload_inputs(path, temps))
        elif path.is_file() and _is_csv(path):
            out.append(CsvInput(path, str(path), _tag(str(path.resolve()), _stem(path))))
        elif path.exists():
            raise ConvertError("not a CSV report, directory or operator payload (.tar.gz)", path=str(path))
        else:
            raise ConvertError("no such file or directory", path=str(path))
    return out


def open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _is_blank(row: list[str]) -> bool:
    """A line pandas skips (and, with none other, calls the file empty): nothing or only spaces."""
    return not row or (len(row) == 1 and not row[0].strip())


def read_header(item: CsvInput) -> list[str] | None:
    """The CSV header (its first non-blank line), or None for an empty file (blank lines only)."""
    try:
        with open_text(item.path) as fh:
            for row in csv.reader(fh):
                if not _is_blank(row):
                    return row
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ConvertError(f"unreadable CSV ({err})", path=item.label) from err
    return None


def _data_rows(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """The records after the header, empty lines skipped (as the CSV reader does)."""
    header_seen = False
    for row in reader:
        if not row:
            continue
        if header_seen:
            yield row
        header_seen = True


def line_of_record(item: CsvInput, record: int) -> int | None:
    """Physical line where data record ``record`` (0-based, header excluded) ends."""
    with open_text(item.path) as fh:
        reader = csv.reader(fh)
        for seen, _ in enumerate(_data_rows(reader)):
            if seen == record:
                return reader.line_num
    return None


def line_of_bad_width(item: CsvInput, width: int) -> tuple[int | None, int | None]:
    """(line, field count) of the first record whose field count is not ``width``."""
    with open_text(item.path) as fh:
        reader = csv.reader(fh)
        for row in _data_rows(reader):
            if len(row) != width:
                return reader.line_num, len(row)
    return None, None
