"""The ways in: the synthtab() function on a plain DuckDB connection, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

import synthtab_db
from synthtab_db.cli import main


@pytest.fixture
def plain():
    con = duckdb.connect()
    con.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, age INTEGER CHECK (age >= 0), city VARCHAR)")
    con.execute("INSERT INTO people SELECT i, 20 + i % 50, ['Oslo', 'Lima', 'Pune'][1 + i % 3] FROM range(200) t(i)")
    synthtab_db.install(con)
    yield con
    con.close()


def test_plain_duckdb_client_generates_through_sql(plain):
    (payload,) = plain.execute(
        "SELECT synthtab('GENERATE SYNTHETIC FROM people ROWS 50 INTO synth_people WITH (seed = 1)')"
    ).fetchall()[0]
    rows = json.loads(payload)
    assert rows[0]["table"] == "main.synth_people" and rows[0]["rows"] == 50
    assert plain.execute("SELECT count(*), count(DISTINCT id), min(age) >= 0 FROM synth_people").fetchall() == [
        (50, 50, True)
    ]


def test_plain_client_sees_our_errors(plain):
    with pytest.raises(duckdb.Error, match="unknown model 'nope'"):
        plain.execute("SELECT synthtab('GENERATE SYNTHETIC FROM people USING nope')").fetchall()
    assert plain.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'synth%'").fetchall() == [(0,)]


def test_open_transaction_is_refused_clearly(con):
    con.execute("CREATE TABLE t AS SELECT range AS x FROM range(10)")
    con.execute("BEGIN")
    with pytest.raises(synthtab_db.SynthError, match="COMMIT or ROLLBACK"):
        con.execute("GENERATE SYNTHETIC FROM t")
    con.execute("ROLLBACK")


def test_cli_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("demo", "generate", "sql"))


def test_cli_generate_and_sql(tmp_path, capsys):
    db = tmp_path / "shop.duckdb"
    script = tmp_path / "load.sql"
    script.write_text(
        "CREATE TABLE c (id INTEGER PRIMARY KEY, v DOUBLE); INSERT INTO c SELECT range, random() FROM range(100);"
    )
    assert main(["sql", str(script), "--database", str(db), "--create"]) == 0  # a new file must be asked for
    assert main(["generate", str(db), "--from", "c", "--rows", "40", "--into", "synth_c", "--with", "seed=3"]) == 0
    out = capsys.readouterr().out
    assert "main.synth_c" in out and "40" in out
    with duckdb.connect(str(db)) as check:
        assert check.execute("SELECT count(*) FROM synth_c").fetchall() == [(40,)]


def test_cli_errors_are_one_line(tmp_path, capsys):
    db = tmp_path / "e.duckdb"
    duckdb.connect(str(db)).close()
    assert main(["generate", str(db), "--from", "missing"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown source table main.missing") and "Traceback" not in err


def test_demo_runs_end_to_end():
    out = subprocess.run([sys.executable, "-m", "synthtab_db.cli", "demo"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "synth.playlist_track" in out.stdout
    assert "0 violations" in out.stdout


def test_cli_evaluate_writes_html(tmp_path, capsys):
    db = tmp_path / "q.duckdb"
    with synthtab_db.connect(str(db)) as con:
        con.execute("CREATE TABLE r AS SELECT range AS id, range % 7 AS k, (range * 37 % 101)::DOUBLE AS v FROM range(600)")
        con.execute("GENERATE SYNTHETIC FROM r ROWS 600 INTO s USING copula WITH (seed = 1)")
    html = tmp_path / "report.html"
    assert main(["evaluate", str(db), "--synthetic", "s", "--real", "r", "--html", str(html)]) == 0
    assert "fidelity_score" in capsys.readouterr().out
    assert html.stat().st_size > 10_000 and "<img" in html.read_text() or "<svg" in html.read_text()
