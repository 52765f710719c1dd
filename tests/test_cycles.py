"""FK cycles: the planner breaks them at a nullable FK, generated NULL and filled by an
UPDATE once every table exists, inside the statement's transaction."""

from __future__ import annotations

import uuid

import pytest

import synthtab_db
from synthtab_db.dialect import split_script
from synthtab_db.engine.run import run_generate
from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.planner.schema import TableRef
from synthtab_db.statements import generate_statement

DDL = """
CREATE TABLE dept (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, head_id INTEGER UNIQUE);
CREATE TABLE emp (id INTEGER PRIMARY KEY, dept_id INTEGER NOT NULL REFERENCES dept(id), salary DOUBLE);
ALTER TABLE dept ADD FOREIGN KEY (head_id) REFERENCES emp(id);
"""


def _load(con) -> None:
    """The source rows, in tables without the cycle (DuckDB cannot declare it)."""
    con.execute("CREATE TABLE dept (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, head_id INTEGER UNIQUE)")
    con.execute("CREATE TABLE emp (id INTEGER PRIMARY KEY, dept_id INTEGER NOT NULL REFERENCES dept(id), salary DOUBLE)")
    # 30 of 40 departments have a head (set on insert: DuckDB can't UPDATE a referenced table)
    con.execute("INSERT INTO dept SELECT g, 'd' || g, CASE WHEN g % 4 <> 0 THEN g * 3 END FROM range(1, 41) t(g)")
    con.execute("INSERT INTO emp SELECT g, 1 + g % 40, 1000 + g FROM range(1, 601) t(g)")


def test_cycle_from_ddl_is_filled_after_both_tables_exist():
    con = synthtab_db.connect()
    _load(con.duckdb)
    schema = schema_from_ddl(DDL, dialect="postgres")
    schema = schema.model_copy(update={"tables": tuple(
        t.model_copy(update={"ref": TableRef(name=t.name, schema="main"), "foreign_keys": tuple(
            fk.model_copy(update={"ref_table": TableRef(name=fk.ref_table.name, schema="main")})
            for fk in t.foreign_keys)}) for t in schema.tables)})
    (piece,) = split_script("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth WITH (seed = 5)")
    run_generate(con.duckdb, generate_statement(piece.tree), schema=schema)
    heads, distinct, dangling = con.duckdb.execute(
        "SELECT count(head_id), count(DISTINCT head_id), "
        "count(*) FILTER (WHERE head_id IS NOT NULL AND head_id NOT IN (SELECT id FROM synth.emp)) FROM synth.dept"
    ).fetchall()[0]
    assert heads == 30, "the learned share of departments with a head"
    assert distinct == heads, "head_id is UNIQUE: drawn without repeats"
    assert dangling == 0


def test_cycle_in_postgres_round_trip(postgres_dsn):
    psycopg = pytest.importorskip("psycopg")
    src, dst = f"cyc_{uuid.uuid4().hex[:8]}", f"cycs_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as pg:
        pg.execute(f"CREATE SCHEMA {src}")
        pg.execute(f"CREATE TABLE {src}.dept (id int PRIMARY KEY, name text NOT NULL, head_id int UNIQUE)")
        pg.execute(f"CREATE TABLE {src}.emp (id int PRIMARY KEY, dept_id int NOT NULL REFERENCES {src}.dept(id), "
                   "salary float8)")
        pg.execute(f"ALTER TABLE {src}.dept ADD FOREIGN KEY (head_id) REFERENCES {src}.emp(id)")
        pg.execute(f"INSERT INTO {src}.dept SELECT g, 'd' || g, NULL FROM generate_series(1, 40) g")
        pg.execute(f"INSERT INTO {src}.emp SELECT g, 1 + g % 40, 1000 + g FROM generate_series(1, 600) g")
        pg.execute(f"UPDATE {src}.dept SET head_id = id * 3 WHERE id % 4 <> 0")
    try:
        con = synthtab_db.connect()
        con.execute(f"ATTACH POSTGRES '{postgres_dsn}' AS pg")
        con.execute(f"GENERATE SYNTHETIC FROM DATABASE pg.{src} INTO SCHEMA pg.{dst} WITH (seed = 2)")
        with psycopg.connect(postgres_dsn) as pg:
            heads, dangling = pg.execute(
                f"SELECT count(head_id), count(*) FILTER (WHERE head_id IS NOT NULL AND head_id NOT IN "
                f"(SELECT id FROM {dst}.emp)) FROM {dst}.dept").fetchone()
            declared = pg.execute(
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = %s::regnamespace",
                [dst]).fetchone()[0]
        assert heads == 30 and dangling == 0
        assert declared == 2, "both FKs of the cycle are declared on the PostgreSQL target"
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as pg:
            pg.execute(f"DROP SCHEMA IF EXISTS {src} CASCADE")
            pg.execute(f"DROP SCHEMA IF EXISTS {dst} CASCADE")
