"""USING auto: per table the model a measured rule chooses, named in the result with why."""

from __future__ import annotations

import pytest

from synthtab_db.errors import SynthError
from synthtab_db.models import auto


def test_small_numeric_table_gets_the_copula_and_says_why(con):
    con.execute("CREATE TABLE t AS SELECT i % 7 AS g, i * 0.5 AS x FROM range(300) r(i)")
    (row,) = con.execute("GENERATE SYNTHETIC FROM t INTO s USING auto WITH (seed = 1, epochs = 2)").fetchall()
    assert row[3] == "copula" and "auto chose copula: 300 rows" in row[9]


def test_mostly_categorical_table_gets_argn(con):
    pytest.importorskip("torch")
    con.execute("CREATE TABLE t AS SELECT 'g' || (i % 7) AS g, 'h' || (i % 3) AS h, i AS x FROM range(300) r(i)")
    (row,) = con.execute("GENERATE SYNTHETIC FROM t INTO s USING auto WITH (seed = 1, epochs = 1)").fetchall()
    assert row[3] == "argn" and "numeric columns" in row[9]


def test_the_rule_by_size():
    assert auto.choose(auto.COPULA_BELOW_ROWS - 1, 1.0).model.name == "copula"
    if "argn" in auto.available_models():
        assert auto.choose(auto.COPULA_BELOW_ROWS, 1.0).model.name == "argn"


def test_options_of_either_model_are_accepted_and_unknown_ones_refused(con):
    con.execute("CREATE TABLE t AS SELECT i % 7 AS g FROM range(100) r(i)")
    con.execute("GENERATE SYNTHETIC FROM t INTO s USING auto WITH (seed = 1, shrinkage = 0.2, epochs = 3)")
    with pytest.raises(SynthError, match="unknown option 'nope'"):
        con.execute("GENERATE SYNTHETIC FROM t INTO s2 USING auto WITH (nope = 1)")
