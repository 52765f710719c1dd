"""Derived columns recomputed by DuckDB from the generated ones (the very SQL the
profile found true in the source), cast to the column's declared type."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from synthtab_db.planner.schema import Table
from synthtab_db.profile.model import Derived
from synthtab_db.profile.source import quote
from synthtab_db.transforms.codecs import arrow_type


def recompute(columns: dict[str, pa.Array], table: Table, derived: tuple[Derived, ...]) -> dict[str, pa.Array]:
    if not derived:
        return columns
    sources = sorted({s for d in derived for s in d.sources})
    batch = pa.table({s: columns[s] for s in sources})
    select = ", ".join(f"CAST(({d.sql}) AS {table.column(d.column).type.sql}) AS {quote(d.column)}" for d in derived)
    with duckdb.connect() as scratch:
        scratch.register("batch", batch)
        result = scratch.sql(f"SELECT {select} FROM batch").to_arrow_table()
    out = dict(columns)
    for d in derived:
        out[d.column] = result.column(d.column).combine_chunks().cast(arrow_type(table.column(d.column).type))
    return out
