"""A real PostgreSQL reaches the proxy through postgres_fdw (sql/postgres/fdw_setup.sql):
IMPORT FOREIGN SCHEMA, SELECT with WHERE/ORDER BY/LIMIT and aggregates pushed down,
CREATE TABLE … AS SELECT from a foreign table, prepared INSERTs and a rolled-back one."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

import synthtab_db
from synthtab_db.datasets import load_relational
from synthtab_db.proxy import serve

psycopg = pytest.importorskip("psycopg", reason="psycopg not installed: pip install 'synthtab-db[postgres]'")

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "sql" / "postgres" / "fdw_setup.sql"
CHINOOK = Path(synthtab_db.__file__).parent / "data" / "chinook"
PASSWORD = "fdw-pw"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    con = synthtab_db.connect(str(tmp_path_factory.mktemp("fdw") / "shop.duckdb"))
    load_relational(con.duckdb, CHINOOK)
    con.execute("GENERATE SYNTHETIC FROM (track) INTO SCHEMA synth WITH (seed = 5)")
    con.execute('CREATE TABLE synth.notes (id INTEGER, body VARCHAR, "at" TIMESTAMPTZ, amount DECIMAL(8,2))')
    yield con
    con.close()


@pytest.fixture(scope="module")
def foreign(postgres_dsn, database):
    """The proxy, and the foreign schema a PostgreSQL session sees it through (names unique per run)."""
    if shutil.which("psql") is None:
        pytest.skip("psql (PostgreSQL client) not installed")
    server = serve(database.duckdb, port=0, password=PASSWORD)
    server.serve_in_thread()
    suffix = uuid.uuid4().hex[:8]
    names = {"server": f"synthtab_t{suffix}", "schema": f"synth_remote_{suffix}"}
    pg = psycopg.connect(postgres_dsn, autocommit=True)
    try:
        if not pg.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgres_fdw'").fetchone():
            pytest.skip("postgres_fdw is not installed in this PostgreSQL")
        _run_setup(postgres_dsn, server.port, names)
        yield pg, names["schema"]
    finally:
        pg.execute(f'DROP SCHEMA IF EXISTS "{names["schema"]}" CASCADE')
        pg.execute(f'DROP SERVER IF EXISTS "{names["server"]}" CASCADE')
        pg.close()
        server.stop()


def _run_setup(postgres_dsn: str, port: int, names: dict) -> None:
    variables = {"port": port, "password": PASSWORD, "remote": "synth", **names}
    args = ["psql", "-X", "-q", "-d", postgres_dsn, "-f", str(SETUP)]
    for key, value in variables.items():
        args += ["-v", f"{key}={value}"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, env=dict(os.environ, PGCONNECT_TIMEOUT="5"))
    assert out.returncode == 0, out.stderr


def _plan(pg, sql: str) -> str:
    return "\n".join(r[0] for r in pg.execute("EXPLAIN VERBOSE " + sql).fetchall())


def test_import_foreign_schema_brings_every_synthetic_table(foreign, database):
    pg, schema = foreign
    imported = {r[0] for r in pg.execute(
        "SELECT foreign_table_name FROM information_schema.foreign_tables WHERE foreign_table_schema = %s", [schema]
    )}
    expected = {r[0] for r in database.duckdb.cursor().execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'synth'"
    ).fetchall()}
    assert imported == expected and {"track", "album", "artist"} <= imported
    types = dict(pg.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = 'track'",
        [schema],
    ).fetchall())
    assert types["unit_price"] == "numeric" and types["track_id"] == "integer"


def test_select_with_where_order_limit_is_pushed_down(foreign, database):
    pg, schema = foreign
    sql = f"SELECT track_id, name FROM {schema}.track WHERE milliseconds > 250000 ORDER BY track_id LIMIT 7"
    plan = _plan(pg, sql)
    assert "WHERE ((milliseconds > 250000))" in plan and "LIMIT 7" in plan and "ORDER BY track_id" in plan
    expected = database.duckdb.cursor().execute(
        "SELECT track_id, name FROM synth.track WHERE milliseconds > 250000 ORDER BY track_id LIMIT 7"
    ).fetchall()
    assert pg.execute(sql).fetchall() == expected and len(expected) == 7


def test_aggregates_are_pushed_down_after_analyze(foreign, database):
    pg, schema = foreign
    pg.execute(f"ANALYZE {schema}.track")
    sql = f"SELECT genre_id, count(*), sum(unit_price) FROM {schema}.track GROUP BY genre_id"
    plan = _plan(pg, sql)
    assert "Aggregate on" in plan and "GROUP BY" in plan.split("Remote SQL:")[1]
    got = sorted(pg.execute(sql).fetchall(), key=lambda r: (r[0] is None, r[0]))
    expected = database.duckdb.cursor().execute(
        "SELECT genre_id, count(*), sum(unit_price) FROM synth.track GROUP BY genre_id ORDER BY genre_id NULLS LAST"
    ).fetchall()
    assert [(g, n, Decimal(s)) for g, n, s in got] == [(g, n, Decimal(s)) for g, n, s in expected]


def test_create_table_as_select_from_a_foreign_table(foreign, database):
    pg, schema = foreign
    local = f"{schema}_copy"
    try:
        pg.execute(f"CREATE TABLE {local} AS SELECT * FROM {schema}.album")
        count, orphans = pg.execute(
            f"SELECT count(*), count(*) FILTER (WHERE ar.artist_id IS NULL) FROM {local} a "
            f"LEFT JOIN {schema}.artist ar ON ar.artist_id = a.artist_id"
        ).fetchone()
    finally:
        pg.execute(f"DROP TABLE IF EXISTS {local}")
    assert count == database.duckdb.cursor().execute("SELECT count(*) FROM synth.album").fetchone()[0]
    assert count > 0 and orphans == 0  # the synthetic FK holds across the wire


def test_prepared_inserts_and_a_rolled_back_transaction(foreign, database):
    pg, schema = foreign
    pg.execute(f"INSERT INTO {schema}.notes VALUES (1, 'a', '2024-05-06 07:08:09+02', 1.25), (2, 'it''s', NULL, NULL)")
    with pg.transaction(force_rollback=True):
        pg.execute(f"INSERT INTO {schema}.notes VALUES (3, 'never', NULL, NULL)")
    pg.execute(f"UPDATE {schema}.notes SET body = 'b' WHERE id = 1")
    rows = database.duckdb.cursor().execute("SELECT id, body, amount FROM synth.notes ORDER BY id").fetchall()
    assert rows == [(1, "b", Decimal("1.25")), (2, "it's", None)]
    at = pg.execute(f"SELECT at FROM {schema}.notes WHERE id = 1").fetchone()[0]
    assert at.isoformat().startswith("2024-05-06T05:08:09")  # same instant (UTC)


def test_synthtab_generate_returns_typed_rows_and_refreshes_foreign_tables(foreign, database):
    pg, schema = foreign
    server = schema.replace("synth_remote_", "synthtab_t")
    result = pg.execute(
        "SELECT \"table\", rows, model, rejected_rows FROM synthtab.generate("
        "'GENERATE SYNTHETIC FROM main.genre ROWS 7 INTO synth.fresh_genre USING copula WITH (seed = 3, replace = true)',"
        " %s, %s)",
        [server, schema],
    ).fetchall()
    assert result == [("synth.fresh_genre", 7, "copula", 0)]
    assert pg.execute(f'SELECT count(*) FROM "{schema}".fresh_genre').fetchone() == (7,)
    pg.execute("SELECT * FROM synthtab.generate('GENERATE SYNTHETIC FROM main.genre ROWS 4 INTO synth.fresh_genre "
               "USING copula WITH (seed = 4, replace = true)', %s, %s)", [server, schema])
    assert pg.execute(f'SELECT count(*) FROM "{schema}".fresh_genre').fetchone() == (4,)
