"""Remote reads against the S3 server: requests per file, and the same rows whichever way bytes came."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import ocpagg
import pyarrow as pa
import pytest
import s3fs
from compare import assert_tables_match
from conftest import write_small_cluster
from ocpagg import reader
from ocpagg.reader import FOOTERS, FooterCache
from ocpagg.storage import s3_options

CONSTANTS = {"report_period_id": 7, "cluster_id": "c-1", "cluster_alias": "one"}


class CountingS3(s3fs.S3FileSystem):
    """s3fs as ocpagg uses it, noting each object read (path, start, end) it sends to the server."""

    cachable = False  # a fresh instance (and fresh counts) each time

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.reads: list[tuple[str, int | None, int | None]] = []

    async def _cat_file(self, path: str, version_id: Any = None, start: Any = None, end: Any = None) -> Any:
        self.reads.append((path, start, end))
        return await super()._cat_file(path, version_id=version_id, start=start, end=end)


def _summary(root: str, kw: dict[str, Any], fs: Any = None) -> pa.Table:
    params = ocpagg.RunParameters(root=root, **kw, **CONSTANTS, filesystem=fs)
    batches = [batch for _, batch in ocpagg.iter_summary_batches(params)]
    return pa.Table.from_batches(batches)


def _run_kw(kw: dict[str, Any]) -> dict[str, Any]:
    fields = {f.name for f in dataclasses.fields(ocpagg.RunParameters)}
    return {k: v for k, v in kw.items() if k in fields and k != "root"}


@pytest.fixture
def uploaded(tmp_path: Path, s3_upload: Any, s3_env_in_process: Any) -> tuple[str, dict[str, Any], pa.Table]:
    """The small cluster on S3, its run arguments, and its rows computed from local disk."""
    kw = write_small_cluster(tmp_path / "in", days=2)
    bucket = s3_upload(tmp_path / "in")
    run_kw = _run_kw(kw)
    return bucket, run_kw, _summary(str(tmp_path / "in"), run_kw)


def test_a_small_file_takes_one_request_and_none_once_its_footer_is_cached(
    uploaded: tuple[str, dict[str, Any], pa.Table],
) -> None:
    bucket, kw, local = uploaded
    FOOTERS.clear()
    cold = CountingS3(**s3_options())
    assert_tables_match(_summary(bucket, kw, cold), local, rel=0.0)
    per_file = Counter(path for path, _, _ in cold.reads)
    assert len(per_file) == 8, "two days of four report types, one file each"
    # Each file came whole with its footer's request (all are far below FOOTER_TAIL).
    assert set(per_file.values()) == {1}
    assert all(start == 0 for _, start, _ in cold.reads)

    warm = CountingS3(**s3_options())
    assert_tables_match(_summary(bucket, kw, warm), local, rel=0.0)
    assert warm.reads == [], "footers and the small files' bytes were kept by ETag"


def test_a_file_longer_than_the_tail_reads_its_column_chunks(
    uploaded: tuple[str, dict[str, Any], pa.Table], monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket, kw, local = uploaded
    monkeypatch.setattr(reader, "FOOTER_TAIL", 512)  # smaller than every file here
    FOOTERS.clear()
    fs = CountingS3(**s3_options())
    assert_tables_match(_summary(bucket, kw, fs), local, rel=0.0)
    per_file = Counter(path for path, _, _ in fs.reads)
    assert len(per_file) == 8
    # The tail (and the rest of a longer footer), then the chunks: never the whole file at once.
    assert min(per_file.values()) >= 2
    assert all(start is not None and start > 0 for _, start, _ in fs.reads), "no read from the file's start"


def test_whole_files_kept_are_bounded_by_bytes(uploaded: tuple[str, dict[str, Any], pa.Table]) -> None:
    bucket, _, _ = uploaded
    fs = CountingS3(**s3_options())
    files = sorted(
        (info["name"], info["size"], info["ETag"]) for info in fs.find(bucket, detail=True).values()
    )
    sizes = [size for _, size, _ in files]
    budget = sizes[1] + sizes[2]  # room for the last two of three files
    cache = FooterCache(whole_file_bytes=budget)
    for name, size, etag in files[:3]:
        cache.get(fs, name, etag, size)
    kept = [cache.whole_file(fs, name, etag) for name, _, etag in files[:3]]
    assert kept[0] is None, "the oldest went first"
    assert kept[2] == fs.cat_file(files[2][0]), "the exact bytes of the file"
    assert sum(len(k) for k in kept if k is not None) <= budget
    assert cache.whole_file(fs, files[2][0], "another-version") is None, "kept by version only"
