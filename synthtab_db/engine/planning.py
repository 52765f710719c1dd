"""The engine's side of planning: read the facts a plan needs from the database (row
counts, existing tables, a stored synthesizer's description), then hand them to the pure
planner.  Both GENERATE and EXPLAIN GENERATE come through here."""

from __future__ import annotations

import json

import duckdb

from synthtab_db import catalog, store
from synthtab_db.device import refuse_unavailable
from synthtab_db.duck import first_row
from synthtab_db.models import default_model, get_model
from synthtab_db.planner.generate import plan_generate, tables_to_count
from synthtab_db.planner.schema import Schema, Table, TableRef
from synthtab_db.planner.steps import GeneratePlan, PlanInputs, StoredSynthesizer, count_key
from synthtab_db.privacy import budget
from synthtab_db.sqlbuild import count_rows
from synthtab_db.statements import GenerateStatement, split_options


def current_schema(con: duckdb.DuckDBPyConnection) -> str:
    return first_row(con, "SELECT current_schema()")[0]


def prepare_statement(statement: GenerateStatement) -> tuple[GenerateStatement, str]:
    """Options split for the model (refused by name when unknown); the model's name."""
    if statement.synthesizer:
        return split_options(statement, None), ""
    model = get_model(statement.using or default_model())
    budget.require_support(model, statement.model_options)
    statement = split_options(statement, model.options_model)
    refuse_unavailable(statement.options.device)
    return statement, model.name


def plan_statement(
    con: duckdb.DuckDBPyConnection, statement: GenerateStatement, schema: Schema | None = None
) -> tuple[GeneratePlan, GenerateStatement]:
    """``schema`` replaces the DuckDB catalog's (the PostgreSQL bridge passes the source's own)."""
    statement, model = prepare_statement(statement)
    stored = _stored(con, statement.synthesizer) if statement.synthesizer else None
    schema = catalog.read_schema(con) if stored or schema is None else schema
    at = current_schema(con)
    inputs = PlanInputs(
        current_schema=at,
        model=stored[1] if stored else model,
        counts={count_key(ref): count_rows(con, ref) for ref in tables_to_count(statement, schema, at)},
        existing=_existing_tables(con),
        stored=stored[0] if stored else None,
    )
    return plan_generate(statement, schema, inputs), statement


def _stored(con: duckdb.DuckDBPyConnection, name: str) -> tuple[StoredSynthesizer, str]:
    """A stored synthesizer's table and counts (its weights are loaded only to run)."""
    row = store.load_synthesizer(con, name)
    state = json.loads(row["state"])
    described = StoredSynthesizer(
        name=row["name"],
        table=Table.model_validate(state["table"]),
        source_rows=int(state["source_rows"]),
        main=tuple(state["main"]) if state.get("main") else None,
    )
    return described, state["model"]


def _existing_tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    rows = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
    return frozenset(count_key(TableRef(name=t, schema=s)) for s, t in rows)
