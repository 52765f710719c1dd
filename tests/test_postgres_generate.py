"""PostgreSQL as source and target, against the real server: Chinook loaded into one
schema, generated into another, audited with SQL inside PostgreSQL; exact types
through COPY; one transaction (a failure leaves nothing); the pg CLI."""

from __future__ import annotations

import uuid

import pytest
from conftest import dataset

import synthtab_db
from synthtab_db.cli import main as cli_main
from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.planner.schema import TableRef
from synthtab_db.postgres import generate as pg_generate
from synthtab_db.postgres import transfer

psycopg = pytest.importorskip("psycopg", reason="psycopg not installed: pip install 'synthtab-db[postgres]'")


@pytest.fixture(scope="module")
def pg(postgres_dsn):
    """An autocommit connection; every schema a test makes is dropped at the end."""
    conn = psycopg.connect(postgres_dsn, autocommit=True)
    made: list[str] = []
    conn.made = made
    yield conn
    for schema in made:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.close()


def fresh(pg, stem: str) -> str:
    name = f"{stem}_{uuid.uuid4().hex[:8]}"
    pg.made.append(name)
    return name


def load_chinook(pg, schema: str) -> None:
    folder = dataset("chinook")
    ddl = (folder / "schema.sql").read_text()
    pg.execute(f'CREATE SCHEMA "{schema}"')
    pg.execute(f'SET search_path = "{schema}"')
    pg.execute(ddl)
    for table in schema_from_ddl(ddl).tables:
        with open(folder / f"{table.name}.csv", "rb") as data:
            with pg.cursor().copy(f"COPY {table.name} FROM STDIN (FORMAT csv, HEADER true)") as copy:
                copy.write(data.read())
    pg.execute("ALTER TABLE track ADD CHECK (unit_price >= 0 AND milliseconds > 0)")
    pg.execute("ALTER TABLE invoice ADD CONSTRAINT invoice_total_ok CHECK (total >= 0)")
    pg.execute("ALTER TABLE genre ADD UNIQUE (name)")
    pg.execute("RESET search_path")


@pytest.fixture(scope="module")
def chinook(pg, postgres_dsn):
    """Chinook in PostgreSQL and its synthetic copy, generated with SQL from DuckDB."""
    source, target = fresh(pg, "chinook_src"), fresh(pg, "chinook_syn")
    load_chinook(pg, source)
    with synthtab_db.connect() as con:
        con.execute(f"ATTACH POSTGRES '{postgres_dsn}' AS pg")
        result = con.execute(f"GENERATE SYNTHETIC FROM DATABASE pg.{source} INTO SCHEMA pg.{target} WITH (seed = 4)")
        summary = {row[0]: row[2] for row in result.fetchall()}
    return source, target, summary


def constraints(pg, schema: str) -> list[tuple[str, str, str]]:
    return pg.execute(
        "SELECT c.relname, con.contype, pg_get_constraintdef(con.oid) FROM pg_constraint con "
        "JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s ORDER BY 1, 2, 3",
        [schema],
    ).fetchall()


def violations(pg, schema: str) -> dict[str, int]:
    """An audit written in PostgreSQL's SQL from its catalog: duplicate keys, orphans, failed CHECKs."""
    found = {}
    for table, kind, definition in constraints(pg, schema):
        qualified = f'"{schema}"."{table}"'
        if kind in ("p", "u"):
            cols = definition[definition.index("(") + 1 : definition.index(")")]
            query = f"SELECT count(*) FROM (SELECT {cols} FROM {qualified} GROUP BY {cols} HAVING count(*) > 1) d"
        elif kind == "c":
            query = f"SELECT count(*) FROM {qualified} WHERE NOT {definition[len('CHECK '):]}"
        else:
            cols = definition[definition.index("(") + 1 : definition.index(")")]
            parent = definition.split("REFERENCES ")[1]
            parent_table, parent_cols = parent.split("(")[0], parent.split("(")[1].rstrip(")")
            on = " AND ".join(f"c.{a.strip()} = p.{b.strip()}" for a, b in zip(cols.split(","), parent_cols.split(",")))
            present = " AND ".join(f"c.{a.strip()} IS NOT NULL" for a in cols.split(","))
            query = (
                f"SELECT count(*) FROM {qualified} c WHERE {present} AND NOT EXISTS "
                f"(SELECT 1 FROM {parent_table} p WHERE {on})"
            )
        found[f"{table} {kind} {definition}"] = pg.execute(query).fetchone()[0]
    return found


def test_chinook_round_trip_keeps_every_constraint_with_zero_violations(pg, chinook):
    source, target, summary = chinook
    source_constraints = constraints(pg, source)
    target_constraints = constraints(pg, target)
    assert [(t, k) for t, k, _ in target_constraints] == [(t, k) for t, k, _ in source_constraints]
    assert any(k == "c" for _, k, _ in target_constraints) and any(k == "f" for _, k, _ in target_constraints)
    audit = violations(pg, target)
    assert len(audit) == len(target_constraints) >= 20
    assert {k: v for k, v in audit.items() if v} == {}
    for table in ("track", "invoice_line", "employee"):
        rows = pg.execute(f'SELECT count(*) FROM "{target}"."{table}"').fetchone()[0]
        assert rows == summary[f"pg.{target}.{table}"] > 0


def test_targets_keep_the_source_column_types(pg, chinook):
    source, target, _ = chinook

    def column_types(schema):
        return pg.execute(
            "SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, "
            "is_nullable FROM information_schema.columns WHERE table_schema = %s ORDER BY 1, ordinal_position",
            [schema],
        ).fetchall()

    assert column_types(target) == column_types(source)


TYPES_DDL = """
CREATE TYPE {s}.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN {s}.positive AS integer NOT NULL CHECK (VALUE > 0);
CREATE TABLE {s}.things (
    id integer PRIMARY KEY,
    code uuid NOT NULL UNIQUE,
    price numeric(10, 2) CHECK (price >= 0),
    ratio numeric,
    born date,
    seen timestamptz,
    stamp timestamp,
    tags text[],
    scores integer[],
    doc jsonb,
    meta json,
    feeling {s}.mood,
    qty {s}.positive,
    flag boolean,
    label varchar(12),
    raw bytea,
    took interval
);
INSERT INTO {s}.things
SELECT i, md5(i::text)::uuid, (i * 1.37)::numeric(10, 2), i / 7.0, DATE '2020-01-01' + i,
       TIMESTAMPTZ '2021-06-01 12:00:00+02' + i * INTERVAL '5 hours', TIMESTAMP '2022-01-01 00:00:00' + i * INTERVAL '1 minute',
       ARRAY['a' || (i % 3), 'b "q"', NULL], ARRAY[i, i * 2], jsonb_build_object('k', i, 'v', ARRAY[1, 2]),
       json_build_object('n', 'x,y'), (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::{s}.mood, 1 + i % 9, i % 2 = 0,
       'L' || (i % 5), decode(lpad(to_hex(i), 4, '0'), 'hex'), make_interval(days => i % 4, hours => i % 24)
FROM generate_series(1, 60) AS i;
"""


@pytest.fixture(scope="module")
def things(pg):
    schema = fresh(pg, "types_src")
    pg.execute(f'CREATE SCHEMA "{schema}"')
    pg.execute(TYPES_DDL.format(s=schema))
    return schema


def test_copy_keeps_values_exact_both_ways(pg, things, postgres_dsn, tmp_path):
    """PostgreSQL -> DuckDB -> PostgreSQL gives back the same rows, value for value."""
    from synthtab_db.postgres.connect import open_postgres
    from synthtab_db.postgres.schema import read_pg_schema

    back = fresh(pg, "types_back")
    with open_postgres(postgres_dsn) as conn, synthtab_db.connect() as duck:
        table = read_pg_schema(conn, [things]).schema.table(TableRef(schema=things, name="things"))
        duck.execute("SET TimeZone = 'UTC'")
        duck.execute(f'CREATE SCHEMA "{things}"')
        duck.execute(f"CREATE TABLE {transfer.qualified(table.ref)} ("
                     + ", ".join(f'"{c.name}" {c.type.sql}' for c in table.columns) + ")")
        assert transfer.copy_into_duckdb(conn, duck.duckdb, table, table.ref, tmp_path) == 60
        conn.execute(f'CREATE SCHEMA "{back}"')
        conn.execute(f'CREATE TABLE "{back}".things (LIKE "{things}".things)')
        target = table.model_copy(update={"ref": table.ref.model_copy(update={"schema": back})})
        with conn.transaction():
            transfer.copy_into_postgres(duck.duckdb, table, conn, target.ref, tmp_path, {})
    columns = [r[0] for r in pg.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
        [f"{things}.things"],
    ).fetchall()]
    exact = ", ".join(c for c in columns if c != "ratio")
    digest = "SELECT md5(string_agg(row({}) ::text, '|' ORDER BY id)) FROM {}.things"
    assert pg.execute(digest.format(exact, f'"{back}"')).fetchone() == pg.execute(
        digest.format(exact, f'"{things}"')
    ).fetchone()
    # unconstrained numeric travels as DECIMAL(38,10): equal to 10 decimal places
    worst = pg.execute(
        f'SELECT max(abs(a.ratio - b.ratio)) FROM "{things}".things a JOIN "{back}".things b USING (id)'
    ).fetchone()[0]
    assert worst < 1e-10


def test_generate_one_table_with_enums_domains_arrays_and_json(pg, things, postgres_dsn):
    target = fresh(pg, "types_syn")
    with synthtab_db.connect() as con:
        con.execute(f"ATTACH POSTGRES '{postgres_dsn}' AS src")
        con.execute(f"GENERATE SYNTHETIC FROM src.{things}.things ROWS 40 INTO src.{target}.things WITH (seed = 2)")
    column_types = (
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = %s::regclass "
        "AND a.attnum > 0 ORDER BY a.attnum"
    )
    assert pg.execute(column_types, [f"{target}.things"]).fetchall() == pg.execute(
        column_types, [f"{things}.things"]
    ).fetchall()
    count, bad, arrays, moods = pg.execute(
        f'SELECT count(*), count(*) FILTER (WHERE qty <= 0 OR price < 0 OR length(label) > 12), '
        f"count(*) FILTER (WHERE array_length(scores, 1) >= 1), count(DISTINCT feeling) "
        f'FROM "{target}".things'
    ).fetchone()
    assert (count, bad) == (40, 0) and arrays > 0 and moods >= 2
    kinds = {k for _, k, _ in constraints(pg, target)}
    assert {"p", "u", "c"} <= kinds


def test_a_failure_while_writing_leaves_nothing_behind(pg, chinook, postgres_dsn, monkeypatch):
    from synthtab_db.postgres import run as generate_module

    source, _, _ = chinook
    target = fresh(pg, "chinook_fail")
    real_copy, written = generate_module.copy_into_postgres, []

    def failing_copy(*args, **kwargs):
        if len(written) == 3:
            raise RuntimeError("disk full (injected)")
        written.append(args[3])
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(generate_module, "copy_into_postgres", failing_copy)
    with pytest.raises(RuntimeError, match="injected"):
        pg_generate(postgres_dsn, source_schema=source, into_schema=target, seed=1)
    assert len(written) == 3  # three tables were created and filled inside the transaction …
    assert pg.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [target]).fetchone() == (0,)


def test_existing_target_and_unattached_names_are_refused(pg, chinook, postgres_dsn):
    source, target, _ = chinook
    with pytest.raises(synthtab_db.SynthError, match="already exists"):
        pg_generate(postgres_dsn, source_schema=source, into_schema=target)
    with synthtab_db.connect() as con:
        with pytest.raises(synthtab_db.SynthError, match="unknown source table|nowhere"):
            con.execute(f"GENERATE SYNTHETIC FROM nowhere.{source}.track ROWS 5")
        with pytest.raises(synthtab_db.SynthError, match="cannot connect"):
            con.execute("ATTACH POSTGRES 'host=127.0.0.1 port=1 connect_timeout=2' AS bad")


def test_cli_pg_generate_one_table(pg, chinook, postgres_dsn, capsys):
    source, _, _ = chinook
    target = fresh(pg, "cli_syn")
    code = cli_main(["pg", "generate", "--dsn", postgres_dsn, "--from", source, "--into", target,
                     "--table", "album", "--rows", "30", "--with", "seed=9"])
    assert code == 0 and f"{target}.album" in capsys.readouterr().out
    rows, orphans = pg.execute(
        f'SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM "{source}".artist p '
        f'WHERE p.artist_id = a.artist_id)) FROM "{target}".album a'
    ).fetchone()
    assert (rows, orphans) == (30, 0)  # the FK points at the source's artists
    assert [r[1] for r in constraints(pg, target)].count("f") == 1


