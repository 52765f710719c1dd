"""Write the tables of a schema to CSV, Parquet, Excel or a SQL script (DDL + INSERTs)."""

from __future__ import annotations

import argparse
from pathlib import Path

import synthtab_db
from synthtab_db.export import export_schema
from synthtab_db.export.formats import FORMATS

NAME = "export"
HELP = "write a schema's tables as csv, parquet, xlsx or a sql script"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("database", help="DuckDB database file")
    parser.add_argument("--schema", "-s", default="main", help="schema whose tables are written (default: main)")
    parser.add_argument("--format", "-f", choices=sorted(FORMATS), default="csv", help="file format (default: csv)")
    parser.add_argument("--to", required=True, type=Path, help="directory to write into (created if missing)")
    parser.add_argument("--overwrite", action="store_true", help="replace files that already exist")


def run(args: argparse.Namespace) -> int:
    with synthtab_db.connect(args.database, read_only=True) as con:
        paths = export_schema(con.duckdb, args.schema, args.format, args.to, args.overwrite)
    for path in paths:
        print(path)
    return 0
