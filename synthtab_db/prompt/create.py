"""Create the accepted schema and fill it, in one transaction of the user's database.

Rows are made in a scratch in-memory database by schema-only generation (the
same GENERATE SYNTHETIC FROM DATABASE path as everywhere: keys, FKs, CHECKs), then
shaped (``shape``, ``children``) and inserted next to the CREATE statements, so
the target schema gets all its tables, filled, or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
from sqlglot import exp

from synthtab_db.duck import atomic, first_row, run_sql
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Table
from synthtab_db.prompt.children import spread_children
from synthtab_db.prompt.propose import Proposal
from synthtab_db.prompt.shape import shape_columns
from synthtab_db.prompt.validate import Accepted

SCRATCH_OUT = "generated"


@dataclass(frozen=True)
class Filled:
    """Generated rows by lower-cased table name, in plan order."""

    tables: dict[str, pa.Table]


def fill(accepted: Accepted, counts: dict[str, int], seed: int | None) -> Filled:
    import synthtab_db  # noqa: PLC0415 (the package imports this module's callers)

    with synthtab_db.connect() as scratch:
        for text in accepted.statements:
            scratch.execute(text).fetchall()
        scratch.generate_database(SCRATCH_OUT, source_schema="main", using="copula", seed=seed, rows=counts)
        comments = _comments(scratch.duckdb)
        raw = {s.table.name.lower(): scratch.sql(f"SELECT * FROM {SCRATCH_OUT}.{quoted(s.table.name)}").to_arrow_table()
               for s in accepted.plan.steps}
    return Filled(_shaped(accepted, raw, comments, seed))


def _comments(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    rows = con.execute("SELECT lower(table_name), lower(column_name), comment FROM duckdb_columns() "
                       "WHERE schema_name = 'main' AND comment IS NOT NULL").fetchall()
    out: dict[str, dict[str, str]] = {}
    for table, column, comment in rows:
        out.setdefault(table, {})[column] = comment
    return out


def _shaped(accepted: Accepted, raw: dict[str, pa.Table], comments: dict, seed: int | None) -> dict[str, pa.Table]:
    done: dict[str, pa.Table] = {}
    for i, step in enumerate(accepted.plan.steps):
        table: Table = accepted.schema.table(step.table)
        rng = np.random.default_rng(None if seed is None else [seed, i])
        data = shape_columns(table, raw[table.name.lower()], comments.get(table.name.lower(), {}), rng)
        done[table.name.lower()] = spread_children(table, data, done, rng)
    return done


def quoted(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def create_filled(con: duckdb.DuckDBPyConnection, schema: str, proposal: Proposal, filled: Filled) -> None:
    """CREATE SCHEMA, the accepted DDL and every INSERT: one transaction.  The rows are
    registered before it and dropped after it (an aborted transaction refuses both)."""
    previous = first_row(con, "SELECT current_schema()")[0]
    views = {name: f"synthtab_prompt_{name}" for name in filled.tables}
    for name, view in views.items():
        con.register(view, filled.tables[name])
    try:
        atomic(con, lambda: _create_and_insert(con, schema, proposal.accepted, views), "GENERATE … FROM PROMPT")
    finally:
        for view in views.values():
            con.unregister(view)
        run_sql(con, f"SET schema = {quoted(previous)}")


def _create_and_insert(con: duckdb.DuckDBPyConnection, schema: str, accepted: Accepted, views: dict) -> None:
    run_sql(con, f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}")
    run_sql(con, f"SET schema = {quoted(schema)}")
    for text in accepted.statements:
        run_sql(con, text)
    for name, view in views.items():
        run_sql(con, f"INSERT INTO {quoted(schema)}.{quoted(name)} SELECT * FROM {quoted(view)}")


def refuse_existing(con: duckdb.DuckDBPyConnection, schema: str, accepted: Accepted) -> None:
    names = [t.name.lower() for t in accepted.schema.tables]
    taken = con.execute("SELECT table_name FROM duckdb_tables() WHERE lower(schema_name) = lower($s) "
                        "AND lower(table_name) IN (SELECT unnest($n))", {"s": schema, "n": names}).fetchall()
    if taken:
        raise SynthError(f"schema {schema} already has table {taken[0][0]}; choose another INTO SCHEMA "
                         f"or drop it first")
