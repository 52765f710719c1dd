"""Rows between PostgreSQL and DuckDB with COPY, through a CSV file on disk so
memory stays bounded whatever the table's size.

CSV carries text, so each column kind has a pair of expressions that keep values
exact: what PostgreSQL selects (arrays as JSON, bytea as hex) and how DuckDB reads
it back (JSON cast to the list type, unhex), and the reverse pair for writing.
Adding a kind is one entry in READ or WRITE.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import duckdb

from synthtab_db.duck import run_sql
from synthtab_db.planner.schema import Column, Kind, Table, TableRef

CHUNK = 1 << 20


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(ref: TableRef) -> str:
    return f"{ident(ref.schema)}.{ident(ref.name)}" if ref.schema else ident(ref.name)


# (PostgreSQL select expression, DuckDB expression over the VARCHAR read back)
_Pair = tuple[Callable[[str], str], Callable[[str, Column], str]]

_CAST: _Pair = (lambda c: c, lambda v, col: f"CAST({v} AS {col.type.sql})")
READ: dict[Kind, _Pair] = {
    Kind.LIST: (lambda c: f"array_to_json({c})::text", lambda v, col: f"CAST(CAST({v} AS JSON) AS {col.type.sql})"),
    Kind.BLOB: (lambda c: f"encode({c}, 'hex')", lambda v, col: f"unhex({v})"),
    Kind.JSON: (lambda c: f"{c}::text", lambda v, col: f"CAST({v} AS JSON)"),
    Kind.STRING: (lambda c: f"{c}::text", lambda v, col: v),
}

# DuckDB select expression that PostgreSQL's COPY … (FORMAT csv) reads back exactly.
WRITE: dict[Kind, Callable[[str], str]] = {
    Kind.LIST: lambda c: (
        f"CASE WHEN {c} IS NULL THEN NULL ELSE '{{' || array_to_string(list_transform({c}, lambda x: CASE WHEN x IS NULL "
        "THEN 'NULL' ELSE '\"' || replace(replace(CAST(x AS VARCHAR), '\\', '\\\\'), '\"', '\\\"') || '\"' END), ',') "
        "|| '}' END"
    ),
    Kind.BLOB: lambda c: f"'\\x' || lower(hex({c}))",
    Kind.JSON: lambda c: f"CAST({c} AS VARCHAR)",
}


def _same(expression: str) -> str:
    return expression


def _fit(expression: str, length: int | None) -> str:
    return f"left({expression}, {length})" if length else expression


def copy_into_duckdb(pg, duck: duckdb.DuckDBPyConnection, table: Table, target: TableRef, folder: Path) -> int:
    """COPY one PostgreSQL table (``table.ref``) into an existing DuckDB table ``target``."""
    path = folder / f"in_{table.ref.schema}_{table.name}.csv"
    selects = [READ.get(c.type.kind, _CAST)[0](ident(c.name)) for c in table.columns]
    query = f"COPY (SELECT {', '.join(selects)} FROM {qualified(table.ref)}) TO STDOUT (FORMAT csv)"
    with open(path, "wb") as out, pg.cursor().copy(query) as copy:
        for chunk in copy:
            out.write(chunk)
    names = [f"c{i}" for i in range(len(table.columns))]
    converted = [READ.get(c.type.kind, _CAST)[1](n, c) for n, c in zip(names, table.columns)]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    run_sql(
        duck,
        f"INSERT INTO {qualified(target)} SELECT {', '.join(converted)} FROM read_csv($path, header = false, "
        f"columns = {columns}, quote = '\"', escape = '\"', allow_quoted_nulls = false, auto_detect = false, "
        "max_line_size = 100000000)",
        {"path": str(path)},
    )
    path.unlink()
    return duck.execute(f"SELECT count(*) FROM {qualified(target)}").fetchone()[0]


def copy_into_postgres(
    duck: duckdb.DuckDBPyConnection, source: Table, pg, target: TableRef, folder: Path, lengths: dict[str, int]
) -> None:
    """COPY a DuckDB table into an existing PostgreSQL table, inside the caller's transaction;
    text longer than a VARCHAR(n) column is cut to n characters."""
    path = folder / f"out_{target.schema}_{target.name}.csv"
    selects = [_fit(WRITE.get(c.type.kind, _same)(ident(c.name)), lengths.get(c.name)) for c in source.columns]
    run_sql(duck, f"COPY (SELECT {', '.join(selects)} FROM {qualified(source.ref)}) TO '{path}' (FORMAT csv, HEADER false)")
    columns = ", ".join(ident(c.name) for c in source.columns)
    with open(path, "rb") as data, pg.cursor().copy(f"COPY {qualified(target)} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        while chunk := data.read(CHUNK):
            copy.write(chunk)
    path.unlink()
