"""Whole-table statistics for the columns a model learns from a sample (transforms/marginals.py).

Two kinds of SQL over the source query: one aggregate scan for every column's
NULL count and the ends of the ordered ones (``min(x, n)`` / ``max(x, n)``), and one
``GROUP BY`` per categorical column for its most frequent values up to the cap.
Only when a sample was drawn: otherwise the model sees every row already.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from synthtab_db.planner.schema import Column, Kind, Table
from synthtab_db.sqlbuild import quote
from synthtab_db.transforms.marginals import ENDS, ExactMarginal

ORDERED = (Kind.INTEGER, Kind.FLOAT, Kind.DECIMAL, Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ, Kind.TIME)
CATEGORIES = (Kind.STRING, Kind.ENUM, Kind.BOOLEAN, Kind.UUID)
VALUES_CAP = 11_000  # the categorical transform's defaults: 1,000 kept + 10,000 rare values to draw from


def exact_marginals(con: duckdb.DuckDBPyConnection, query: str, table: Table,
                    names: tuple[str, ...]) -> dict[str, ExactMarginal]:
    """``names``' statistics over every row of ``query`` (the source, or source plus context)."""
    columns = [table.column(n) for n in names if table.column(n).type.kind in ORDERED + CATEGORIES]
    if not columns:
        return {}
    scan = _scan(con, query, columns)
    rows = int(scan["rows"][0].as_py())
    out = {}
    for i, c in enumerate(columns):
        nulls = rows - int(scan[f"n{i}"][0].as_py())
        if c.type.kind in ORDERED:
            out[c.name] = ExactMarginal(rows=rows, nulls=nulls, smallest=_list(scan, f"lo{i}"),
                                        largest=_list(scan, f"hi{i}"))
        else:
            values, counts = _frequent(con, query, c)
            out[c.name] = ExactMarginal(rows=rows, nulls=nulls, values=values, counts=counts,
                                        beyond=rows - nulls - int(counts.sum()))
    return out


def _scan(con: duckdb.DuckDBPyConnection, query: str, columns: list[Column]) -> pa.Table:
    parts = ["count(*) AS rows"]
    for i, c in enumerate(columns):
        name = quote(c.name)
        parts.append(f"count({name}) AS n{i}")
        if c.type.kind in ORDERED:
            parts += [f"min({name}, {ENDS + 1}) AS lo{i}", f"max({name}, {ENDS + 1}) AS hi{i}"]
    return con.sql(f"SELECT {', '.join(parts)} FROM ({query})").to_arrow_table()


def _list(scan: pa.Table, name: str) -> pa.Array:
    return scan[name].combine_chunks().flatten()


def _frequent(con: duckdb.DuckDBPyConnection, query: str, column: Column) -> tuple[pa.Array, np.ndarray]:
    name = quote(column.name)
    found = con.sql(f"SELECT {name} AS v, count(*) AS n FROM ({query}) WHERE {name} IS NOT NULL GROUP BY ALL "
                    f"ORDER BY n DESC, v LIMIT {VALUES_CAP}").to_arrow_table()
    return found["v"].combine_chunks(), found["n"].to_numpy()
