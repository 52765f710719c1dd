"""Bad input: a clear error naming what is wrong, and the database exactly as it was."""

from __future__ import annotations

import pytest

import synthtab_db


def snapshot(con):
    """User tables and schemas; synthtab (the audit trail records refused statements on purpose) is left out."""
    tables = con.execute("SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
                         "WHERE schema_name <> 'synthtab' ORDER BY ALL").fetchall()
    schemas = con.execute("SELECT schema_name FROM duckdb_schemas() WHERE NOT internal AND schema_name <> 'synthtab' "
                          "ORDER BY ALL").fetchall()
    return tables, schemas


@pytest.fixture
def db(con):
    con.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, age INTEGER, city VARCHAR)")
    con.execute("INSERT INTO people SELECT i, 20 + i % 50, ['a', 'b'][1 + i % 2] FROM range(50) t(i)")
    con.execute("CREATE TABLE existing (x INTEGER)")
    return con


@pytest.mark.parametrize(
    "sql, message",
    [
        ("GENERATE SYNTHETIC FROM nosuch", r"unknown source table main\.nosuch"),
        (
            "GENERATE SYNTHETIC FROM people USING nosuchmodel",
            r"unknown model 'nosuchmodel'; available models: .*copula",
        ),
        ("GENERATE SYNTHETIC FROM people WITH (colour = 'red')", r"unknown option 'colour'.*allowed options: .*seed"),
        ("GENERATE SYNTHETIC FROM people WITH (max_rounds = 0)", r"option 'max_rounds'"),
        ("GENERATE SYNTHETIC FROM people WITH (seed = 'abc')", r"option 'seed'"),
        ("GENERATE SYNTHETIC FROM people ROWS 0", r"ROWS must be a positive integer"),
        ("GENERATE SYNTHETIC FROM people ROWS 1.5", r"ROWS must be a positive integer"),
        ("GENERATE SYNTHETIC FROM people SCALE 0", r"SCALE must be a number greater than 0"),
        (
            "GENERATE SYNTHETIC FROM people INTO existing",
            r"target table main\.existing already exists; use WITH \(replace = true\)",
        ),
        ("GENERATE SYNTHETIC FROM DATABASE nosuchschema INTO SCHEMA s", r"schema 'nosuchschema' has no tables"),
        ("GENERATE SYNTHETIC FROM people INTO people", r"already exists|is the source table"),
        ("GENERATE SYNTHETIC FROM people WITH (replace = true, append = true)", r"replace and append"),
        ("GENERATE SYNTHETIC people", r"expected FROM .* at line 1, column 20"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(db, sql, message):
    before = snapshot(db)
    with pytest.raises(synthtab_db.SynthError, match=message):
        db.execute(sql)
    assert snapshot(db) == before


def test_unsupported_column_type_names_table_and_column(con):
    con.execute("CREATE TABLE odd (id INTEGER, m MAP(VARCHAR, INTEGER))")
    con.execute("INSERT INTO odd VALUES (1, MAP {'a': 1})")
    before = snapshot(con)
    with pytest.raises(synthtab_db.SynthError, match=r"odd.*\bm\b.*MAP"):
        con.execute("GENERATE SYNTHETIC FROM odd ROWS 5")
    assert snapshot(con) == before


def test_plain_sql_errors_are_duckdb_errors(con):
    import duckdb

    with pytest.raises(duckdb.Error):
        con.execute("SELEC 1")


# -- issue 16: one bad table affects only itself -----------------------------------------
@pytest.mark.parametrize("column, kind", [
    ("s STRUCT(a INTEGER, b VARCHAR)", "STRUCT"), ("m MAP(VARCHAR, INTEGER)", "MAP"),
    ("u UNION(n INTEGER, s VARCHAR)", "UNION"), ("b BIT", "BIT"),
])
def test_a_table_with_an_unsupported_column_fails_only_statements_that_use_it(db, column, kind):
    pytest.importorskip("opacus")
    db.execute(f"CREATE TABLE odd (id INTEGER, {column})")
    db.execute("GENERATE SYNTHETIC FROM people ROWS 10 INTO fine USING copula")
    db.execute("SET PRIVACY BUDGET FOR people = 2")
    assert db.execute("SHOW PRIVACY BUDGET").arrow().to_pylist()[0]["epsilon_cap"] == 2
    db.execute("GENERATE SYNTHETIC FROM people ROWS 10 INTO private USING copula WITH (epsilon = 1)")
    before = snapshot(db)
    name = column.split()[0]
    for statement in ("GENERATE SYNTHETIC FROM odd ROWS 5", "SET PRIVACY BUDGET FOR odd = 1",
                      "GENERATE SYNTHETIC FROM DATABASE INTO SCHEMA s2 WITH (allow_non_private = true)"):
        with pytest.raises(synthtab_db.SynthError, match=rf"odd, column {name}\b.*{kind}"):
            db.execute(statement)
    assert snapshot(db) == before


# -- issue 16: errors named before any fit, the database unchanged ------------------------
@pytest.mark.parametrize(
    "sql, message",
    [
        ("GENERATE SYNTHETIC FROM people ROWS 5 WITH (seed = -1)", r"option 'seed'.*greater than or equal to 0"),
        ("TRAIN SYNTHESIZER m ON people USING copula WITH (seed = -1)", r"option 'seed'"),
        ("GENERATE SYNTHETIC FROM people ROWS 5 WHERE nosuchcol = 1", r"WHERE names column 'nosuchcol'.*id, age, city"),
        ("GENERATE SYNTHETIC FROM people ROWS 100000000000000000000", r"ROWS 100000000000000000000 is more than"),
        ("GENERATE SYNTHETIC FROM people SCALE 1e15", r"is more than the 1,000,000,000,000 rows"),
        ("GENERATE SYNTHETIC FROM people ROWS 5 WHERE " + "(" * 3000 + "age > 1" + ")" * 3000, r"nested too deeply"),
        ("GENERATE SYNTHETIC FROM people ROWS 5 USING copula WHERE age + 1 > 2", r"WHERE compares a column"),
        ("GENERATE SYNTHETIC FROM people ROWS 5 USING copula WHERE age > 1 OR age < 1", r"can't be conditioned on"),
        ("GENERATE SYNTHETIC FROM impossible ROWS 5", r"impossible, column age: its CHECK constraints allow no value"),
    ],
)
def test_bad_requests_are_named_before_any_fit(db, sql, message):
    db.execute("CREATE TABLE impossible (id INTEGER PRIMARY KEY, age INTEGER CHECK (age > 10 AND age < 5))")
    before = snapshot(db)
    with pytest.raises(synthtab_db.SynthError, match=message):
        db.execute(sql)
    assert snapshot(db) == before
