"""``python -m ocpagg``: summarize, init-db, demo, convert, compare — SPEC §4.

Command-line code: it parses, configures logging, prints results and turns ``OcpaggError`` into
one line on stderr and an exit status. The work is done by the library modules it calls.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from .errors import ConfigError, OcpaggError
from .reader import use_lean_allocator
from .sinks import one_line

LOG = logging.getLogger("ocpagg.cli")

DB_ENV = "OCPAGG_DATABASE_URL"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def _add_summarize(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "summarize",
        help="summarize a source's hourly Parquet files into the daily summary",
        parents=[_verbose_parent()],
    )
    p.add_argument("--input", required=True, metavar="ROOT", help="Parquet root: s3://bucket or a directory")
    p.add_argument("--schema", required=True, help="tenant schema (acct10001, org1234567)")
    p.add_argument("--source", required=True, metavar="UUID", help="source (provider) UUID")
    p.add_argument("--start", required=True, type=_date, metavar="YYYY-MM-DD", help="first day (inclusive)")
    p.add_argument("--end", required=True, type=_date, metavar="YYYY-MM-DD", help="last day (inclusive)")
    p.add_argument(
        "--report-period-id",
        required=True,
        type=int,
        metavar="N",
        help="id of the source's reporting_ocpusagereportperiod row (koku's MASU creates it)",
    )
    p.add_argument("--cluster-id", required=True, metavar="ID", help="the OpenShift cluster id of the source")
    p.add_argument("--cluster-alias", default=None, metavar="NAME", help="the cluster's display name")
    _add_db(p)
    p.add_argument("--hive-output", default=None, metavar="ROOT", help="also write the Hive twin under ROOT")
    p.add_argument(
        "--allow-missing-days",
        action="store_true",
        help="replace the rows of days that have no pod_usage input with nothing (refused by default)",
    )
    p.add_argument(
        "--shadow-table",
        default=None,
        metavar="NAME",
        help="write a table of the same shape (created if missing) instead of koku's, for a parallel run",
    )


def _add_compare(subparsers: argparse._SubParsersAction) -> None:
    from .compare.columns import describe_columns
    from .compare.run import DEFAULT_ATOL, DEFAULT_MAX_ROWS, DEFAULT_RTOL

    p = subparsers.add_parser(
        "compare",
        help="compare koku's summary rows with ocpagg's, day by day (the parallel run)",
        description=(
            "Compare the rows koku (Trino) wrote into reporting_ocpusagelineitem_daily_summary with "
            "ocpagg's: a shadow table ocpagg wrote (--shadow-table) or rows computed from the Parquet "
            "files (--input; nothing is written). Exit status: 0 equal, 1 differences found, 2 the "
            "comparison could not run."
        ),
        epilog="compared columns: " + describe_columns(),
        parents=[_verbose_parent()],
    )
    p.add_argument("--schema", required=True, help="tenant schema (acct10001, org1234567)")
    p.add_argument("--source", required=True, metavar="UUID", help="source (provider) UUID")
    p.add_argument("--start", required=True, type=_date, metavar="YYYY-MM-DD", help="first day (inclusive)")
    p.add_argument("--end", required=True, type=_date, metavar="YYYY-MM-DD", help="last day (inclusive)")
    p.add_argument(
        "--report-period-id",
        required=True,
        type=int,
        metavar="N",
        help="id of the source's reporting_ocpusagereportperiod row; only its rows are compared",
    )
    p.add_argument("--cluster-id", required=True, metavar="ID", help="the OpenShift cluster id of the source")
    p.add_argument(
        "--cluster-alias",
        default=None,
        metavar="NAME",
        help="the cluster's display name, for rows computed with --input (default: the report period's)",
    )
    _add_db(p)
    side = p.add_mutually_exclusive_group(required=True)
    side.add_argument(
        "--input",
        default=None,
        metavar="ROOT",
        help="compute ocpagg's rows from this Parquet root (s3://bucket or a directory)",
    )
    side.add_argument(
        "--shadow-table",
        default=None,
        metavar="NAME",
        help="read ocpagg's rows from this shadow table of the schema",
    )
    p.add_argument(
        "--rtol",
        type=float,
        default=DEFAULT_RTOL,
        metavar="X",
        help="relative tolerance of the numbers (default: %(default)g)",
    )
    p.add_argument(
        "--atol",
        type=float,
        default=DEFAULT_ATOL,
        metavar="X",
        help="absolute tolerance of the numbers near zero (default: %(default)g, a unit of numeric(33,15))",
    )
    p.add_argument("--json", default=None, metavar="PATH", help="also write the report as JSON to PATH")
    p.add_argument(
        "--html",
        default=None,
        metavar="PATH",
        help="also write a self-contained HTML page to PATH (needs ocpagg[report])",
    )
    p.add_argument(
        "--max-rows",
        type=int,
        default=DEFAULT_MAX_ROWS,
        metavar="N",
        help="differing rows shown and written to the JSON and HTML reports (default: %(default)s)",
    )


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help=f"postgresql://…, a libpq keyword string, or sqlite:///path (default ${DB_ENV})",
    )


def _add_init_db(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "init-db",
        help="create koku-compatible tables if missing (and register a source's report period)",
        parents=[_verbose_parent()],
    )
    _add_db(p)
    p.add_argument("--schema", default="org1234567", help="tenant schema (PostgreSQL) (default: %(default)s)")
    g = p.add_argument_group(
        "registering a source",
        "create the provider, cluster and report period koku's MASU would (all four needed)",
    )
    g.add_argument("--register-source", default=None, metavar="UUID", help="source (provider) UUID")
    g.add_argument("--cluster-id", default=None, metavar="ID", help="the source's OpenShift cluster id")
    g.add_argument("--cluster-alias", default=None, metavar="NAME", help="the cluster's display name")
    g.add_argument(
        "--report-period-id", default=None, type=int, metavar="N", help="id of the new report period"
    )
    g.add_argument("--month", default=None, type=_month, metavar="YYYY-MM", help="the report period's month")


def _month(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{text}-01")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM month: {text!r}") from exc


def _add_verbose(p: argparse.ArgumentParser) -> None:
    """``-v`` for a subcommand, so it works after the command's name too."""
    p.add_argument(
        "-v", "--verbose", action="count", default=0, dest="sub_verbose", help="log progress (-vv: debug)"
    )


def _verbose_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    _add_verbose(parent)
    return parent


def _add_demo(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo", help="summarize a sample cluster-month into SQLite and print it", parents=[_verbose_parent()]
    )
    p.add_argument(
        "--keep", metavar="DIR", default=None, help="write the sample files and database under DIR"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocpagg", description="koku's OpenShift daily usage summary from koku's Parquet files."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log progress (-vv: debug)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_summarize(subparsers)
    _add_init_db(subparsers)
    _add_demo(subparsers)
    _add_compare(subparsers)
    from .convert import add_convert_parser

    add_convert_parser(subparsers)
    _add_verbose(subparsers.choices["convert"])
    from .queries.cli import add_parser as add_query_parsers

    add_query_parsers(subparsers)
    return parser


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()

    def __call__(self, day: dt.date) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / self.total)
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} days"
            f"  {day}  {elapsed:5.1f}s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


def _db_url(value: str | None) -> str | None:
    return value or os.environ.get(DB_ENV) or None


def run_summarize(args: argparse.Namespace) -> int:
    from .layout import account_from_schema
    from .params import RunParameters
    from .run import run_summary, target_table_for

    db = _db_url(args.db)
    if db is None and args.hive_output is None:
        raise ConfigError(f"no database: give --db URL or set {DB_ENV}")
    params = RunParameters(
        root=args.input,
        account=account_from_schema(args.schema),
        source_uuid=args.source,
        start_date=args.start,
        end_date=args.end,
        report_period_id=args.report_period_id,
        cluster_id=args.cluster_id,
        cluster_alias=args.cluster_alias,
    )
    progress = Progress((args.end - args.start).days + 1)
    try:
        result = run_summary(
            params,
            db=db,
            schema=args.schema,
            hive_output=args.hive_output,
            on_day=progress,
            allow_missing_days=args.allow_missing_days,
            target_table=target_table_for(args.shadow_table),
        )
    finally:
        progress.close()
    target = f" into {args.shadow_table}" if args.shadow_table else ""
    print(
        f"{result.rows} rows written{target} for {result.days} days "
        f"({result.deleted} replaced) in {result.seconds:.2f}s ({result.rows_per_second:,.0f} rows/s)"
    )
    return 0


def run_init_db(args: argparse.Namespace) -> int:
    from .sinks import init_db, open_sink

    db = _db_url(args.db)
    if db is None:
        raise ConfigError(f"no database: give --db URL or set {DB_ENV}")
    registration = (args.register_source, args.cluster_id, args.report_period_id, args.month)
    if any(v is not None for v in registration) and any(v is None for v in registration):
        raise ConfigError(
            "registering a source needs --register-source, --cluster-id, --report-period-id and --month"
        )
    where = init_db(db, args.schema)
    print(f"tables ready in {where}")
    if args.register_source is not None:
        sink = open_sink(db, args.schema)
        try:
            created = sink.register_report_period(
                report_period_id=args.report_period_id,
                source_uuid=args.register_source,
                cluster_id=args.cluster_id,
                cluster_alias=args.cluster_alias,
                month_start=args.month,
            )
            sink.commit()
        except BaseException:
            sink.rollback()
            raise
        finally:
            sink.close()
        state = "registered" if created else "already registered"
        print(f"report period {args.report_period_id} ({args.month:%Y-%m}) of {args.register_source} {state}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo as demo

    print(demo(keep=args.keep))
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from .convert import run_convert as convert

    return convert(args)


def run_query(args: argparse.Namespace) -> int:
    from .queries.cli import run

    return run(args)


# Exit statuses of ``compare``.
COMPARE_EQUAL, COMPARE_DIFFERENT, COMPARE_ERROR = 0, 1, 2


def run_compare(args: argparse.Namespace) -> int:
    """Compare, print the report, write the JSON/HTML files; 0 equal, 1 differences, 2 could not run."""
    from .compare.report import format_text, write_json
    from .compare.run import CompareRequest, compare_summaries

    try:
        db = _db_url(args.db)
        if db is None:
            raise ConfigError(f"no database: give --db URL or set {DB_ENV}")
        request = CompareRequest(
            db=db,
            schema=args.schema,
            source_uuid=args.source,
            start_date=args.start,
            end_date=args.end,
            report_period_id=args.report_period_id,
            cluster_id=args.cluster_id,
            cluster_alias=args.cluster_alias,
            input_root=args.input,
            shadow_table=args.shadow_table,
            rtol=args.rtol,
            atol=args.atol,
            max_rows=args.max_rows,
        )
        if args.html and importlib.util.find_spec("matplotlib") is None:  # fail before comparing
            raise ConfigError("--html needs matplotlib: pip install 'ocpagg[report]'")
        result = compare_summaries(request)
        print(format_text(result), end="")
        if args.json:
            write_json(result, args.json)
        if args.html:
            from .compare.html import write_html

            write_html(result, args.html)
    except OcpaggError as exc:
        print(f"ocpagg: error: {one_line(exc)}", file=sys.stderr)
        return COMPARE_ERROR
    except Exception as exc:  # noqa: BLE001 - any failure to compare is one line and status 2
        LOG.debug("comparison failed", exc_info=True)
        print(f"ocpagg: error: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return COMPARE_ERROR
    return COMPARE_EQUAL if result.equal else COMPARE_DIFFERENT


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "summarize": run_summarize,
    "init-db": run_init_db,
    "demo": run_demo,
    "convert": run_convert,
    "cluster-info": run_query,
    "gpu-summary": run_query,
    "compare": run_compare,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; the exit status (0 only when the command fully succeeded)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = args.verbose + getattr(args, "sub_verbose", 0)
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    LOG.debug("pyarrow allocator: %s", use_lean_allocator())
    command = _COMMANDS[args.command]
    try:
        return int(command(args))
    except OcpaggError as exc:
        print(f"ocpagg: error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ocpagg: interrupted; nothing was committed", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - any failure is one line on stderr and a non-zero exit
        LOG.debug("unexpected failure", exc_info=True)
        print(f"ocpagg: error: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
