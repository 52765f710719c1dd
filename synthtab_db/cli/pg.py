"""Generate synthetic tables from a PostgreSQL database into the same database:
every table of a schema (parents before children), or one table."""

from __future__ import annotations

import argparse

from synthtab_db.cli.generate import _options
from synthtab_db.cli.output import print_result
from synthtab_db.progress import default_progress
from synthtab_db.result import Result

NAME = "pg"
HELP = "generate synthetic tables inside PostgreSQL (pg generate --dsn … --from public --into synth)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="pg_action", required=True, metavar="ACTION")
    generate = actions.add_parser("generate", help="source schema (or table) -> target schema, in one transaction")
    generate.add_argument("--dsn", required=True, help="libpq connection string, e.g. 'host=… dbname=… user=…'")
    generate.add_argument("--from", dest="source", required=True, metavar="SCHEMA", help="source schema")
    generate.add_argument("--into", required=True, metavar="SCHEMA", help="target schema (created if missing)")
    generate.add_argument("--table", help="only this table of the source schema (its parents are read, not copied)")
    generate.add_argument("--rows", type=int, help="rows for --table (default: as many as the source)")
    generate.add_argument("--scale", type=float, help="multiply the source's row counts")
    generate.add_argument("--using", metavar="MODEL", help="model name (default: the best installed)")
    generate.add_argument("--with", dest="options", action="append", default=[], metavar="KEY=VALUE",
                          help="an option, e.g. --with seed=7 --with replace=true (repeatable)")


def run(args: argparse.Namespace) -> int:
    from synthtab_db.postgres import generate

    bars = default_progress()
    table = f"{args.source}.{args.table}" if args.table else None
    into = f"{args.into}.{args.table}" if args.table else None
    result = generate(
        args.dsn,
        source_schema=args.source,
        into_schema=args.into,
        table=table,
        into=into,
        rows=args.rows,
        scale=args.scale,
        using=args.using,
        progress=bars,
        **_options(args.options),
    )
    bars.close()
    print_result(Result(result))
    return 0
