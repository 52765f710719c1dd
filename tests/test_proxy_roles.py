"""Roles and grants through the real proxy (issue 16): the owner creates login
roles; a role does what it was granted and nothing else (SQLSTATE 42501), and a
refused statement leaves the database as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest

import synthtab_db
from synthtab_db.proxy import serve

psycopg = pytest.importorskip("psycopg", reason="psycopg not installed: pip install 'synthtab-db[postgres]'")

OWNER_PW = "owner-pw"
ALICE_PW = "alice-pw"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    con = synthtab_db.connect(str(tmp_path_factory.mktemp("roles") / "roles.duckdb"))
    con.duckdb.execute("CREATE TABLE t AS SELECT range AS a, (range % 4)::VARCHAR AS b FROM range(200)")
    con.duckdb.execute("CREATE TABLE secret AS SELECT 42 AS code")
    con.duckdb.execute("CREATE SCHEMA sandbox")
    server = serve(con.duckdb, port=0, password=OWNER_PW)
    server.serve_in_thread()
    with owner(server) as c:
        c.execute(f"CREATE ROLE alice WITH LOGIN PASSWORD '{ALICE_PW}'")
    yield server
    server.stop()
    con.close()


def _dsn(server, user: str, password: str) -> str:
    return f"host=127.0.0.1 port={server.port} user={user} password={password} dbname=x"


def owner(server):
    return psycopg.connect(_dsn(server, "synth", OWNER_PW), autocommit=True)


def alice(server, password: str = ALICE_PW):
    return psycopg.connect(_dsn(server, "alice", password), autocommit=True, connect_timeout=10)


def checksum(server) -> str:
    """Every table's name and rows, hashed: equal before and after a refusal."""
    cur = server.database.cursor()
    names = cur.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()
    digest = hashlib.sha256(repr(names).encode())
    for schema, table in names:
        digest.update(repr(cur.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL').fetchall()).encode())
    settings = cur.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()
    digest.update(repr(settings).encode())
    cur.close()
    return digest.hexdigest()


def test_the_verifier_is_stored_never_the_password(proxy):
    rows = proxy.database.cursor().execute("SELECT name, verifier FROM synthtab.roles").fetchall()
    assert rows[0][0] == "alice" and rows[0][1].startswith("SCRAM-SHA-256$4096:")
    assert ALICE_PW not in rows[0][1]


def test_select_needs_a_grant_and_revoke_takes_it_back(proxy):
    with alice(proxy) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="GRANT SELECT ON TABLE main.t"):
            c.execute("SELECT count(*) FROM t")
    with owner(proxy) as o:
        o.execute("GRANT SELECT ON t TO alice")
    with alice(proxy) as c:
        assert c.execute("SELECT count(*) FROM t").fetchone() == (200,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT t.a, s.code FROM t, secret s")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("WITH x AS (SELECT * FROM secret) SELECT * FROM x")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT * FROM query('SELECT * FROM secret')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT name, verifier FROM synthtab.roles")
    with owner(proxy) as o:
        o.execute("REVOKE SELECT ON TABLE t FROM alice")
    with alice(proxy) as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
        c.execute("SELECT count(*) FROM t")


def test_generate_and_write_into_a_granted_schema(proxy):
    with alice(proxy) as c, pytest.raises(psycopg.errors.InsufficientPrivilege, match="GENERATE"):
        c.execute("GENERATE SYNTHETIC FROM t ROWS 10 INTO sandbox.s1 USING copula WITH (seed = 1)")
    with owner(proxy) as o:
        o.execute("GRANT GENERATE ON TABLE t TO alice")
    with alice(proxy) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="CREATE ON SCHEMA sandbox"):
            c.execute("GENERATE SYNTHETIC FROM t ROWS 10 INTO sandbox.s1 USING copula WITH (seed = 1)")
    with owner(proxy) as o:
        o.execute("GRANT CREATE, USAGE ON SCHEMA sandbox TO alice")
        o.execute("GRANT SELECT ON ALL TABLES IN SCHEMA sandbox TO alice")
    with alice(proxy) as c:
        c.execute("GENERATE SYNTHETIC FROM t ROWS 10 INTO sandbox.s1 USING copula WITH (seed = 1)")
        assert c.execute("SELECT count(*) FROM sandbox.s1").fetchone() == (10,)
        c.execute("CREATE TABLE sandbox.mine AS SELECT 1 AS x")
        c.execute("INSERT INTO sandbox.mine VALUES (2)")
        c.execute("DROP TABLE sandbox.mine")
        c.execute("TRAIN SYNTHESIZER alice_m ON t USING copula WITH (seed = 1)")
        assert c.execute("SELECT count(*) FROM alice_m(5)").fetchone() == (5,)
        before = checksum(proxy)
        for sql in ("CREATE TABLE main.mine (x INTEGER)", "DROP TABLE secret", "INSERT INTO t VALUES (1, 'x')",
                    "ALTER TABLE t RENAME TO t2", "CREATE SCHEMA other", "DELETE FROM secret"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                c.execute(sql)
        assert checksum(proxy) == before


FORBIDDEN = [
    "EVALUATE SYNTHETIC sandbox.s1 AGAINST t WITH (html = '/tmp/synthtab_role_report.html')",
    "GENERATE SYNTHETIC FROM t ROWS 5 INTO sandbox.g USING gpt WITH (pretrained = '/etc')",
    "GENERATE SYNTHETIC FROM t ROWS 5 INTO sandbox.g USING copula WITH (memory_limit = '64MB')",
    "ATTACH POSTGRES 'host=127.0.0.1 user=postgres dbname=postgres' AS pg",
    "SET GLOBAL memory_limit = '20MB'",
    "SET GLOBAL lock_configuration = true",
    "PRAGMA threads = 1",
    "CALL pragma_version()",
    "SET PRIVACY BUDGET FOR t = 1",
    "SELECT synthtab('SET PRIVACY BUDGET FOR t = 5')",
    "DROP SYNTHESIZER alice_m",
    "CREATE ROLE mallory WITH LOGIN PASSWORD 'x'",
    "GRANT SELECT ON secret TO alice",
    "ALTER ROLE alice PASSWORD 'mine-now'",
    "INSTALL postgres",
    "CREATE MACRO boom(a) AS a",
    "SELECT * FROM duckdb_secrets()",
]


@pytest.mark.parametrize("sql", FORBIDDEN)
def test_owner_only_statements_are_refused_for_a_role(proxy, sql):
    before = checksum(proxy)
    with alice(proxy) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(sql)
        c.execute("SELECT 1")  # the session goes on
    assert checksum(proxy) == before
    assert not os.path.exists("/tmp/synthtab_role_report.html")


def test_passwords_change_and_roles_drop(proxy):
    with owner(proxy) as o:
        with pytest.raises(psycopg.Error, match="empty"):
            o.execute("CREATE ROLE bob WITH LOGIN PASSWORD ''")
        o.execute("CREATE USER bob PASSWORD 'bob-1'")
        with pytest.raises(psycopg.errors.DuplicateObject):
            o.execute("CREATE ROLE bob PASSWORD 'again'")
        o.execute("ALTER ROLE bob WITH PASSWORD 'bob-2'")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_dsn(proxy, "bob", "bob-1"), connect_timeout=10)
    with psycopg.connect(_dsn(proxy, "bob", "bob-2")) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)
    with owner(proxy) as o:
        o.execute("DROP ROLE bob")
        o.execute("DROP ROLE IF EXISTS bob")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_dsn(proxy, "bob", "bob-2"), connect_timeout=10)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_dsn(proxy, "nobody", "x"), connect_timeout=10)


def test_psql_logs_in_as_a_role(proxy):
    if shutil.which("psql") is None:
        pytest.skip("psql (PostgreSQL client) not installed")
    env = dict(os.environ, PGPASSWORD=ALICE_PW, PGCONNECT_TIMEOUT="10")
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(proxy.port), "-U", "alice", "-d", "x", "-At",
                          "-c", "SELECT count(*) FROM secret"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode != 0 and "permission denied" in out.stderr
