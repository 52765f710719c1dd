"""Score a synthetic table against the real one (fidelity, utility, privacy risk),
store the metrics in synthtab.quality_reports, and optionally write an HTML report."""

from __future__ import annotations

import argparse

import synthtab_db
from synthtab_db.cli.output import print_result
from synthtab_db.cli.run_sql import require_database
from synthtab_db.execute import evaluate_from_python
from synthtab_db.result import Result

NAME = "evaluate"
HELP = "fidelity, utility and privacy report of a synthetic table (HTML with --html)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("database", help="DuckDB database file")
    parser.add_argument("--synthetic", required=True, metavar="TABLE", help="the synthetic table")
    parser.add_argument("--real", required=True, metavar="TABLE", help="the real table it was generated from")
    parser.add_argument("--holdout", metavar="TABLE", help="real rows the generator never saw (privacy, utility)")
    parser.add_argument("--target", metavar="COLUMN", help="column to predict for the utility test")
    parser.add_argument("--html", metavar="FILE", help="write a self-contained HTML report here")


def run(args: argparse.Namespace) -> int:
    require_database(args.database)
    with synthtab_db.connect(args.database) as con:
        options = {"html": args.html} if args.html else {}
        table = evaluate_from_python(con.duckdb, args.synthetic, args.real, args.holdout, args.target, options)
    print_result(Result(table))
    if args.html:
        print(f"\nreport written to {args.html}")
    return 0
