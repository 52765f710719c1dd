"""Generate a synthetic copy of one table, or of every table of a schema."""

from __future__ import annotations

import argparse

import synthtab_db
from synthtab_db.cli.output import print_result
from synthtab_db.cli.run_sql import require_database
from synthtab_db.progress import default_progress
from synthtab_db.result import Result
from synthtab_db.statements import literal_value

NAME = "generate"
HELP = "generate synthetic rows into a DuckDB database"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("database", help="DuckDB database file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", metavar="TABLE", help="source table")
    source.add_argument("--from-database", dest="source_schema", metavar="SCHEMA", help="every table of SCHEMA")
    source.add_argument("--from-synthesizer", dest="synthesizer", metavar="NAME",
                        help="a stored synthesizer (with --into-parquet)")
    parser.add_argument("--rows", type=int, help="rows to generate (default: as many as the source)")
    parser.add_argument("--scale", type=float, help="multiply the source's row counts")
    parser.add_argument("--into", metavar="TABLE|SCHEMA", help="target table (or schema with --from-database)")
    parser.add_argument("--using", metavar="MODEL", help="model name (default: the best installed)")
    parser.add_argument("--into-parquet", metavar="DIR",
                        help="write Parquet files (one folder per table, a manifest) instead of tables; "
                             "--with engine=ray to fan out over Ray")
    parser.add_argument(
        "--with",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option, e.g. --with seed=7 --with replace=true (repeatable)",
    )


def _options(pairs: list[str]) -> dict:
    import sqlglot

    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if not key or not _:
            raise synthtab_db.SynthError(f"--with expects KEY=VALUE, got {pair!r}")
        options[key.strip().lower()] = literal_value(sqlglot.parse_one(value.strip() or "NULL", read="duckdb"))
    return options


def _generate_parquet(con, args: argparse.Namespace):
    """The same GENERATE, written as Parquet; the result's read_sql says how to read it."""
    what = ({"database": args.source_schema} if args.source_schema else
            {"synthesizer": args.synthesizer} if args.synthesizer else {"source": args.source})
    return con.generate_parquet(args.into_parquet, rows=args.rows, scale=args.scale, using=args.using,
                                options=_options(args.options), **what)


def run(args: argparse.Namespace) -> int:
    bars = default_progress()
    require_database(args.database)
    with synthtab_db.connect(args.database) as con:
        con.progress = bars
        if args.synthesizer and not args.into_parquet:
            raise synthtab_db.SynthError("--from-synthesizer writes with --into-parquet; in SQL: "
                                         "GENERATE SYNTHETIC FROM SYNTHESIZER <name> INTO <table>")
        if args.into_parquet:
            result = _generate_parquet(con, args)
        elif args.source_schema:
            result = con.generate_database(
                args.into,
                source_schema=args.source_schema,
                scale=args.scale,
                using=args.using,
                **_options(args.options),
            )
        else:
            result = con.generate(
                args.source,
                rows=args.rows,
                into=args.into,
                using=args.using,
                scale=args.scale,
                **_options(args.options),
            )
        bars.close()
    print_result(Result(result))
    if args.into_parquet:
        print(f"\nRead it: the read_sql column above, or in Python "
              f"synthtab_db.read_parquet_output(con, {args.into_parquet!r}) (views over the manifest's files)")
    return 0
