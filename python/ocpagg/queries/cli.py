"""``python -m ocpagg cluster-info`` and ``gpu-summary``: SPEC §6 and §7 into koku's tables.

``add_parser(subparsers)`` registers both commands; ``run(args)`` runs the one parsed. Errors are
raised as ``OcpaggError`` for ``ocpagg.cli.main`` to print as one line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os

from ..errors import ConfigError

DB_ENV = "OCPAGG_DATABASE_URL"
COMMANDS = ("cluster-info", "gpu-summary")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-v", "--verbose", action="count", default=0, dest="sub_verbose", help="log progress (-vv: debug)"
    )
    p.add_argument("--input", required=True, metavar="ROOT", help="Parquet root: s3://bucket or a directory")
    p.add_argument("--schema", required=True, help="tenant schema (acct10001, org1234567)")
    p.add_argument("--source", required=True, metavar="UUID", help="source (provider) UUID")
    p.add_argument("--start", required=True, type=_date, metavar="YYYY-MM-DD", help="first day (inclusive)")
    p.add_argument("--end", required=True, type=_date, metavar="YYYY-MM-DD", help="last day (inclusive)")
    p.add_argument("--cluster-id", required=True, metavar="ID", help="the OpenShift cluster id of the source")
    p.add_argument("--cluster-alias", default=None, metavar="NAME", help="the cluster's display name")
    p.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help=f"postgresql://… or a libpq keyword string (default ${DB_ENV})",
    )
    p.add_argument(
        "--allow-missing", action="store_true", help="write even when the month's input folder is empty"
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``cluster-info`` and ``gpu-summary``."""
    p = subparsers.add_parser(
        "cluster-info", help="record the source's cluster, nodes, PVCs and projects (koku's cluster tables)"
    )
    _common(p)
    p = subparsers.add_parser("gpu-summary", help="insert koku's usage-only GPU UI summary rows")
    _common(p)
    p.add_argument(
        "--gpu-tag-rate",
        action="store_true",
        help="the source's cost model has a tag-based GPU rate (koku then writes nothing here)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; prints what changed; 0 on success."""
    from ..layout import account_from_schema
    from ..sinks import open_sink

    db = args.db or os.environ.get(DB_ENV)
    if not db:
        raise ConfigError(f"no database: give --db URL or set {DB_ENV}")
    common = dict(
        account=account_from_schema(args.schema),
        source_uuid=args.source,
        start_date=args.start,
        end_date=args.end,
        cluster_id=args.cluster_id,
        cluster_alias=args.cluster_alias,
        allow_missing=args.allow_missing,
    )
    sink = open_sink(db, args.schema)
    try:
        if args.command == "cluster-info":
            from .cluster_writer import populate_cluster_information

            c = populate_cluster_information(sink, args.input, **common)
            print(
                f"cluster {c.cluster_uuid}: clusters +{c.clusters_created} ~{c.clusters_updated} "
                f"-{c.clusters_deleted}; nodes +{c.nodes_created} ~{c.nodes_updated}; "
                f"pvcs +{c.pvcs_created} ~{c.pvcs_updated}; projects +{c.projects_created}"
            )
        elif args.command == "gpu-summary":
            from .gpu_writer import populate_gpu_summary

            g = populate_gpu_summary(sink, args.input, gpu_tag_rate=args.gpu_tag_rate, **common)
            if g.skipped:
                print(f"nothing written: {g.skipped}")
            else:
                print(f"{g.inserted} GPU rows written ({g.deleted} replaced)")
        else:
            raise ConfigError(f"unknown command {args.command}")
    finally:
        sink.close()
    return 0
