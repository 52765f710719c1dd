"""Nothing from a single record reaches DP output: a planted unique category and a planted
extreme value never appear, whatever the model (the column statistics are DP too)."""

from __future__ import annotations

import pytest

pytest.importorskip("opacus")

import synthtab_db  # noqa: E402

UNIQUE, EXTREME = "Zelda Quux-Unique", 987_654_321


@pytest.fixture
def planted():
    con = synthtab_db.connect()
    con.execute("""CREATE TABLE t AS
        SELECT ['alpha', 'beta', 'gamma'][1 + i % 3] AS label, 100 + (i * 7919) % 900 AS amount,
               (i % 7 = 0) AS flag
        FROM range(3000) r(i)""")
    con.execute(f"INSERT INTO t VALUES ('{UNIQUE}', {EXTREME}, true)")
    yield con
    con.close()


@pytest.mark.parametrize("model, extra", [("copula", ""), ("argn", ", epochs = 1")])
def test_planted_unique_and_extreme_never_appear(planted, model, extra):
    if model == "argn":
        pytest.importorskip("torch")
    con = planted
    con.execute(f"GENERATE SYNTHETIC FROM t ROWS 6000 INTO s USING {model} WITH (epsilon = 4, seed = 5{extra})")
    labels = {r[0] for r in con.execute("SELECT DISTINCT label FROM s").fetchall()}
    assert UNIQUE not in labels and {"alpha", "beta", "gamma"} <= labels
    assert labels <= {"alpha", "beta", "gamma", "_RARE_", None}
    low, high = con.execute("SELECT min(amount), max(amount) FROM s").fetchall()[0]
    assert high < 2048 and low >= 64  # DP bounds: the power-of-two buckets around 100..999, never the planted value


def test_without_dp_the_same_table_does_reproduce_them(planted):
    """The control: the test above could fail (a non-DP copula emits the observed extremes)."""
    con = planted
    con.execute("GENERATE SYNTHETIC FROM t ROWS 20000 INTO s USING copula WITH (seed = 5, min_count = 1)")
    assert con.execute("SELECT max(amount) FROM s").fetchall()[0][0] > 10_000


def test_without_dp_clip_extremes_caps_the_planted_value(planted):
    con = planted
    con.execute("GENERATE SYNTHETIC FROM t ROWS 20000 INTO s USING copula WITH (seed = 5, clip_extremes = 3, "
                "protect_rare = true)")
    assert con.execute("SELECT max(amount) FROM s").fetchall()[0][0] < 1000
    assert UNIQUE not in {r[0] for r in con.execute("SELECT DISTINCT label FROM s").fetchall()}
