"""Self-referencing tables (employee.reports_to) become trees inserted level by level.

DuckDB rejects a parent and its child in the same INSERT, so accepted rows get
their self-FK here: the first row is a root, every later row is a root with the
source's NULL rate, else points at a uniformly chosen earlier row.  Rows are then
inserted one tree level at a time.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from synthtab_db.checks.compile import ROW_ORDER
from synthtab_db.duck import first_row, run_sql
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import ForeignKey, Table, TableRef
from synthtab_db.sqlbuild import quote, table_expr

TREE_VIEW = "__synthtab_tree"


def tree_parents(n: int, null_rate: float, rng: np.random.Generator) -> np.ndarray:
    """Parent index per row (-1 = root); parents always come earlier, so it is a forest."""
    parent = (rng.random(n) * np.arange(n)).astype(np.int64)
    root = rng.random(n) < null_rate
    root[:1] = True
    return np.where(root, -1, parent)


def tree_levels(parent: np.ndarray) -> np.ndarray:
    level = np.zeros(parent.size, dtype=np.int64)
    for i, p in enumerate(parent):
        if p >= 0:
            level[i] = level[p] + 1
    return level


def _columns(table: Table) -> str:
    return ", ".join(quote(c.name) for c in table.columns)


def insert_accepted(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    target: TableRef,
    accepted: str,
    self_fks: dict[tuple[str, ...], float],
    rng: np.random.Generator,
) -> int:
    """Move accepted rows into the target; returns the number of rows inserted."""
    target_sql = table_expr(target).sql("duckdb")
    fks = [fk for fk in table.foreign_keys if table.is_self_reference(fk)]
    if not fks:
        run_sql(
            con,
            f"INSERT INTO {target_sql} ({_columns(table)}) SELECT {_columns(table)} FROM {accepted} ORDER BY {ROW_ORDER}",
        )
        return first_row(con, f"SELECT count(*) FROM {accepted}")[0]
    if len(fks) > 1:
        raise SynthError(f"table {table.ref}: more than one self-referencing foreign key is not supported")
    return _insert_tree(con, table, target_sql, accepted, fks[0], self_fks.get(fks[0].columns, 0.0), rng)


def _insert_tree(
    con, table: Table, target_sql: str, accepted: str, fk: ForeignKey, null_rate: float, rng: np.random.Generator
) -> int:
    if any(not table.column(c).nullable for c in fk.columns):
        raise SynthError(
            f"table {table.ref}: self-referencing FOREIGN KEY ({', '.join(fk.columns)}) is NOT NULL, "
            "so no row could be the first (root) row; make it nullable"
        )
    refs = con.sql(
        f"SELECT {ROW_ORDER}, {', '.join(quote(c) for c in fk.ref_columns)} FROM {accepted} ORDER BY {ROW_ORDER}"
    ).to_arrow_table()
    parent = tree_parents(refs.num_rows, null_rate, rng)
    tree = {ROW_ORDER: refs.column(ROW_ORDER), "__level": pa.array(tree_levels(parent))}
    safe = np.where(parent < 0, 0, parent)
    for child_col, ref_col in zip(fk.columns, fk.ref_columns):
        values = refs.column(ref_col).take(pa.array(safe)) if refs.num_rows else refs.column(ref_col)
        tree[child_col] = pa.compute.if_else(pa.array(parent < 0), pa.nulls(len(values), values.type), values)
    return _insert_levels(con, table, target_sql, accepted, fk, pa.table(tree))


def _insert_levels(con, table: Table, target_sql: str, accepted: str, fk: ForeignKey, tree: pa.Table) -> int:
    select = ", ".join(f"t.{quote(c.name)}" if c.name in fk.columns else f"a.{quote(c.name)}" for c in table.columns)
    con.register(TREE_VIEW, tree)
    try:
        levels = int(pa.compute.max(tree.column("__level")).as_py() or 0) + 1 if tree.num_rows else 0
        for level in range(levels):
            run_sql(
                con,
                f"INSERT INTO {target_sql} ({_columns(table)}) SELECT {select} FROM {accepted} a "
                f"JOIN {TREE_VIEW} t USING ({ROW_ORDER}) WHERE t.__level = {level} ORDER BY {ROW_ORDER}",
            )
    finally:
        con.unregister(TREE_VIEW)
    return tree.num_rows
