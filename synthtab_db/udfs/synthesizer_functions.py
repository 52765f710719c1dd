"""Each stored synthesizer as a DuckDB table function: ``SELECT * FROM <name>(1000)``.

DuckDB has no Python table functions, so (FIELD-NOTES) an Arrow scalar UDF returns
one LIST(STRUCT) chunk of rows per input row, and a table macro unnests one
chunk per row of ``range(…)``.  The model is loaded on first use; what the
function streams are the model's columns and those its rules make (keys and FKs
belong to GENERATE).
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pyarrow as pa
from sqlglot import exp

from synthtab_db import store
from synthtab_db.duck import run_sql
from synthtab_db.planner.roles import column_roles
from synthtab_db.planner.schema import Kind, Table
from synthtab_db.rules import TableRules
from synthtab_db.udfs.function_owner import owner_of

CHUNK = 65_536
_PLAIN = {Kind.ENUM: "VARCHAR", Kind.UUID: "VARCHAR", Kind.JSON: "VARCHAR"}


def _udf_name(name: str) -> str:
    return f"__synthtab_sample_{name.lower()}"


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def _struct_sql(table: Table, columns: list[str]) -> str:
    fields = [(c, _PLAIN.get(table.column(c).type.kind, table.column(c).type.sql)) for c in columns]
    return "STRUCT(" + ", ".join(f"{_ident(c)} {t}" for c, t in fields) + ")[]"


class _Sampler:
    """Loads the stored model once, then serves chunks."""

    def __init__(self, con: duckdb.DuckDBPyConnection, name: str, list_type: pa.DataType):
        self.con, self.name, self.list_type, self.model = con, name, list_type, None

    def _load(self):
        return store.load_learned(self.con.cursor(), self.name)

    def __call__(self, n: pa.Array, seed: pa.Array, part: pa.Array) -> pa.Array:
        if self.model is None:
            self.learned = self._load()
            self.model = self.learned.model
        chunks = [self._chunk(*args) for args in zip(n.to_pylist(), seed.to_pylist(), part.to_pylist())]
        return pa.concat_arrays(chunks) if chunks else pa.array([], self.list_type)

    def _chunk(self, n: int, seed: int | None, part: int) -> pa.Array:
        rows = max(0, min(CHUNK, int(n) - int(part) * CHUNK))
        chunk_seed = None if seed is None else int(np.random.SeedSequence([int(seed), int(part)]).generate_state(1)[0])
        sample = self.model.sample(rows, seed=chunk_seed)
        struct_type = self.list_type.value_type
        made = {c: sample.column(c).combine_chunks() for c in sample.column_names}
        if self.learned.rules is not None:  # gaps rebuilt, derived and formatted columns made
            made = self.learned.rules.from_model(made, self.learned.table, rows, np.random.default_rng(chunk_seed))
        columns = [made[f.name].cast(f.type) for f in struct_type]
        values = pa.StructArray.from_arrays(columns, fields=list(struct_type))
        return pa.ListArray.from_arrays(pa.array([0, rows], pa.int32()), values, type=self.list_type)


def _streamed(table: Table, state: dict) -> list[str]:
    model_columns = state.get("model_columns") or list(column_roles(table).model)
    if not state.get("rules"):
        return model_columns
    return TableRules.from_dict(state["rules"]).streamed(table, tuple(model_columns))


def register_table_function(con: duckdb.DuckDBPyConnection, name: str) -> None:
    state = json.loads(store.load_state(con, name))
    table = Table.model_validate(state["table"])
    struct_sql = _struct_sql(table, _streamed(table, state))
    list_type = con.sql(f"SELECT NULL::{struct_sql} AS x").to_arrow_table().schema.field("x").type
    owner = owner_of(con)
    with owner.lock:  # on the owning connection, once per database (function_owner.py)
        _remove_function(owner.connection, name)
        owner.connection.create_function(
            _udf_name(name),
            _Sampler(owner.connection, name, list_type),
            ["BIGINT", "BIGINT", "BIGINT"],
            duckdb.sqltype(struct_sql),
            type="arrow",
            side_effects=True,
            null_handling="special",
        )
        owner.version += 1
    declare_table_macro(con, name)


def declare_table_macro(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """The TEMP table macro over the sampling UDF.  A Python UDF is seen by every cursor
    of its database, a TEMP macro only by the connection that made it: a new cursor
    (dbt-duckdb hands out one per thread) declares the macros again, not the UDFs."""
    run_sql(
        con,
        f"CREATE OR REPLACE TEMP MACRO {_ident(name)}(n, seed := NULL) AS TABLE "
        f"SELECT unnest({_udf_name(name)}(n, seed, part), recursive := true) "
        f"FROM range(CAST(ceil(n / {CHUNK}) AS BIGINT)) t(part)",
    )


def drop_table_function(con: duckdb.DuckDBPyConnection, name: str) -> None:
    owner = owner_of(con)
    with owner.lock:
        _remove_function(owner.connection, name)
        owner.version += 1
    run_sql(con, f"DROP MACRO TABLE IF EXISTS temp.{_ident(name)}")


def _remove_function(con: duckdb.DuckDBPyConnection, name: str) -> None:
    try:
        con.remove_function(_udf_name(name))
    except (duckdb.InvalidInputException, duckdb.CatalogException):
        pass


def declare_all_macros(con: duckdb.DuckDBPyConnection) -> int:
    """A cursor's TEMP macros for every stored synthesizer (their UDFs are the owner's);
    returns the owner's version they were declared at."""
    version = owner_of(con).version
    for name in store.list_names(con):
        declare_table_macro(con, name)
    return version


def register_all(con: duckdb.DuckDBPyConnection) -> None:
    """On connect: every synthesizer stored in this database becomes callable."""
    for name in store.list_names(con):
        register_table_function(con, name)
