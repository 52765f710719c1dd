"""DuckDB 2.0 call helpers.

A DuckDB 2.0 result that is not read to the end blocks the connection for the
next relation or UDF call, so statements run for their effect are completed here.
"""

from __future__ import annotations

from typing import Any

import duckdb


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> None:
    """Execute a statement for its effect and finish its result."""
    if params is None:
        con.execute(sql)
    else:
        con.execute(sql, params)
    con.complete()


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> tuple:
    """The first row of a query, with the result read to its end (fetchone() leaves it open)."""
    rows = con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    return rows[0] if rows else ()
