"""The rows a profile reads: the whole table, or a repeatable sample of a big one.

The sample is drawn once into a temp table: as a subquery, every one of the
profile's ~100 queries drew it again, a full scan each (42 s of 65 s when learning
from a 100M-row table).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import duckdb

from synthtab_db.duck import first_row, run_sql
from synthtab_db.planner.schema import TableRef
from synthtab_db.sqlbuild import table_expr

#: tables above this many rows are profiled on a repeatable reservoir sample of this size
SAMPLE_ROWS = 50_000


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


SAMPLE_TABLE = "__synthtab_profile_sample"


@contextmanager
def profiled_rows(con: duckdb.DuckDBPyConnection, ref: TableRef) -> Iterator[tuple[str, int]]:
    """A FROM item over the profiled rows, and the table's row count."""
    table = table_expr(ref).sql("duckdb")
    rows = int(first_row(con, f"SELECT count(*) FROM {table}")[0])
    if rows <= SAMPLE_ROWS:
        yield f"(SELECT * FROM {table}) AS src", rows
        return
    run_sql(con, f"CREATE OR REPLACE TEMP TABLE {SAMPLE_TABLE} AS "
                 f"SELECT * FROM {table} USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)")
    try:
        yield f"{SAMPLE_TABLE} AS src", rows
    finally:
        run_sql(con, f"DROP TABLE IF EXISTS {SAMPLE_TABLE}")


def aggregates(con: duckdb.DuckDBPyConnection, source: str, exprs: dict[str, str]) -> dict[str, object]:
    """Many aggregates in one scan: name -> value."""
    if not exprs:
        return {}
    select = ", ".join(f"{sql} AS {quote(name)}" for name, sql in exprs.items())
    return dict(zip(exprs, first_row(con, f"SELECT {select} FROM {source}")))
