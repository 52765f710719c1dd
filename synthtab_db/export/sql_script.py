"""A SQL script that recreates a schema's tables with their rows, in PostgreSQL or DuckDB.

Names are left unqualified so the script loads into whatever schema the session
uses (``SET search_path`` in PostgreSQL, ``USE`` in DuckDB).  Types and CHECKs are
written in PostgreSQL's spelling, which DuckDB also reads; an inline ENUM becomes
VARCHAR with a CHECK on its labels (PostgreSQL has no inline enums).  Everything is
one transaction: the script loads completely or not at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Callable, TextIO

import duckdb
from sqlglot import exp, parse_one

from synthtab_db.planner.schema import Column, Kind, Table

ROWS_PER_INSERT = 500


def quote(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("postgres")


def string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _float(value: float) -> str:
    return repr(value) if value == value and abs(value) != float("inf") else string(str(value)) + "::DOUBLE PRECISION"


def _list(value: list) -> str:
    return "ARRAY[" + ", ".join(sql_literal(v) for v in value) + "]"


LITERALS: dict[type, Callable[[Any], str]] = {
    type(None): lambda v: "NULL",
    bool: lambda v: "TRUE" if v else "FALSE",
    int: str,
    float: _float,
    Decimal: str,
    str: string,
    dt.date: lambda v: f"DATE {string(v.isoformat())}",
    dt.datetime: lambda v: f"{'TIMESTAMPTZ' if v.tzinfo else 'TIMESTAMP'} {string(v.isoformat(sep=' '))}",
    dt.time: lambda v: f"TIME {string(v.isoformat())}",
    dt.timedelta: lambda v: f"INTERVAL {string(f'{v.total_seconds()} seconds')}",
    uuid.UUID: lambda v: string(str(v)),
    bytes: lambda v: "'\\x" + v.hex() + "'::BYTEA",
    list: _list,
    dict: lambda v: string(str(v)),
}


def sql_literal(value: Any) -> str:
    return LITERALS.get(type(value), lambda v: string(str(v)))(value)


def column_sql(column: Column) -> str:
    if column.type.kind is Kind.ENUM:
        labels = ", ".join(string(v) for v in column.type.enum_values or ())
        kind = f"VARCHAR CHECK ({quote(column.name)} IN ({labels}))"
    else:
        kind = exp.DataType.build(column.type.sql, dialect="duckdb").sql("postgres")
    return f"{quote(column.name)} {kind}{'' if column.nullable else ' NOT NULL'}"


def _names(columns: tuple[str, ...]) -> str:
    return ", ".join(quote(c) for c in columns)


def create_sql(table: Table) -> str:
    parts = [column_sql(c) for c in table.columns]
    parts += [f"{'PRIMARY KEY' if k.primary else 'UNIQUE'} ({_names(k.columns)})" for k in table.keys]
    parts += [f"CHECK ({parse_one(c.sql, read='duckdb').sql('postgres')})" for c in table.checks]
    parts += [f"FOREIGN KEY ({_names(fk.columns)}) REFERENCES {quote(fk.ref_table.name)} ({_names(fk.ref_columns)})"
              for fk in table.foreign_keys]
    return f"CREATE TABLE {quote(table.name)} (\n  " + ",\n  ".join(parts) + "\n);\n"


def write_script(con: duckdb.DuckDBPyConnection, schema: str, tables: list[Table], out: TextIO) -> None:
    out.write(f"-- tables of schema {schema}, written by synthtab-db export\nBEGIN;\n")
    for table in tables:
        out.write(create_sql(table))
    out.writelines(_comments(con, schema))
    for table in tables:
        _inserts(con, schema, table, out)
    out.write("COMMIT;\n")


def _comments(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Column comments say what a column holds: they travel with the tables."""
    rows = con.execute("SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = $s "
                       "AND comment IS NOT NULL AND comment <> '' ORDER BY table_name, column_index",
                       {"s": schema}).fetchall()
    return [f"COMMENT ON COLUMN {quote(t)}.{quote(c)} IS {string(text)};\n" for t, c, text in rows]


def _inserts(con: duckdb.DuckDBPyConnection, schema: str, table: Table, out: TextIO) -> None:
    head = f"INSERT INTO {quote(table.name)} ({_names(tuple(c.name for c in table.columns))}) VALUES\n"
    cursor = con.execute(f"SELECT * FROM {quote(schema)}.{quote(table.name)}")
    while rows := cursor.fetchmany(ROWS_PER_INSERT):
        values = ",\n".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in rows)
        out.write(head + values + ";\n")
