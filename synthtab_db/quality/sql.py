"""SQL text helpers: quoted names, and each column's value as DuckDB sees it for a metric.

Numbers and temporal values are compared as DOUBLE (dates and times as epoch
seconds) so one set of numeric metrics covers all of them; everything else is
compared as text categories.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from synthtab_db.planner.schema import TableRef


def ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def table_sql(ref: TableRef) -> str:
    return f"{ident(ref.schema)}.{ident(ref.name)}" if ref.schema else ident(ref.name)


def literal(value: str) -> str:
    return exp.Literal.string(value).sql("duckdb")


_TEMPORAL = ("date", "time", "timestamp", "timestamptz", "interval")


def numeric_expr(column: str, kind: str) -> str:
    """The column as DOUBLE: epoch seconds for temporal kinds, length for near-unique text."""
    inner = _NUMERIC_OF.get(kind, "{}").format(ident(column))
    return f"CAST({inner} AS DOUBLE)"


_NUMERIC_OF = {**{kind: "epoch({})" for kind in _TEMPORAL}, "text_length": "length({})"}


def category_expr(column: str) -> str:
    return f"CAST({ident(column)} AS VARCHAR)"


def arrow(con, sql: str, params: dict | None = None) -> pa.Table:
    """A query's whole result as Arrow (read to the end, so the connection stays free)."""
    return con.execute(sql, params).to_arrow_table() if params else con.sql(sql).to_arrow_table()


def scalars(con, sql: str, params: dict | None = None) -> tuple:
    rows = con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
    return rows[0] if rows else ()
