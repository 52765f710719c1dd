"""Nobody writes synthtab.* by plain SQL: each attack of issue 16 through the Python API, the
synthtab() UDF and the proxy is refused, and the database is unchanged."""

from __future__ import annotations

import duckdb
import pytest

import synthtab_db
from synthtab_db.errors import StateWriteRefused
from synthtab_db.udfs.entry_point import install

ATTACKS = [
    "UPDATE synthtab.privacy_ledger SET epsilon = 0",
    "DELETE FROM synthtab.privacy_ledger",
    "DELETE FROM \"SynthTab\".privacy_ledger",
    "UPDATE memory.synthtab.privacy_budgets SET epsilon = 1e9",
    "DROP TABLE synthtab.privacy_budgets",
    "DROP SCHEMA synthtab CASCADE",
    "ALTER TABLE synthtab.privacy_ledger RENAME TO old_ledger",
    "ALTER TABLE synthtab.privacy_ledger ADD COLUMN z INTEGER",
    "INSERT INTO synthtab.privacy_budgets VALUES ('main.t', 1e9, now())",
    "INSERT INTO synthtab.privacy_budgets BY NAME SELECT 'main.t' AS source",
    "CREATE OR REPLACE TABLE synthtab.privacy_ledger AS SELECT 1 AS a",
    "CREATE VIEW synthtab.v AS SELECT 1",
    "CREATE INDEX i ON synthtab.privacy_ledger(source)",
    "TRUNCATE synthtab.privacy_ledger",
    "COPY synthtab.privacy_ledger FROM 'ledger.csv'",
    "COMMENT ON TABLE synthtab.privacy_ledger IS 'x'",
    "USE synthtab",
    "SET schema = 'synthtab'",
    "SET search_path = 'main,synthtab'",
    "ATTACH ':memory:' AS synthtab",
    "EXPLAIN ANALYZE DELETE FROM synthtab.privacy_ledger",
    "PREPARE p AS DELETE FROM synthtab.privacy_ledger",
    "WITH x AS (SELECT 1) INSERT INTO synthtab.privacy_budgets SELECT 'a', 1, now() FROM x",
    "SELECT 1; DELETE FROM synthtab.privacy_ledger",
    "GENERATE SYNTHETIC FROM t ROWS 5 INTO synthtab.privacy_ledger WITH (replace = true, allow_non_private = true)",
    "GENERATE SYNTHETIC FROM DATABASE INTO SCHEMA synthtab WITH (allow_non_private = true)",
    "SET PRIVACY BUDGET FOR synthtab.privacy_ledger = 1",
]

READS = [
    "SELECT count(*) FROM synthtab.privacy_ledger",
    "CREATE TABLE copy_of_ledger AS SELECT * FROM synthtab.privacy_ledger",
    "EXPLAIN SELECT * FROM synthtab.privacy_budgets",
    "DESCRIBE synthtab.privacy_ledger",
]


@pytest.fixture
def capped(tmp_path):
    con = synthtab_db.connect(str(tmp_path / "capped.duckdb"))
    con.execute("CREATE TABLE t AS SELECT i AS id, i % 3 AS k FROM range(50) r(i)")
    con.execute("SET PRIVACY BUDGET FOR t = 2")
    yield con
    con.close()


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_python_api_refuses_writes_to_synthtab(capped, attack, checksum):
    before = checksum(capped.duckdb)
    with pytest.raises(StateWriteRefused, match="written by the engine alone"):
        capped.execute(attack)
    assert checksum(capped.duckdb) == before


def test_the_udf_refuses_them_too(capped, checksum):
    install(capped.duckdb)
    before = checksum(capped.duckdb)
    for attack in ("DELETE FROM synthtab.privacy_ledger", "DROP TABLE synthtab.privacy_budgets"):
        with pytest.raises(duckdb.Error, match="written by the engine alone"):
            capped.duckdb.execute(f"SELECT synthtab({attack!r})").fetchall()
    assert checksum(capped.duckdb) == before


def test_reading_synthtab_stays_allowed(capped, checksum):
    for query in READS:
        capped.execute(query).fetchall()
    assert capped.execute("SELECT count(*) FROM copy_of_ledger").fetchall() == [(0,)]


def test_the_python_generate_into_synthtab_is_refused(capped, checksum):
    before = checksum(capped.duckdb)
    with pytest.raises(StateWriteRefused):
        capped.generate("t", rows=5, into="synthtab.privacy_ledger", replace=True, allow_non_private=True)
    assert checksum(capped.duckdb) == before


def test_the_proxy_refuses_them_with_sqlstate_42501(capped, checksum):
    psycopg = pytest.importorskip("psycopg")
    from synthtab_db.proxy import serve

    server = serve(capped.duckdb, port=0, password="pw-guard")
    server.serve_in_thread()
    try:
        before = checksum(capped.duckdb)
        dsn = f"host=127.0.0.1 port={server.port} user=synth password=pw-guard dbname=x"
        with psycopg.connect(dsn, autocommit=True) as client:
            for attack in ATTACKS[:6] + ["DECLARE c CURSOR FOR DELETE FROM synthtab.privacy_ledger"]:
                with pytest.raises(psycopg.Error) as refused:
                    client.execute(attack)
                assert refused.value.sqlstate == "42501", attack
            assert client.execute("SELECT count(*) FROM synthtab.privacy_budgets").fetchall() == [(1,)]
        assert checksum(capped.duckdb) == before
    finally:
        server.stop()


def test_executemany_and_query_are_guarded_too(capped, checksum):
    before = checksum(capped.duckdb)
    with pytest.raises(StateWriteRefused):
        capped.executemany("DELETE FROM synthtab.privacy_budgets WHERE source = ?", [["main.t"]])
    with pytest.raises(StateWriteRefused):
        capped.query("DROP TABLE synthtab.privacy_budgets")
    assert checksum(capped.duckdb) == before
