"""``python -m ocpagg convert``: its arguments, and one summary line on success."""

from __future__ import annotations

import argparse

from .pipeline import ConvertResult, convert


def add_convert_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``convert`` on the ``python -m ocpagg`` sub-command parser."""
    parser = subparsers.add_parser(
        "convert",
        help="convert operator CSV reports to koku's Parquet layout",
        description="Convert koku-metrics-operator CSV reports (files, directories, .tar.gz payloads) "
        "to koku's hourly and daily Parquet trees under --output. Empty CSV files are skipped "
        "with a warning, as koku does.",
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="CSV file (.csv, .csv.gz), directory, or .tar.gz payload"
    )
    parser.add_argument(
        "--output",
        required=True,
        metavar="ROOT",
        help="root of the Parquet layout (data/parquet/... below it)",
    )
    parser.add_argument(
        "--schema", required=True, help="tenant schema (e.g. org1234567 or acct10001); gives the account path"
    )
    parser.add_argument("--source", required=True, metavar="UUID", help="source (provider) UUID")
    parser.set_defaults(func=run_convert)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def summary_line(result: ConvertResult) -> str:
    """One line: files converted, rows per report type, output root, and what was skipped or dropped."""
    rows = ", ".join(f"{name} {_count(count, 'row')}" for name, count in result.rows_by_type().items())
    line = f"converted {_count(len(result.files), 'file')} ({rows or 'no rows'}) into {result.root}"
    if result.rows_dropped:
        line += f"; dropped {_count(result.rows_dropped, 'row')} over koku's thresholds"
    if result.skipped_empty:
        names = ", ".join(result.skipped_empty)
        line += f"; skipped {_count(len(result.skipped_empty), 'empty file')}: {names}"
    return line


def run_convert(args: argparse.Namespace) -> int:
    """Run ``convert`` from parsed arguments and print its summary; errors are raised, not printed."""
    result = convert(args.inputs, args.output, schema=args.schema, source_uuid=args.source)
    print(summary_line(result))
    return 0
