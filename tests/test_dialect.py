"""The statement dialect: splitting scripts safely and parsing our clauses."""

import pytest

from synthtab_db.dialect import GenerateSynthetic, split_script
from synthtab_db.errors import ParseError, SynthError
from synthtab_db.statements import generate_statement


def parse(sql):
    (piece,) = split_script(sql)
    assert isinstance(piece.tree, GenerateSynthetic)
    return generate_statement(piece.tree)


def test_plain_sql_passes_through_as_text():
    script = "SELECT 'a;b' AS x; -- a comment; with semicolon\nSELECT $$c;d$$;\nselect generate FROM t"
    pieces = split_script(script)
    assert [p.tree for p in pieces] == [None, None, None]
    assert pieces[0].text == "SELECT 'a;b' AS x"
    assert pieces[1].text == "SELECT $$c;d$$"
    assert pieces[2].text == "select generate FROM t"


def test_ours_among_plain_statements():
    pieces = split_script("CREATE TABLE t (a INT); GENERATE SYNTHETIC FROM t ROWS 5; SELECT 1")
    assert [p.tree is not None for p in pieces] == [False, True, False]


def test_clauses_in_any_order():
    a = parse("GENERATE SYNTHETIC FROM s.customers ROWS 10 INTO synth.c USING copula WITH (seed = 7, replace = true)")
    b = parse("generate synthetic from s.customers with (seed = 7, replace = true) using copula into synth.c rows 10")
    assert a == b
    assert (a.source.schema, a.source.name, a.rows, a.into.schema, a.into.name, a.using) == (
        "s",
        "customers",
        10,
        "synth",
        "c",
        "copula",
    )
    assert a.model_options == {"seed": 7, "replace": True}


def test_database_form():
    s = parse("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth SCALE 0.5")
    assert s.database and s.source_schema == "main" and s.into_schema == "synth" and s.scale == 0.5
    s = parse("GENERATE SYNTHETIC FROM DATABASE SCALE 2 INTO SCHEMA synth")
    assert s.source_schema is None and s.scale == 2.0


def test_quoted_names_and_where():
    s = parse("GENERATE SYNTHETIC FROM \"order\" WHERE amount > 10 AND k IN ('A', 'B')")
    assert s.source.name == "order"
    assert "amount > 10" in s.where and "IN ('A', 'B')" in s.where


@pytest.mark.parametrize(
    "sql, fragment",
    [
        ("GENERATE SYNTHETIC FROM t ROWS 5 ROWS 6", "given twice at line 1, column 34"),
        ("GENERATE SYNTHETIC FROM t\n  FOO", "unexpected 'FOO'"),
        ("GENERATE SYNTHETIC customers", "expected FROM but found 'customers' at line 1, column 20"),
        ("GENERATE SYNTHETIC FROM t WITH (seed)", "name = value"),
        ("GENERATE SYNTHETIC FROM t\n  WITH (seed = 1", "at the end of the statement"),
        ("GENERATE SYNTHETIC FROM", "expected a source table name"),
        ("GENERATE SYNTHETIC FROM t ROWS abc", "ROWS expects a number, not 'abc' at line 1, column 32"),
    ],
)
def test_malformed_statements_name_the_position(sql, fragment):
    with pytest.raises(ParseError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        split_script(sql)


@pytest.mark.parametrize(
    "sql, fragment",
    [
        ("GENERATE SYNTHETIC FROM t ROWS 0", "ROWS must be a positive integer"),
        ("GENERATE SYNTHETIC FROM t ROWS -5", "ROWS must be a positive integer"),
        ("GENERATE SYNTHETIC FROM t ROWS 2.5", "ROWS must be a positive integer"),
        ("GENERATE SYNTHETIC FROM t SCALE 0", "SCALE must be a number greater than 0"),
        ("GENERATE SYNTHETIC FROM t SCALE -1.5", "SCALE must be a number greater than 0"),
        ("GENERATE SYNTHETIC FROM t ROWS 5 SCALE 2", "ROWS or SCALE"),
        ("GENERATE SYNTHETIC FROM DATABASE main", "needs INTO SCHEMA"),
        ("GENERATE SYNTHETIC FROM DATABASE INTO t INTO SCHEMA s", "not INTO <table>"),
        ("GENERATE SYNTHETIC FROM t WITH (seed = 1, seed = 2)", "given twice"),
    ],
)
def test_invalid_values_are_refused(sql, fragment):
    with pytest.raises(SynthError, match=fragment):
        parse(sql)
