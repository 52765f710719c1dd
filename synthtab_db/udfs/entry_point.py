"""``synthtab(sql)``: our statements from any DuckDB client, through plain SQL.

The function runs the script on a cursor of the same database (DuckDB allows a
UDF to query its own database that way) and returns the last result set as JSON,
so ``SELECT synthtab('GENERATE SYNTHETIC FROM t ROWS 10')`` works from the CLI,
dbt or the Postgres proxy alike.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import duckdb

from synthtab_db.errors import SynthError
from synthtab_db.udfs.synthesizer_functions import register_all

FUNCTION = "synthtab"


def _json_default(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _as_json(result: object) -> str:
    if result is None:
        return "[]"
    table = result.arrow() if hasattr(result, "arrow") else None
    if table is None:
        return "[]"
    return json.dumps(table.to_pylist(), default=_json_default)


def install(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Register ``synthtab(sql VARCHAR) -> VARCHAR`` (JSON rows) on a plain DuckDB connection."""
    from synthtab_db.connection import Connection

    def synthtab(sql: str) -> str:
        try:
            result = Connection(con.cursor()).execute(sql)
            return _as_json(result)
        except SynthError as err:
            raise ValueError(str(err)) from None

    try:
        con.remove_function(FUNCTION)
    except (duckdb.InvalidInputException, duckdb.CatalogException):
        pass
    con.create_function(FUNCTION, synthtab, ["VARCHAR"], "VARCHAR", side_effects=True)
    register_all(con)
    return con
