"""``python -m ocpagg``: summarize, init-db, demo, convert, compare — SPEC §4.

Command-line code: it parses, configures logging, prints results and turns ``OcpaggError`` into
one line on stderr and an exit status. The work is done by the library modules it calls.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import importlib.util
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from .errors import ConfigError, OcpaggError, outcome_of
from .logs import configure_cli_logging, get_logger
from .memory import use_lean_allocator
from .sinks import one_line

if TYPE_CHECKING:
    from .metrics import RunMetrics

LOG = get_logger("ocpagg.cli")

DB_ENV = "OCPAGG_DATABASE_URL"
LOG_FORMATS = ("text", "json")


DATE_HELP = "YYYY-MM-DD, or today, yesterday, today-N (UTC)"


def _date(text: str) -> dt.date:
    """A date: ISO, or relative to today in UTC (``today``, ``yesterday``, ``today-N``)."""
    today = dt.datetime.now(dt.UTC).date()
    relative = text.strip().lower()
    if relative == "today":
        return today
    if relative == "yesterday":
        return today - dt.timedelta(days=1)
    if relative.startswith("today-") and relative[len("today-") :].isdigit():
        return today - dt.timedelta(days=int(relative[len("today-") :]))
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a YYYY-MM-DD date (nor today, yesterday, today-N): {text!r}"
        ) from exc


def _add_summarize(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "summarize",
        help="summarize a source's hourly Parquet files into the daily summary",
        parents=[_verbose_parent()],
    )
    p.add_argument("--input", required=True, metavar="ROOT", help="Parquet root: s3://bucket or a directory")
    _add_tenant(p)
    _add_range(p, month=True)
    p.add_argument(
        "--report-period-id",
        required=True,
        type=_period,
        metavar="N",
        help="id of the source's reporting_ocpusagereportperiod row (koku's MASU creates it), or auto: "
        "the source's and cluster's period of each month, the range then run month by month",
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
    _add_metrics(p)


def _add_range(p: argparse.ArgumentParser, *, month: bool = False) -> None:
    """--start and --end; with ``month``, --month instead of both is allowed."""
    p.add_argument(
        "--start", required=not month, type=_date, metavar="DATE", help=f"first day, inclusive ({DATE_HELP})"
    )
    p.add_argument(
        "--end", required=not month, type=_date, metavar="DATE", help=f"last day, inclusive ({DATE_HELP})"
    )
    if month:
        p.add_argument(
            "--month",
            type=_month_offset,
            metavar="YYYY-MM[+N]",
            help="a whole month instead of --start/--end; +N: N months later (a backfill Job index)",
        )


def _period(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a report period id or auto: {text!r}") from exc


def _month_offset(text: str) -> tuple[dt.date, dt.date]:
    """(first day, last day) of ``YYYY-MM`` or of ``YYYY-MM+N`` (N months later)."""
    month, _, offset = text.partition("+")
    if offset and not offset.isdigit():
        raise argparse.ArgumentTypeError(f"not YYYY-MM or YYYY-MM+N: {text!r}")
    first = _month(month)
    index = first.year * 12 + first.month - 1 + int(offset or 0)
    first = dt.date(index // 12, index % 12 + 1, 1)
    last = dt.date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
    return first, last


def _range_of(args: argparse.Namespace) -> tuple[dt.date, dt.date]:
    """The inclusive range of --month or of --start and --end."""
    month = getattr(args, "month", None)
    if month is not None:
        if args.start is not None or args.end is not None:
            raise ConfigError("give --month or --start and --end, not both")
        return month
    if args.start is None or args.end is None:
        raise ConfigError("give --start and --end, or --month")
    return args.start, args.end


def _add_metrics(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("operations", "metrics (needs ocpagg[metrics]) and log correlation")
    g.add_argument(
        "--metrics-textfile",
        default=None,
        metavar="PATH",
        help="write the run's metrics for node-exporter's textfile collector (also when the run fails)",
    )
    g.add_argument(
        "--pushgateway",
        default=None,
        metavar="URL",
        help="push the run's metrics to a Prometheus Pushgateway",
    )
    g.add_argument(
        "--metrics-job",
        default="ocpagg",
        metavar="NAME",
        help="the Pushgateway job name (default: %(default)s)",
    )
    g.add_argument(
        "--tracing-id",
        default=None,
        metavar="ID",
        help="tracing_id of the run's log records (default: a new UUID)",
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
    _add_tenant(p)
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
    p.add_argument(
        "--metrics-textfile",
        default=None,
        metavar="PATH",
        help="write ocpagg_compare_rows{result} for node-exporter's textfile collector (atomically)",
    )


def _add_tenant(p: argparse.ArgumentParser) -> None:
    """``--schema`` and ``--source``: whose files and rows a command works on."""
    p.add_argument("--schema", required=True, help="tenant schema (acct10001, org1234567)")
    p.add_argument("--source", required=True, metavar="UUID", help="source (provider) UUID")


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


def _add_check(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check",
        help="preflight: database, report periods, input files and S3 settings; writes nothing",
        description="Exit 0 when a summarize of the range would start, 1 with one line per problem.",
        parents=[_verbose_parent()],
    )
    p.add_argument("--input", required=True, metavar="ROOT", help="Parquet root: s3://bucket or a directory")
    _add_tenant(p)
    _add_range(p)
    _add_db(p)


def _month(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{text}-01")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM month: {text!r}") from exc


def _add_verbose(p: argparse.ArgumentParser) -> None:
    """``-v`` and ``--log-format`` for a subcommand, so they work after the command's name too."""
    p.add_argument(
        "-v", "--verbose", action="count", default=0, dest="sub_verbose", help="log progress (-vv: debug)"
    )
    p.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=None,
        dest="sub_log_format",
        help="log lines as text or one JSON object a line (default: text)",
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
    parser.add_argument("--log-format", choices=LOG_FORMATS, default=None, help="text (default) or json")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_summarize(subparsers)
    _add_init_db(subparsers)
    _add_demo(subparsers)
    _add_check(subparsers)
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
    """``summarize``; with --metrics-textfile / --pushgateway the metrics are exported however it ends."""
    metrics = None
    if args.metrics_textfile or args.pushgateway:
        import prometheus_client

        from .metrics import RunMetrics

        if hasattr(prometheus_client, "disable_created_metrics"):
            prometheus_client.disable_created_metrics()  # a one-shot process: *_created is noise
        metrics = RunMetrics(prometheus_client.CollectorRegistry())
    started = time.monotonic()
    try:
        return _summarize(args, metrics)
    except BaseException as exc:
        if metrics is not None and not metrics.finished:  # refused before the run began (arguments)
            metrics.finish(outcome_of(exc), time.monotonic() - started, None)
        raise
    finally:
        if metrics is not None:
            _export_metrics(args, metrics)


def _export_metrics(args: argparse.Namespace, metrics: RunMetrics) -> None:
    """Textfile and Pushgateway; a failure is logged and does not change the run's exit status."""
    from .metrics import push, write_textfile

    succeeded = bool(metrics.outcomes) and all(o == "ok" for o in metrics.outcomes)
    if args.metrics_textfile:
        try:
            write_textfile(args.metrics_textfile, metrics.registry, succeeded=succeeded)
        except OcpaggError as exc:
            LOG.error("%s", exc)
    if args.pushgateway:
        try:
            push(args.pushgateway, args.metrics_job, metrics.registry, succeeded=succeeded)
        except OcpaggError as exc:
            LOG.error("%s", exc)


def _summarize(args: argparse.Namespace, metrics: RunMetrics | None) -> int:
    from .layout import account_from_schema
    from .params import RunParameters
    from .run import run_summary, target_table_for

    db = _db_url(args.db)
    if db is None and args.hive_output is None:
        raise ConfigError(f"no database: give --db URL or set {DB_ENV}")
    start, end = _range_of(args)
    if args.report_period_id == "auto":
        runs = _periods_by_month(db, args, start, end)
    else:
        runs = [(int(args.report_period_id), start, end)]
    tracing_id = args.tracing_id or str(uuid.uuid4())
    for period, first, last in runs:
        params = RunParameters(
            root=args.input,
            account=account_from_schema(args.schema),
            source_uuid=args.source,
            start_date=first,
            end_date=last,
            report_period_id=period,
            cluster_id=args.cluster_id,
            cluster_alias=args.cluster_alias,
        )
        progress = Progress((last - first).days + 1)
        try:
            result = run_summary(
                params,
                db=db,
                schema=args.schema,
                hive_output=args.hive_output,
                on_day=progress,
                allow_missing_days=args.allow_missing_days,
                target_table=target_table_for(args.shadow_table),
                observer=metrics,
                tracing_id=tracing_id,
            )
        finally:
            progress.close()
        target = f" into {args.shadow_table}" if args.shadow_table else ""
        which = f" (report period {period}, {first}..{last})" if len(runs) > 1 else ""
        print(
            f"{result.rows} rows written{target} for {result.days} days{which} "
            f"({result.deleted} replaced) in {result.seconds:.2f}s ({result.rows_per_second:,.0f} rows/s)"
        )
    return 0


def _periods_by_month(
    db: str | None, args: argparse.Namespace, start: dt.date, end: dt.date
) -> list[tuple[int, dt.date, dt.date]]:
    """(report period id, first, last) for each month of the range, looked up before anything runs."""
    from .errors import RefusedError
    from .params import month_ranges
    from .sinks import open_sink

    if db is None:
        raise ConfigError("--report-period-id auto needs a database")
    sink = open_sink(db, args.schema)
    try:
        runs = []
        for year, month, days in month_ranges(start, end):
            period = sink.report_period_for(args.source, args.cluster_id, dt.date(year, month, 1))
            if period is None:
                raise RefusedError(
                    f"{year:04d}-{month:02d}: source {args.source} has no report period for cluster "
                    f"{args.cluster_id} (koku's MASU creates report periods)"
                )
            runs.append((period, days[0], days[-1]))
        return runs
    finally:
        sink.rollback()
        sink.close()


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


def run_check(args: argparse.Namespace) -> int:
    """``check``: print the report; 0 when a summarize would start, 1 otherwise."""
    from .check import run_check as check

    if _db_url(args.db) is None:
        print(f"ocpagg: error: no database: give --db URL or set {DB_ENV}", file=sys.stderr)
        return 2
    report = check(
        root=args.input,
        schema=args.schema,
        source_uuid=args.source,
        start_date=args.start,
        end_date=args.end,
        db=_db_url(args.db),
    )
    print(report.render())
    for problem in report.problems:
        print(f"ocpagg: problem: {problem}", file=sys.stderr)
    return 0 if report.ok else 1


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
        if args.metrics_textfile:
            from prometheus_client import CollectorRegistry

            from .metrics import record_comparison, write_textfile

            registry = CollectorRegistry()
            record_comparison(registry, result.gauges())
            write_textfile(args.metrics_textfile, registry, succeeded=True)
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
    "check": run_check,
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
    log_format = getattr(args, "sub_log_format", None) or args.log_format or "text"
    configure_cli_logging(level, log_format)
    LOG.debug("pyarrow allocator: %s", use_lean_allocator())
    command = _COMMANDS[args.command]

    def fail(message: str) -> None:
        """One line on stderr: plain text, or a JSON record when logs are JSON."""
        if log_format == "json":
            LOG.error("%s", message)
        else:
            print(message, file=sys.stderr)

    try:
        return int(command(args))
    except OcpaggError as exc:
        fail(f"ocpagg: error: {one_line(exc)}")
        return 1
    except KeyboardInterrupt:
        fail("ocpagg: interrupted; nothing was committed")
        return 130
    except Exception as exc:  # noqa: BLE001 - any failure is one line on stderr and a non-zero exit
        LOG.debug("unexpected failure", exc_info=True)
        fail(f"ocpagg: error: {type(exc).__name__}: {one_line(exc)}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
