"""The audit trail synthtab.runs: every GENERATE, TRAIN, DROP SYNTHESIZER and budget change
leaves a hash-chained row (who, from where, what it wrote and spent, how it ended); SHOW RUNS
lists them and marks a row edited behind the engine's back."""

from __future__ import annotations

import getpass

import duckdb
import pytest

import synthtab_db
from synthtab_db.errors import StateWriteRefused


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "audit.duckdb"
    con = synthtab_db.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT i AS id, ['x', 'y'][1 + i % 2] AS k, i % 7 AS v FROM range(200) r(i)")
    yield con, path
    con.close()


def _runs(con) -> list[dict]:
    return con.execute("SHOW RUNS").arrow().to_pylist()


def test_each_statement_leaves_a_row_with_what_it_wrote(db):
    con, _ = db
    con.execute("GENERATE SYNTHETIC FROM t ROWS 20 INTO s USING copula WITH (seed = 7)")
    with pytest.raises(synthtab_db.SynthError):
        con.execute("GENERATE SYNTHETIC FROM nosuch ROWS 5")
    con.execute("SET PRIVACY BUDGET FOR t = 5")
    con.execute("TRAIN SYNTHESIZER m ON t USING copula WITH (allow_non_private = true)")
    con.execute("DROP SYNTHESIZER m")
    runs = _runs(con)
    assert [(r["verb"], r["outcome"][:6]) for r in runs] == [
        ("GENERATE", "ok"), ("GENERATE", "failed"), ("SET PRIVACY BUDGET", "ok"), ("TRAIN", "ok"),
        ("DROP SYNTHESIZER", "ok")]
    first = runs[0]
    assert (first["tables"], first["rows"], first["model"], first["seed"]) == ("main.s:20", 20, "copula", 7)
    assert first["role"] == getpass.getuser() and first["client"] == "embedded"
    assert "nosuch" in runs[1]["outcome"] and runs[1]["statement"] == "GENERATE SYNTHETIC FROM nosuch ROWS 5"
    assert [r["position"] for r in runs] == [1, 2, 3, 4, 5] and {r["chain"] for r in runs} == {"verified"}


def test_a_dp_run_records_its_spend(db):
    pytest.importorskip("opacus")
    con, _ = db
    con.execute("GENERATE SYNTHETIC FROM t ROWS 20 INTO s USING copula WITH (epsilon = 1)")
    (run,) = _runs(con)
    spent = con.execute("SELECT sum(epsilon) FROM synthtab.privacy_ledger").fetchall()[0][0]
    assert run["epsilon"] == pytest.approx(spent)


def test_an_edit_behind_the_engines_back_is_marked(db):
    con, path = db
    con.execute("GENERATE SYNTHETIC FROM t ROWS 5 INTO s1 USING copula")
    con.execute("GENERATE SYNTHETIC FROM t ROWS 5 INTO s2 USING copula")
    with pytest.raises(StateWriteRefused):
        con.execute("DELETE FROM synthtab.runs")
    con.close()
    raw = duckdb.connect(str(path))
    raw.execute("UPDATE synthtab.runs SET role = 'someone else' WHERE position = 1")
    raw.close()
    con = synthtab_db.connect(str(path))
    marks = [r["chain"] for r in _runs(con)]
    assert "changed after it was written" in marks[0] and marks[1] == "verified"
    con.close()


def test_the_proxy_records_the_role_and_client_address(db):
    psycopg = pytest.importorskip("psycopg")
    from synthtab_db.proxy import serve

    con, _ = db
    server = serve(con.duckdb, port=0, user="analyst", password="pw-audit")
    server.serve_in_thread()
    try:
        dsn = f"host=127.0.0.1 port={server.port} user=analyst password=pw-audit dbname=x"
        with psycopg.connect(dsn, autocommit=True) as client:
            client.execute("GENERATE SYNTHETIC FROM t ROWS 5 INTO p USING copula")
            rows = client.execute("SELECT role, client, verb, outcome FROM synthtab.runs").fetchall()
    finally:
        server.stop()
    ((role, address, verb, outcome),) = rows
    assert (role, verb, outcome) == ("analyst", "GENERATE", "ok") and address.startswith("127.0.0.1")


def test_evaluate_is_recorded(db):
    pytest.importorskip("sklearn")
    con, _ = db
    con.execute("GENERATE SYNTHETIC FROM t ROWS 100 INTO s USING copula WITH (seed = 1)")
    con.execute("EVALUATE SYNTHETIC s AGAINST t")
    assert [(r["verb"], r["outcome"]) for r in _runs(con)] == [("GENERATE", "ok"), ("EVALUATE", "ok")]
