"""What made a synthetic table, kept on the table itself (its COMMENT): source, model,
options, seed and time, so EVALUATE's report can name them and its advice can know the
model.  A comment travels with the table and needs no state table."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb

from synthtab_db.duck import first_row, run_sql
from synthtab_db.planner.schema import TableRef
from synthtab_db.sqlbuild import table_expr

MARK = "synthtab_db"


def record(con: duckdb.DuckDBPyConnection, target: TableRef, made: dict) -> None:
    """Set ``target``'s comment to ``made`` (a target DuckDB cannot comment on keeps none)."""
    text = json.dumps({MARK: {**made, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}}, default=str)
    literal = "'" + text.replace("'", "''") + "'"
    try:
        run_sql(con, f"COMMENT ON TABLE {table_expr(target).sql('duckdb')} IS {literal}")
    except duckdb.Error:
        pass


def read(con: duckdb.DuckDBPyConnection, ref: TableRef) -> dict | None:
    """What ``record`` wrote on ``ref``, or None (not made by GENERATE, or commented since)."""
    row = first_row(con, "SELECT comment FROM duckdb_tables() WHERE lower(table_name) = lower($t) "
                         "AND ($s IS NULL OR lower(schema_name) = lower($s))", {"t": ref.name, "s": ref.schema})
    try:
        return json.loads(row[0])[MARK] if row and row[0] else None
    except (ValueError, KeyError, TypeError):
        return None
