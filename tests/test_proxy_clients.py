"""The wire proxy with real clients: psql and psycopg against a DuckDB database
(the bundled Chinook), answers compared with DuckDB's own."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

import synthtab_db
from synthtab_db.datasets import load_relational
from synthtab_db.proxy import serve

psycopg = pytest.importorskip("psycopg", reason="psycopg not installed: pip install 'synthtab-db[postgres]'")

CHINOOK = Path(synthtab_db.__file__).parent / "data" / "chinook"
PASSWORD = "s3cret-pw"


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    con = synthtab_db.connect(str(tmp_path_factory.mktemp("proxy") / "shop.duckdb"))
    load_relational(con.duckdb, CHINOOK)
    yield con
    con.close()


@pytest.fixture(scope="module")
def proxy(database):
    server = serve(database.duckdb, port=0, password=PASSWORD)
    server.serve_in_thread()
    yield server
    server.stop()


def dsn(server, password=PASSWORD, **extra) -> str:
    parts = {"host": "127.0.0.1", "port": server.port, "user": "synth", "password": password, "dbname": "anything"}
    parts.update(extra)
    return " ".join(f"{k}={v}" for k, v in parts.items())


def direct(database, sql: str) -> list[tuple]:
    return database.duckdb.cursor().execute(sql).fetchall()


def test_psql_runs_a_query(proxy, database):
    if shutil.which("psql") is None:
        pytest.skip("psql (PostgreSQL client) not installed")
    env = dict(os.environ, PGPASSWORD=PASSWORD, PGCONNECT_TIMEOUT="5")
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", "synth", "-d", "whatever", "-At", "-F", "|",
         "-c", "SELECT genre_id, count(*) FROM track GROUP BY genre_id ORDER BY genre_id LIMIT 3"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    expected = direct(database, "SELECT genre_id, count(*) FROM track GROUP BY genre_id ORDER BY genre_id LIMIT 3")
    assert out.stdout.split() == [f"{g}|{n}" for g, n in expected]


def test_psycopg_simple_query_types_and_oids(proxy, database):
    with psycopg.connect(dsn(proxy), autocommit=True) as conn:
        cur = conn.execute("SELECT track_id, name, unit_price, milliseconds FROM track ORDER BY track_id LIMIT 5")
        rows = cur.fetchall()
        oids = [c.type_code for c in cur.description]
    assert rows == direct(database, "SELECT track_id, name, unit_price, milliseconds FROM track ORDER BY track_id LIMIT 5")
    assert oids == [23, 25, 1700, 23]  # int4, text, numeric, int4
    assert isinstance(rows[0][2], Decimal)


def test_psycopg_parameters_text_and_binary(proxy, database):
    with psycopg.connect(dsn(proxy), autocommit=True) as conn:
        got = conn.execute(
            "SELECT name FROM track WHERE genre_id = %s AND unit_price >= %s AND name LIKE %s ORDER BY track_id",
            [1, Decimal("0.99"), "A%"],
        ).fetchall()
        echoed = conn.execute(
            "SELECT %s::bigint, %s, %s, %s, %s, %s", [2**40, 2.5, dt.date(2021, 3, 4), True, [1, 2, 3], "it's"]
        ).fetchone()
        binary = conn.cursor(binary=True).execute("SELECT %b::int + 1, %b", [41, "x"]).fetchone()
    expected = direct(
        database,
        "SELECT name FROM track WHERE genre_id = 1 AND unit_price >= 0.99 AND name LIKE 'A%' ORDER BY track_id",
    )
    assert got == expected and got
    assert echoed == (2**40, 2.5, dt.date(2021, 3, 4), True, [1, 2, 3], "it's")
    assert binary == (42, "x")


def test_server_side_cursor_fetches_in_batches(proxy, database):
    with psycopg.connect(dsn(proxy)) as conn:
        with conn.cursor(name="tracks") as cur:
            cur.itersize = 250
            cur.execute("SELECT track_id FROM track WHERE genre_id = %s ORDER BY track_id", [1])
            first = cur.fetchmany(10)
            rest = cur.fetchall()
    with psycopg.connect(dsn(proxy), autocommit=True) as conn:
        with conn.cursor(name="held", withhold=True) as cur:
            cur.execute("SELECT genre_id FROM genre ORDER BY genre_id")
            held = [r[0] for r in cur.fetchmany(3) + cur.fetchall()]
    assert held == [r[0] for r in direct(database, "SELECT genre_id FROM genre ORDER BY genre_id")]
    ids = [r[0] for r in first + rest]
    assert ids == [r[0] for r in direct(database, "SELECT track_id FROM track WHERE genre_id = 1 ORDER BY track_id")]


def test_transactions_commit_rollback_and_failed_block(proxy, database):
    with psycopg.connect(dsn(proxy)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER, body VARCHAR)")
        conn.commit()
        conn.execute("INSERT INTO notes VALUES (%s, %s)", [1, "kept"])
        conn.commit()
        conn.execute("INSERT INTO notes VALUES (%s, %s)", [2, "rolled back"])
        conn.rollback()
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM no_such_table")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall() == [(1, "kept")]


def test_errors_carry_sqlstate_and_the_connection_recovers(proxy):
    with psycopg.connect(dsn(proxy), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("SELEC 1")
        with pytest.raises(psycopg.Error) as err:
            conn.execute("GENERATE SYNTHETIC FROM no_such_table ROWS 5")
        assert "no_such_table" in str(err.value)
        assert conn.execute("SELECT 40 + %s", [2]).fetchone() == (42,)


def test_generate_through_the_proxy_in_psycopgs_default_transaction(proxy, database):
    with psycopg.connect(dsn(proxy)) as conn:
        result = conn.execute("GENERATE SYNTHETIC FROM genre ROWS 12 INTO synth_genre WITH (seed = 3, replace = true)")
        summary = dict(zip([c.name for c in result.description], result.fetchone()))
        conn.commit()
        count = conn.execute("SELECT count(*), count(DISTINCT genre_id) FROM synth_genre").fetchone()
    assert summary["rows"] == 12 and summary["table"].endswith("synth_genre")
    assert count == (12, 12)  # the primary key holds
    assert direct(database, "SELECT count(*) FROM synth_genre") == [(12,)]


def test_wrong_password_is_refused(proxy):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dsn(proxy, password="not-it"), connect_timeout=5)


def test_md5_and_trust_methods(database):
    md5 = serve(database.duckdb, port=0, password="pw", auth="md5")
    trust = serve(database.duckdb, port=0, trust=True)
    for server in (md5, trust):
        server.serve_in_thread()
    try:
        with psycopg.connect(dsn(md5, password="pw")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(dsn(md5, password="nope"), connect_timeout=5)
        with psycopg.connect(f"host=127.0.0.1 port={trust.port} user=synth dbname=x") as conn:
            assert conn.execute("SELECT 2").fetchone() == (2,)
    finally:
        md5.stop()
        trust.stop()


def test_cancel_request_interrupts_a_running_query(proxy):
    with psycopg.connect(dsn(proxy), autocommit=True) as conn:
        timer = threading.Timer(0.5, lambda: conn.cancel_safe(timeout=10))  # cancel() would hold the GIL in-process
        timer.start()
        started = time.perf_counter()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b")
        assert time.perf_counter() - started < 30
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_set_show_and_catalog_queries(proxy):
    with psycopg.connect(dsn(proxy), autocommit=True) as conn:
        conn.execute("SET search_path = pg_catalog")
        conn.execute("SET extra_float_digits = 3")
        assert conn.execute("SHOW extra_float_digits").fetchone() == ("3",)
        assert conn.execute("SELECT count(*) FROM main.genre").fetchone()[0] > 0  # search_path stays the proxy's
        names = conn.execute(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid "
            "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 1",
            ["main"],
        ).fetchall()
        numeric = conn.execute(
            "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid "
            "WHERE c.relname = 'track' AND a.attname = 'unit_price'"
        ).fetchone()
    assert ("track",) in names and ("genre",) in names
    assert numeric == ("numeric(10,2)",)


def test_prepared_statements_pipeline_and_parameterised_generate(proxy, database):
    with psycopg.connect(dsn(proxy), autocommit=True) as conn:
        names = [conn.execute("SELECT name FROM genre WHERE genre_id = %s", [i], prepare=True).fetchone()[0]
                 for i in range(1, 7)]
        conn.execute("CREATE TABLE IF NOT EXISTS piped (a INTEGER)")
        with conn.pipeline():
            conn.cursor().executemany("INSERT INTO piped VALUES (%s)", [(i,) for i in range(50)])
        piped = conn.execute("SELECT count(*), min(a), max(a) FROM piped").fetchone()
        result = conn.execute(
            "GENERATE SYNTHETIC FROM genre ROWS %s INTO synth_genre_p WITH (seed = %s, replace = %s)", [9, 1, True]
        ).fetchone()
        binary = conn.cursor(binary=True).execute(
            "SELECT unit_price, milliseconds, name FROM track WHERE track_id = %s", [1]
        ).fetchone()
    assert names == [r[0] for r in direct(database, "SELECT name FROM genre WHERE genre_id <= 6 ORDER BY genre_id")]
    assert piped == (50, 0, 49)
    assert result[2] == 9 and direct(database, "SELECT count(*) FROM synth_genre_p") == [(9,)]
    assert binary == direct(database, "SELECT unit_price, milliseconds, name FROM track WHERE track_id = 1")[0]


def test_clients_cannot_touch_the_servers_files(proxy):
    with psycopg.connect(dsn(proxy), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM read_csv('/etc/passwd')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("COPY genre TO '/tmp/synthtab_proxy_leak.csv'")
    assert not Path("/tmp/synthtab_proxy_leak.csv").exists()
