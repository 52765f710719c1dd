"""The rows a profile reads: the whole table, or a repeatable sample of a big one."""

from __future__ import annotations

import duckdb

from synthtab_db.duck import first_row
from synthtab_db.planner.schema import TableRef
from synthtab_db.sqlbuild import table_expr

#: tables above this many rows are profiled on a repeatable reservoir sample of this size
SAMPLE_ROWS = 50_000


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_sql(con: duckdb.DuckDBPyConnection, ref: TableRef) -> tuple[str, int]:
    """A FROM item over the profiled rows, and the table's row count."""
    table = table_expr(ref).sql("duckdb")
    rows = int(first_row(con, f"SELECT count(*) FROM {table}")[0])
    if rows <= SAMPLE_ROWS:
        return f"(SELECT * FROM {table}) AS src", rows
    return f"(SELECT * FROM {table} USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)) AS src", rows


def aggregates(con: duckdb.DuckDBPyConnection, source: str, exprs: dict[str, str]) -> dict[str, object]:
    """Many aggregates in one scan: name -> value."""
    if not exprs:
        return {}
    select = ", ".join(f"{sql} AS {quote(name)}" for name, sql in exprs.items())
    return dict(zip(exprs, first_row(con, f"SELECT {select} FROM {source}")))
