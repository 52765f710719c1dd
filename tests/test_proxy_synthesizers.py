"""Stored synthesizers through the proxy: TRAIN on one client, use on every other,
and a file that already holds synthesizers can be served (issue 16, critical)."""

from __future__ import annotations

import pytest

import synthtab_db
from synthtab_db.proxy import serve

psycopg = pytest.importorskip("psycopg", reason="psycopg not installed: pip install 'synthtab-db[postgres]'")

PASSWORD = "pw-synth"


def _dsn(server) -> str:
    return f"host=127.0.0.1 port={server.port} user=synth password={PASSWORD} dbname=x"


@pytest.fixture
def path(tmp_path):
    file = str(tmp_path / "trained.duckdb")
    con = synthtab_db.connect(file)
    con.duckdb.execute("CREATE TABLE t AS SELECT range AS a, (range % 3)::VARCHAR AS b FROM range(300)")
    con.close()
    return file


def test_train_then_new_and_old_clients_sample(path):
    server = serve(path, port=0, password=PASSWORD)
    server.serve_in_thread()
    try:
        with psycopg.connect(_dsn(server), autocommit=True) as before:
            with psycopg.connect(_dsn(server), autocommit=True) as trainer:
                trainer.execute("TRAIN SYNTHESIZER m1 ON t USING copula WITH (seed = 1)")
            # the trainer's cursor is closed now: its function must still work for others
            with psycopg.connect(_dsn(server), autocommit=True) as after:
                assert after.execute("SELECT count(*) FROM m1(10)").fetchone() == (10,)
            assert before.execute("SELECT count(*) FROM m1(7)").fetchone() == (7,)
            before.execute("TRAIN SYNTHESIZER m1 ON t USING copula WITH (seed = 2, replace = true)")
            assert before.execute("SELECT count(*) FROM m1(5)").fetchone() == (5,)
    finally:
        server.stop()
        server.database.close()


def test_a_file_with_synthesizers_is_served(path):
    con = synthtab_db.connect(path)
    con.execute("TRAIN SYNTHESIZER m2 ON t USING copula WITH (seed = 1)")
    con.close()
    server = serve(path, port=0, password=PASSWORD)
    server.serve_in_thread()
    try:
        for _ in range(2):
            with psycopg.connect(_dsn(server), autocommit=True) as client:
                assert client.execute("SELECT count(*) FROM m2(12)").fetchone() == (12,)
                names = client.execute("SHOW SYNTHESIZERS").fetchall()
                assert [r[0] for r in names] == ["m2"]
    finally:
        server.stop()
        server.database.close()
