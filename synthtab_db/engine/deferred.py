"""Foreign keys of a cycle: inserted NULL, filled once every table exists.

A cycle (dept.head_id -> emp, emp.dept_id -> dept) can't be generated parents
first; the planner breaks it at a nullable FK, whose column is generated NULL.
When all tables of the statement are in place, still inside its transaction,
that column is set by one UPDATE: parents drawn from the generated parent table
by the learned children-per-parent counts, NULL at the learned rate, distinct
where the FK alone is a key.  DuckDB cannot declare such an FK (no ALTER TABLE
ADD FOREIGN KEY); a PostgreSQL target gets it declared by the bridge.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from synthtab_db.duck import run_sql
from synthtab_db.engine import foreign_keys as fks
from synthtab_db.planner.roles import fk_key_mode
from synthtab_db.planner.schema import ForeignKey, Table, TableRef
from synthtab_db.sqlbuild import quote, table_expr

_UPDATES = "__synthtab_deferred"


def fill_deferred(
    con: duckdb.DuckDBPyConnection, table: Table, source: TableRef, target: TableRef,
    deferred: dict[tuple[str, ...], tuple[TableRef, TableRef]], seed, samplers: dict | None = None,
) -> None:
    """``deferred``: FK columns -> (source parent, generated parent); ``samplers``: the ones a DP
    run released (learned from the source here otherwise)."""
    rng = np.random.default_rng(seed)
    rowids = con.sql(f"SELECT rowid AS r FROM {table_expr(target).sql('duckdb')} ORDER BY rowid").to_arrow_table()
    for cols, (parent_source, parent) in deferred.items():
        fk = next(f for f in table.foreign_keys if f.columns == cols)
        sampler = (samplers or {}).get(cols) or fks.ForeignKeySampler.learn(con, table, source, parent_source, fk)
        _fill(con, table, target, fk, sampler, parent, rowids.column("r"), rng)


def _fill(con, table: Table, target: TableRef, fk: ForeignKey, sampler: fks.ForeignKeySampler,
          parent: TableRef, rowids: pa.ChunkedArray, rng: np.random.Generator) -> None:
    rows = len(rowids)
    parents = con.sql(
        f"SELECT {', '.join(quote(c) for c in fk.ref_columns)} FROM {table_expr(parent).sql('duckdb')}"
    ).to_arrow_table()
    if rows == 0 or parents.num_rows == 0:
        return  # nothing to point at: the column stays NULL, which the FK allows
    weights = sampler.weights(parents.num_rows, rng)
    keep = rng.permutation(rows)[: rows - int(round(sampler.null_rate * rows))]  # the learned NULL share, exactly
    index = np.full(rows, fks.NO_PARENT)
    if fk_key_mode(table, fk, None) == "distinct":
        picks = fks.draw_distinct(weights, keep.size, rng)
        index[keep[: picks.size]] = picks
    else:
        index[keep] = fks.draw_parents(weights, keep.size, rng)
    keys = fks.take_keys(parents, index, fk)
    updates = pa.table({"__rid": rowids, **{f"__v{i}": keys[c] for i, c in enumerate(fk.columns)}})
    con.register(_UPDATES, updates)
    try:
        sets = ", ".join(f"{quote(c)} = u.__v{i}" for i, c in enumerate(fk.columns))
        run_sql(con, f"UPDATE {table_expr(target).sql('duckdb')} AS t SET {sets} FROM {_UPDATES} AS u "
                     f"WHERE t.rowid = u.__rid")
    finally:
        con.unregister(_UPDATES)
