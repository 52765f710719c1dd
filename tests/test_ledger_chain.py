"""The ledger can't be undone quietly: a hash chain that a plain DuckDB connection can't edit
unnoticed, finite budgets, budgets that follow a renamed or copied table, and concurrent DP
statements that can never spend past the cap."""

from __future__ import annotations

import threading

import duckdb
import pytest

pytest.importorskip("opacus")

import synthtab_db  # noqa: E402
from synthtab_db.errors import SynthError  # noqa: E402

DP = "USING copula WITH (epsilon = {e}, seed = 1)"


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "people.duckdb"
    con = synthtab_db.connect(str(path))
    con.execute("""CREATE TABLE people AS SELECT i AS id, ['a', 'b', 'c'][1 + i % 3] AS colour, 20 + i % 50 AS age
                   FROM range(400) t(i)""")
    yield con, path
    con.close()


def _budget(con, table="people") -> dict:
    (row,) = con.execute(f"SHOW PRIVACY BUDGET FOR {table}").arrow().to_pylist()
    return row


def _tamper(con, path, sql: str) -> None:
    """An edit through a plain DuckDB connection: the engine's connection is closed first."""
    con.close()
    raw = duckdb.connect(str(path))
    raw.execute(sql)
    raw.close()


def test_an_edit_through_a_plain_connection_is_detected_and_refuses_dp_work(db, checksum):
    con, path = db
    con.execute(f"GENERATE SYNTHETIC FROM people INTO s1 {DP.format(e=1)}")
    con.execute(f"GENERATE SYNTHETIC FROM people INTO s2 {DP.format(e=1)}")
    assert _budget(con)["chain"] == "verified"
    _tamper(con, path, "UPDATE synthtab.privacy_ledger SET epsilon = 0.001 WHERE position = 1")
    con = synthtab_db.connect(str(path))
    budget = _budget(con)
    assert "was changed after it was written" in budget["chain"]
    before = checksum(con.duckdb)
    with pytest.raises(SynthError, match="privacy ledger does not verify"):
        con.execute(f"GENERATE SYNTHETIC FROM people INTO s3 {DP.format(e=0.5)}")
    assert checksum(con.duckdb) == before
    con.close()


def test_a_deleted_row_or_cap_breaks_the_chain(db):
    con, path = db
    con.execute("SET PRIVACY BUDGET FOR people = 5")
    con.execute("SET PRIVACY BUDGET FOR people = 4")
    con.execute(f"GENERATE SYNTHETIC FROM people INTO s1 {DP.format(e=1)}")
    con.execute(f"GENERATE SYNTHETIC FROM people INTO s2 {DP.format(e=1)}")
    _tamper(con, path, "DELETE FROM synthtab.privacy_ledger WHERE position = 1; "
                       "DELETE FROM synthtab.privacy_budget_changes WHERE position = 1")
    con = synthtab_db.connect(str(path))
    assert "a row was removed" in _budget(con)["chain"]
    with pytest.raises(SynthError, match="does not verify"):
        con.execute(f"GENERATE SYNTHETIC FROM people INTO s3 {DP.format(e=0.5)}")
    con.close()


def test_a_row_inserted_outside_the_engine_is_detected(db):
    con, path = db
    con.execute("SET PRIVACY BUDGET FOR people = 1")
    _tamper(con, path, "INSERT INTO synthtab.privacy_budget_changes (id, source, epsilon, recorded_at) "
                       "VALUES ('x', 'main.people', 1000, now())")
    con = synthtab_db.connect(str(path))
    assert "outside the engine" in _budget(con)["chain"]
    with pytest.raises(SynthError, match="does not verify"):
        con.execute(f"GENERATE SYNTHETIC FROM people INTO s3 {DP.format(e=2)}")
    con.close()


@pytest.mark.parametrize("statement", [
    "SET PRIVACY BUDGET FOR people = 1e400",
    "SET PRIVACY BUDGET FOR people = 0",
    "SET PRIVACY BUDGET FOR people = -1",
    "GENERATE SYNTHETIC FROM people INTO s USING copula WITH (epsilon = 1e400)",
    "GENERATE SYNTHETIC FROM people INTO s USING copula WITH (epsilon = 1, delta = 2)",
])
def test_budgets_are_finite_positive_numbers(db, statement, checksum):
    con, _ = db
    before = checksum(con.duckdb)
    with pytest.raises(SynthError, match="epsilon|delta"):
        con.execute(statement)
    assert checksum(con.duckdb) == before


@pytest.mark.parametrize("escape", ["ALTER TABLE people RENAME TO folk", "CREATE TABLE folk AS SELECT * FROM people"])
def test_a_renamed_or_copied_table_keeps_its_budget(db, escape):
    con, _ = db
    con.execute("SET PRIVACY BUDGET FOR people = 1.5")
    con.execute(f"GENERATE SYNTHETIC FROM people INTO s1 {DP.format(e=1)}")
    con.execute(escape)
    budget = _budget(con, "folk")
    assert budget["epsilon_cap"] == 1.5 and budget["epsilon_spent"] == pytest.approx(1, rel=0.01)
    with pytest.raises(SynthError, match="only 0.5"):
        con.execute(f"GENERATE SYNTHETIC FROM folk INTO s2 {DP.format(e=1)}")
    with pytest.raises(SynthError, match="allow_non_private"):
        con.execute("GENERATE SYNTHETIC FROM folk INTO s3 USING copula")


def test_concurrent_dp_statements_never_spend_past_the_cap(db):
    con, _ = db
    con.execute("SET PRIVACY BUDGET FOR people = 1.5")
    outcomes: list[str] = []

    def client(i: int) -> None:
        cursor = synthtab_db.Connection(con.duckdb.cursor())
        try:
            cursor.execute(f"GENERATE SYNTHETIC FROM people INTO c{i} {DP.format(e=1)}")
            outcomes.append("ok")
        except SynthError as err:
            outcomes.append(str(err))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[0] == "ok" and "remains" in sorted(outcomes)[1], outcomes
    budget = _budget(con)
    assert budget["epsilon_spent"] <= 1.5 and budget["chain"] == "verified"


def test_concurrent_dp_clients_through_the_proxy_never_spend_past_the_cap(db):
    psycopg = pytest.importorskip("psycopg")
    from synthtab_db.proxy import serve

    con, _ = db
    con.execute("SET PRIVACY BUDGET FOR people = 1.5")
    server = serve(con.duckdb, port=0, password="pw-race")
    server.serve_in_thread()
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def client(i: int) -> None:
        dsn = f"host=127.0.0.1 port={server.port} user=synth password=pw-race dbname=x"
        with psycopg.connect(dsn, autocommit=True) as pg:
            start.wait()
            try:
                pg.execute(f"GENERATE SYNTHETIC FROM people INTO p{i} {DP.format(e=1)}")
                outcomes.append("ok")
            except psycopg.Error as err:
                outcomes.append(str(err))

    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.stop()
    assert sorted(outcomes)[0] == "ok" and "remains" in sorted(outcomes)[1], outcomes
    assert _budget(con)["epsilon_spent"] <= 1.5


def test_a_ledger_from_before_the_chain_is_sealed_as_it_was(tmp_path):
    path = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(path))
    raw.execute("""CREATE SCHEMA synthtab;
        CREATE TABLE synthtab.privacy_ledger (source VARCHAR NOT NULL, mechanism VARCHAR NOT NULL,
            epsilon DOUBLE NOT NULL, delta DOUBLE NOT NULL, statement VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
            recorded_at TIMESTAMP WITH TIME ZONE NOT NULL);
        CREATE TABLE synthtab.privacy_budgets (source VARCHAR PRIMARY KEY, epsilon DOUBLE NOT NULL,
            set_at TIMESTAMP WITH TIME ZONE NOT NULL);
        INSERT INTO synthtab.privacy_ledger VALUES ('main.p', 'copula', 1.0, 1e-5, 'old run', 'r1', now());
        INSERT INTO synthtab.privacy_budgets VALUES ('main.p', 2.0, now());
        CREATE TABLE p AS SELECT i AS id, i % 5 AS k FROM range(300) r(i);""")
    raw.close()
    con = synthtab_db.connect(str(path))
    budget = _budget(con, "p")
    assert (budget["epsilon_cap"], budget["epsilon_spent"], budget["chain"]) == (2.0, 1.0, "verified")
    with pytest.raises(SynthError, match="only 1 of its budget 2 remains"):
        con.execute(f"GENERATE SYNTHETIC FROM p INTO s {DP.format(e=1.5)}")
    con.close()
