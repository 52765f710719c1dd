"""Run a SQL script (plain DuckDB SQL and our statements) against a database file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import synthtab_db
from synthtab_db.cli.output import print_result
from synthtab_db.progress import default_progress

NAME = "sql"
HELP = "run a SQL script (DuckDB SQL plus GENERATE SYNTHETIC ...)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="SQL script to run, or - for standard input")
    parser.add_argument("--database", "-d", default=":memory:", help="DuckDB database file (default: in memory)")
    parser.add_argument("--create", action="store_true", help="create the database file if it does not exist")


def run(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    bars = default_progress()
    require_database(args.database, args.create)
    with synthtab_db.connect(args.database) as con:
        con.progress = bars
        for result in con.each(text):
            bars.close()
            print_result(result)
    return 0


def require_database(path: str, create: bool = False) -> None:
    """A mistyped path must not silently become a new empty database."""
    if path == ":memory:" or create or Path(path).exists():
        return
    raise synthtab_db.SynthError(f"database file {path} does not exist; to create it, add --create "
                                 f"(or run: duckdb {path} 'SELECT 1')")
