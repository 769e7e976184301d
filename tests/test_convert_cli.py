"""ocpagg.convert: empty CSVs skipped as koku does, the command line, errors, temporary files."""

from __future__ import annotations

import argparse
import gzip
import logging
import tempfile
from pathlib import Path

import pytest
from ocpagg.cli import main
from ocpagg.convert import ConvertError, add_convert_parser, convert
from ocpagg.errors import OcpaggError
from test_convert import FEB, JAN, POD_HEADER, SCHEMA, SOURCE, _hour, _payload, _tree, _write

NODE_HEADER = "report_period_start,report_period_end,interval_start,interval_end,node,node_labels"
NODES = (
    NODE_HEADER + "\n" + "\n".join(f"{FEB},{_hour('2027-02-05', h)},n1,label_a:1" for h in range(24)) + "\n"
)
NAMESPACES = (
    "report_period_start,report_period_end,interval_start,interval_end,namespace,namespace_labels\n"
    + "\n".join(f"{FEB},{_hour('2027-02-05', h)},ns{h % 2},label_t:x" for h in range(24))
    + "\n"
)


def test_empty_csv_in_a_payload_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {
        "r_openshift_report.0.csv": NODES,
        "r_openshift_report.1.csv": "",  # koku: "File ... is empty." and the rest is processed
        "r_openshift_report.2.csv": "\n  \n",  # blank lines only: empty for pandas too
        "r_openshift_report.3.csv": NAMESPACES,
    }
    payload = _payload(tmp_path / "payload.tar.gz", files, {})
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="ocpagg.convert"):
        result = convert([payload], out, schema=SCHEMA, source_uuid=SOURCE)
    assert [f.report_type for f in result.files] == ["node_labels", "namespace_labels"]
    assert [s.rsplit("!", 1)[1] for s in result.skipped_empty] == [
        "r_openshift_report.1.csv",
        "r_openshift_report.2.csv",
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.endswith("r_openshift_report.1.csv: empty file, skipped") for m in warnings)
    assert any(m.endswith("r_openshift_report.2.csv: empty file, skipped") for m in warnings)
    assert _tree(out, "node_labels", 2027, 2).num_rows == 24
    assert _tree(out, "namespace_labels", 2027, 2, daily=True).num_rows == 2

    argv = [
        "convert",
        str(payload),
        "--output",
        str(tmp_path / "cli"),
        "--schema",
        SCHEMA,
        "--source",
        SOURCE,
    ]
    assert main(argv) == 0
    line = capsys.readouterr().out.strip()
    assert line == (
        f"converted 2 files (node_labels 24 rows, namespace_labels 24 rows) into {tmp_path / 'cli'}; "
        f"skipped 2 empty files: {payload.resolve()}!r_openshift_report.1.csv, "
        f"{payload.resolve()}!r_openshift_report.2.csv"
    )


def test_empty_csv_files_alone(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    gz = tmp_path / "empty.csv.gz"
    gz.write_bytes(gzip.compress(b""))
    result = convert([empty, gz], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    assert (result.files, result.skipped_empty) == ([], [str(empty), str(gz)])
    assert not (tmp_path / "out").exists()
    # a header without rows is a report with no rows, not an empty file
    header_only = _write(tmp_path / "nodes.csv", NODE_HEADER, [])
    result = convert([header_only], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    assert (len(result.files), result.skipped_empty) == (1, [])


def test_summary_line_counts_rows_per_type_and_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    _write(
        tmp_path / "in" / "pods.csv",
        POD_HEADER,
        [
            f"{FEB},{_hour('2027-02-01', 0)},p1,ns1,n1,i-1,1,1,1,1,1,1,4,1,1,1,,",
            f"{FEB},{_hour('2027-02-01', 1)},p1,ns1,n1,i-1,2e18,1,1,1,1,1,4,1,1,1,,",
        ],
    )
    (tmp_path / "in" / "nodes.csv").write_text(NODES)
    (tmp_path / "in" / "z.csv").write_text("")
    out = tmp_path / "out"
    assert (
        main(["convert", str(tmp_path / "in"), "--output", str(out), "--schema", SCHEMA, "--source", SOURCE])
        == 0
    )
    assert capsys.readouterr().out.splitlines() == [
        f"converted 2 files (pod_usage 1 row, node_labels 24 rows) into {out}; "
        f"dropped 1 row over koku's thresholds; skipped 1 empty file: {tmp_path / 'in' / 'z.csv'}"
    ]


def test_every_convert_option_has_help() -> None:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers(dest="command")
    add_convert_parser(subparsers)
    convert_parser = subparsers.choices["convert"]
    actions = [a for a in convert_parser._actions if not isinstance(a, argparse._HelpAction)]
    assert {a.dest for a in actions} == {"inputs", "output", "schema", "source"}
    for action in actions:
        assert action.help and len(action.help) > 10, action.dest
    assert convert_parser.description


def test_errors_are_ocpagg_errors_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"{JAN},{_hour('2027-01-31', h)},n1," for h in range(3)]
    rows[1] = f"{JAN},2027-01-31 99:00:00 +0000 UTC,2027-01-31 01:59:59 +0000 UTC,n1,"
    path = _write(tmp_path / "nodes.csv", NODE_HEADER, rows)
    with pytest.raises(ConvertError) as caught:
        convert([path], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    err = caught.value
    assert isinstance(err, OcpaggError)
    assert (err.path, err.line) == (str(path), 3)
    assert err.reason == "column interval_start: malformed timestamp '2027-01-31 99:00:00 +0000 UTC'"
    assert str(err) == f"{path}: line 3: {err.reason}"

    argv = ["convert", str(path), "--output", str(tmp_path / "out"), "--schema", SCHEMA, "--source", SOURCE]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1] == f"ocpagg: error: {err}"

    with pytest.raises(ConvertError) as caught:
        convert([tmp_path / "nothing-here"], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    assert (caught.value.path, caught.value.line) == (str(tmp_path / "nothing-here"), None)


def test_payload_temporary_folders_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    good = _payload(tmp_path / "good.tar.gz", {"a.csv": NODES}, {})
    convert([good], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    assert list(temp_root.iterdir()) == []
    bad_rows = NODES.replace("n1,label_a:1", "n1,label_a:1,extra", 1)
    bad = _payload(tmp_path / "bad.tar.gz", {"a.csv": bad_rows}, {})
    with pytest.raises(ConvertError, match=r"bad\.tar\.gz!a\.csv: line 2: 7 fields, expected 6"):
        convert([good, bad], tmp_path / "out", schema=SCHEMA, source_uuid=SOURCE)
    assert list(temp_root.iterdir()) == []
