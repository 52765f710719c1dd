"""GENERATE with a PostgreSQL source and target.

DuckDB 2.0 cannot load its postgres extension offline, so the work goes through
psycopg: the source's schema and constraints are read from PostgreSQL's catalog,
the tables it needs are COPYed into a scratch DuckDB file, synthtab_db's engine
generates there, and the targets are created in PostgreSQL with the source's
types and constraints and filled with COPY, all in ONE PostgreSQL transaction:
if anything fails, nothing is left behind.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa

import synthtab_db
from synthtab_db.engine.planning import plan_statement
from synthtab_db.engine.run import run_generate
from synthtab_db.errors import SynthError
from synthtab_db.planner.graph import parent_ref
from synthtab_db.planner.plan import close_under_parents
from synthtab_db.planner.schema import Schema, Table, TableRef
from synthtab_db.postgres.connect import open_postgres
from synthtab_db.postgres.schema import PgSchema, read_pg_schema
from synthtab_db.postgres.transfer import copy_into_duckdb, copy_into_postgres, ident, qualified
from synthtab_db.statements import GenerateStatement


def generate_in_postgres(dsn: str, statement: GenerateStatement, alias: str = "pg", progress=None) -> pa.Table:
    """Run a GENERATE whose source and targets are schema-qualified PostgreSQL names."""
    _require_schemas(statement)
    with open_postgres(dsn) as pg:
        pg_schema = read_pg_schema(pg, [_source_schema(statement)])
        needed = _needed_tables(pg_schema.schema, statement)
        with tempfile.TemporaryDirectory(prefix="synthtab_pg_") as folder:
            work = Path(folder)
            scratch = _scratch(pg, pg_schema, needed, work)
            try:
                targets = _targets(scratch, pg_schema.schema, statement)
                _refuse_existing(pg, targets, statement)
                result = run_generate(scratch.duckdb, statement, progress, schema=pg_schema.schema)
                _write_targets(scratch, pg, pg_schema, targets, statement, work)
            finally:
                scratch.close()
    return _renamed(result, alias)


def _require_schemas(statement: GenerateStatement) -> None:
    if statement.synthesizer:
        raise SynthError("FROM SYNTHESIZER reads a DuckDB database; PostgreSQL sources are tables or DATABASE")
    if statement.database:
        if not statement.source_schema:
            raise SynthError("FROM DATABASE <name>.<schema>: name the PostgreSQL schema to read")
        if statement.tables:
            raise SynthError("FROM (a, b, …) is not supported for PostgreSQL yet; use FROM DATABASE or one table")
        return
    if statement.source.schema is None or (statement.into and statement.into.schema is None):
        raise SynthError("PostgreSQL tables are named <name>.<schema>.<table>, e.g. pg.public.customers")


def _source_schema(statement: GenerateStatement) -> str:
    return statement.source_schema if statement.database else statement.source.schema


def _needed_tables(schema: Schema, statement: GenerateStatement) -> list[Table]:
    """The source tables and every parent their foreign keys need, parents first."""
    if statement.database:
        members = [t.ref for t in schema.tables if t.ref.schema == statement.source_schema]
        if not members:
            raise SynthError(f"PostgreSQL schema {statement.source_schema!r} has no tables to generate from")
    else:
        if not schema.has_table(statement.source):
            raise SynthError(f"unknown PostgreSQL table {statement.source}")
        members = [schema.table(statement.source).ref]
    closed = close_under_parents(schema, members)
    return [schema.table(ref) for ref in closed]


def _targets(scratch, schema: Schema, statement: GenerateStatement) -> dict[tuple, TableRef]:
    """Source table key -> target ref, as the plan names them (the engine plans once more to run)."""
    plan, _ = plan_statement(scratch.duckdb, statement, schema=schema)
    return {step.source.key(): step.target for step in plan.steps}


def _exists(pg, ref: TableRef) -> bool:
    return pg.execute("SELECT to_regclass(%s) IS NOT NULL", [qualified(ref)]).fetchone()[0]


def _refuse_existing(pg, targets: dict, statement: GenerateStatement) -> None:
    if statement.model_options.get("append"):
        raise SynthError("WITH (append = true) is not supported for PostgreSQL targets yet; use replace")
    for target in targets.values():
        if _exists(pg, target) and not statement.model_options.get("replace"):
            raise SynthError(f"PostgreSQL table {target} already exists; use WITH (replace = true)")


def _scratch(pg, pg_schema: PgSchema, needed: list[Table], folder: Path) -> synthtab_db.Connection:
    """A DuckDB file holding the source tables (columns only: the engine gets the constraints as a Schema)."""
    scratch = synthtab_db.connect(str(folder / "scratch.duckdb"))
    scratch.execute("SET TimeZone = 'UTC'")
    for schema_name in {t.ref.schema for t in needed}:
        scratch.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema_name)}")
    for table in needed:
        columns = ", ".join(f"{ident(c.name)} {c.type.sql}" for c in table.columns)
        scratch.execute(f"CREATE TABLE {qualified(table.ref)} ({columns})")
        copy_into_duckdb(pg, scratch.duckdb, table, table.ref, folder)
    return scratch


def _write_targets(scratch, pg, pg_schema: PgSchema, targets: dict, statement, folder: Path) -> None:
    """One PostgreSQL transaction: create every target, COPY its rows, then add the foreign keys."""
    tables = _generated(pg_schema, targets)  # any order: foreign keys are added after every COPY
    with pg.transaction():
        for schema_name in {targets[t.ref.key()].schema for t in tables}:
            pg.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema_name)}")
        for table in reversed(tables):
            pg.execute(f"DROP TABLE IF EXISTS {qualified(targets[table.ref.key()])} CASCADE")
        for table in tables:
            target = targets[table.ref.key()]
            pg.execute(_create_table_sql(pg_schema, table, target))
            generated = Table(ref=target, columns=table.columns)
            copy_into_postgres(scratch.duckdb, generated, pg, target, folder, pg_schema.pg_table(table.ref).lengths)
        for table in tables:
            for sql in _foreign_key_sql(pg_schema.schema, table, targets):
                pg.execute(sql)


def _generated(pg_schema: PgSchema, targets: dict) -> list[Table]:
    return [t for t in pg_schema.schema.tables if t.ref.key() in targets]


def _create_table_sql(pg_schema: PgSchema, table: Table, target: TableRef) -> str:
    """The source's PostgreSQL types, NOT NULLs, keys and CHECKs; names left to PostgreSQL
    (a PRIMARY KEY's index name must be unique in its schema)."""
    pg_table = pg_schema.pg_table(table.ref)
    items = [f"{ident(name)} {pg_type}{' NOT NULL' if not_null else ''}" for name, pg_type, not_null in pg_table.columns]
    items += pg_table.definitions
    return f"CREATE TABLE {qualified(target)} ({', '.join(items)})"


def _foreign_key_sql(schema: Schema, table: Table, targets: dict) -> list[str]:
    """Each FK points at the generated parent, or at the source parent when that was not generated."""
    out = []
    target = targets[table.ref.key()]
    for fk in table.foreign_keys:
        parent = parent_ref(schema, fk)
        parent_target = targets.get(parent.key(), parent)
        out.append(
            f"ALTER TABLE {qualified(target)} ADD FOREIGN KEY ({', '.join(ident(c) for c in fk.columns)}) "
            f"REFERENCES {qualified(parent_target)} ({', '.join(ident(c) for c in fk.ref_columns)})"
        )
    return out


def _renamed(result: pa.Table, alias: str) -> pa.Table:
    """Result rows name PostgreSQL tables as the statement did: pg.synth.customers."""
    for column in ("table", "source"):
        if column in result.column_names:
            values = [f"{alias}.{v}" if v else v for v in result.column(column).to_pylist()]
            result = result.set_column(result.column_names.index(column), column, pa.array(values, pa.string()))
    return result
