"""DuckDB 2.0 call helpers.

A DuckDB 2.0 result that is not read to the end blocks the connection for the
next relation or UDF call, so statements run for their effect are completed here.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable, TypeVar

import duckdb

from synthtab_db.errors import SynthError

T = TypeVar("T")

#: Work that must land in the same transaction as a statement's own (the audit trail's row):
#: ``atomic`` calls it just before COMMIT.  Set by synthtab_db.runs for the statement it records.
BEFORE_COMMIT: ContextVar[Callable[[duckdb.DuckDBPyConnection], None] | None] = ContextVar(
    "synthtab_before_commit", default=None)


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> None:
    """Execute a statement for its effect and finish its result."""
    if params is None:
        con.execute(sql)
    else:
        con.execute(sql, params)
    con.complete()


def database_path(con: duckdb.DuckDBPyConnection) -> str | None:
    """The file of the connection's current database; None for an in-memory one."""
    return first_row(con, "SELECT path FROM duckdb_databases() WHERE database_name = current_database()")[0] or None


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> tuple:
    """The first row of a query, with the result read to its end (fetchone() leaves it open)."""
    rows = con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    return rows[0] if rows else ()


def atomic(con: duckdb.DuckDBPyConnection, work: Callable[[], T], statement: str = "GENERATE") -> T:
    """Run ``work`` in a transaction of its own: it all lands, or nothing does.

    DuckDB 2.0 has no savepoints, so a statement can't join a transaction the caller
    left open; that is refused with what to do instead.
    """
    try:
        run_sql(con, "BEGIN TRANSACTION")
    except duckdb.TransactionException:
        raise SynthError(
            f"{statement} runs in a transaction of its own, so that a failure leaves nothing behind; "
            "COMMIT or ROLLBACK the open transaction first"
        ) from None
    try:
        result = work()
        hook = BEFORE_COMMIT.get()
        if hook is not None:
            hook(con)
    except BaseException:
        run_sql(con, "ROLLBACK")
        raise
    run_sql(con, "COMMIT")
    return result
