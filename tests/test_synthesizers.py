"""TRAIN / SHOW / DROP SYNTHESIZER, GENERATE … FROM SYNTHESIZER, and the table functions."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import synthtab_db


@pytest.fixture
def people(con):
    con.execute("CREATE TABLE city (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL)")
    con.execute("INSERT INTO city VALUES (1, 'Oslo'), (2, 'Lima'), (3, 'Pune')")
    con.execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, city_id INTEGER REFERENCES city (id), "
        "age INTEGER CHECK (age >= 18), job VARCHAR)"
    )
    con.execute("INSERT INTO people SELECT i, 1 + i % 3, 18 + i % 60, ['a', 'b', 'c'][1 + i % 3] FROM range(300) t(i)")
    return con


def test_train_then_generate_without_the_source(people):
    (row,) = people.execute("TRAIN SYNTHESIZER p ON people USING copula WITH (seed = 1)").fetchall()
    assert row[:4] == ("p", "main.people", "copula", 300)
    people.execute("CREATE TABLE people_copy AS SELECT * FROM people")
    people.execute("DELETE FROM people")  # the synthesizer no longer needs its source rows
    people.execute("GENERATE SYNTHETIC FROM SYNTHESIZER p ROWS 120 INTO synth_p WITH (seed = 2)")
    assert people.execute("SELECT count(*), count(DISTINCT id), min(age) >= 18 FROM synth_p").fetchall() == [
        (120, 120, True)
    ]
    orphans = people.execute("SELECT count(*) FROM synth_p WHERE city_id NOT IN (SELECT id FROM city)").fetchall()
    assert orphans == [(0,)]


def test_show_and_drop(people):
    people.execute("TRAIN SYNTHESIZER a ON people USING copula")
    people.execute("TRAIN SYNTHESIZER b ON people USING copula")
    names = [r[0] for r in people.execute("SHOW SYNTHESIZERS").fetchall()]
    assert names == ["a", "b"]
    people.execute("DROP SYNTHESIZER a")
    assert [r[0] for r in people.execute("SHOW SYNTHESIZERS").fetchall()] == ["b"]
    with pytest.raises(synthtab_db.SynthError, match="unknown synthesizer 'a'; trained synthesizers: b"):
        people.execute("DROP SYNTHESIZER a")
    people.execute("DROP SYNTHESIZER IF EXISTS a")


def test_existing_name_needs_replace(people):
    people.execute("TRAIN SYNTHESIZER p ON people USING copula")
    with pytest.raises(synthtab_db.SynthError, match="already exists; use WITH \\(replace = true\\)"):
        people.execute("TRAIN SYNTHESIZER p ON people USING copula")
    people.execute("TRAIN SYNTHESIZER p ON people USING copula WITH (replace = true)")


def test_bad_train_options(people):
    with pytest.raises(synthtab_db.SynthError, match="unknown option 'colour'"):
        people.execute("TRAIN SYNTHESIZER p ON people USING copula WITH (colour = 1)")
    with pytest.raises(synthtab_db.SynthError, match="unknown model"):
        people.execute("TRAIN SYNTHESIZER p ON people USING nope")
    with pytest.raises(synthtab_db.SynthError, match="unknown source table"):
        people.execute("TRAIN SYNTHESIZER p ON nobody USING copula")
    assert people.execute("SHOW SYNTHESIZERS").fetchall() == []


def test_table_function_streams_rows(people):
    people.execute("TRAIN SYNTHESIZER p ON people USING copula WITH (seed = 1)")
    n, low = people.sql("SELECT count(*), min(age) FROM p(150000, seed := 3)").fetchall()[0]
    assert n == 150000 and low >= 18
    first = people.sql("SELECT * FROM p(10, seed := 5)").fetchall()
    assert first == people.sql("SELECT * FROM p(10, seed := 5)").fetchall()
    assert [d[0] for d in people.sql("SELECT * FROM p(1)").description] == ["age", "job"]


def test_generate_from_unknown_synthesizer(people):
    with pytest.raises(synthtab_db.SynthError, match="unknown synthesizer 'ghost'"):
        people.execute("GENERATE SYNTHETIC FROM SYNTHESIZER ghost ROWS 5 INTO x")


def test_persisted_across_processes(tmp_path):
    db = tmp_path / "shop.duckdb"
    with synthtab_db.connect(str(db)) as con:
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x DOUBLE, k VARCHAR)")
        con.execute("INSERT INTO t SELECT i, i * 0.5, ['u', 'v'][1 + i % 2] FROM range(200) t(i)")
        con.execute("TRAIN SYNTHESIZER ts ON t USING copula WITH (seed = 9)")
        expected = con.sql("SELECT * FROM ts(50, seed := 1)").fetchall()
    script = textwrap.dedent(
        f"""
        import synthtab_db
        con = synthtab_db.connect({str(db)!r})
        con.execute("DELETE FROM t")
        con.execute("GENERATE SYNTHETIC FROM SYNTHESIZER ts ROWS 40 INTO fresh WITH (seed = 2)")
        print(con.execute("SELECT count(*) FROM fresh").fetchall()[0][0])
        print(con.sql("SELECT * FROM ts(50, seed := 1)").fetchall() == {expected!r})
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["40", "True"]
