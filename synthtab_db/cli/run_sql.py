"""Run a SQL script (plain DuckDB SQL and our statements) against a database file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import synthtab_db
from synthtab_db.cli.output import print_result
from synthtab_db.cli.progress import ProgressBars

NAME = "sql"
HELP = "run a SQL script (DuckDB SQL plus GENERATE SYNTHETIC ...)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="SQL script to run, or - for standard input")
    parser.add_argument("--database", "-d", default=":memory:", help="DuckDB database file (default: in memory)")


def run(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    bars = ProgressBars()
    with synthtab_db.connect(args.database) as con:
        con.progress = bars
        result = con.execute(text)
        bars.close()
        print_result(result)
    return 0
