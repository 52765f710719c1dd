"""The source's rare personal values, read at generation time and kept only in memory:
a made-up email or name that happens to equal one of them is made again, so no value
rarer than RARE_BELOW rows leaves the source, even by chance."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from synthtab_db.planner.schema import TableRef
from synthtab_db.profile.model import RARE_BELOW
from synthtab_db.profile.source import quote
from synthtab_db.sqlbuild import table_expr

#: rounds of re-making values that hit a rare source value
REMAKE_ROUNDS = 20


def rare_values(con: duckdb.DuckDBPyConnection, source: TableRef, columns: tuple[str, ...]) -> dict[str, pa.Array]:
    """Per column, the source values seen in fewer than RARE_BELOW rows (none when the source is gone)."""
    out = {}
    for column in columns:
        sql = (f"SELECT CAST({quote(column)} AS VARCHAR) AS v FROM {table_expr(source).sql('duckdb')} "
               f"WHERE {quote(column)} IS NOT NULL GROUP BY ALL HAVING count(*) < {RARE_BELOW}")
        try:
            out[column] = con.sql(sql).to_arrow_table().column("v").combine_chunks()
        except duckdb.Error:
            return {}
    return out
