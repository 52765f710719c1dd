"""psql's backslash commands through the proxy (issue 16): \\dt, \\d table, \\l, \\dn, \\du
run psql's own pg_catalog queries against the emulated catalog."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import synthtab_db
from synthtab_db.proxy import serve

psycopg = pytest.importorskip("psycopg", reason="psycopg not installed: pip install 'synthtab-db[postgres]'")

PASSWORD = "psql-pw"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    if shutil.which("psql") is None:
        pytest.skip("psql (PostgreSQL client) not installed")
    con = synthtab_db.connect(str(tmp_path_factory.mktemp("psql") / "shop.duckdb"))
    con.duckdb.execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, price DECIMAL(10,2) DEFAULT 1.5)"
    )
    con.duckdb.execute("CREATE SCHEMA sandbox")
    server = serve(con.duckdb, port=0, password=PASSWORD)
    server.serve_in_thread()
    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=synth password={PASSWORD} dbname=x",
                         autocommit=True) as c:
        c.execute("CREATE ROLE reader WITH LOGIN PASSWORD 'reader-pw'")
    yield server
    server.stop()
    con.close()


def psql(server, command: str) -> str:
    env = dict(os.environ, PGPASSWORD=PASSWORD, PGCONNECT_TIMEOUT="10")
    out = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(server.port), "-U", "synth", "-d", "shop",
                          "-c", command], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and not out.stderr, out.stderr
    return out.stdout


def test_dt_lists_tables(proxy):
    out = psql(proxy, r"\dt")
    assert "List of relations" in out and "items" in out and "table" in out


def test_d_describes_a_table(proxy):
    out = psql(proxy, r"\d items")
    assert 'Table "main.items"' in out
    lines = {line.split("|")[0].strip(): line for line in out.splitlines() if "|" in line}
    assert "integer" in lines["id"] and "not null" in lines["id"]
    assert "numeric(10,2)" in lines["price"] and "1.5" in lines["price"]


def test_l_dn_du(proxy):
    assert "shop" in psql(proxy, r"\l")
    schemas = psql(proxy, r"\dn")
    assert "sandbox" in schemas and "main" in schemas
    roles = psql(proxy, r"\du")
    assert "synth" in roles and "Superuser" in roles and "reader" in roles
