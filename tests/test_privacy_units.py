"""Under DP a child table protects its parents: each parent's rows are bounded and every
mechanism is calibrated to what one parent can change."""

from __future__ import annotations

import numpy as np
import pytest

import synthtab_db
from synthtab_db.privacy.units import bound_contributions, unit_ids

pytest.importorskip("opacus")


def test_contributions_are_bounded_per_unit():
    units = np.array([5] * 30 + [7] * 3 + [9])
    kept, compact = bound_contributions(units, 8, np.random.default_rng(0))
    assert np.bincount(compact).tolist() == [8, 3, 1]
    assert np.all(np.diff(kept) > 0)


def test_a_null_parent_key_is_a_unit_of_its_own():
    ids = unit_ids([np.array([1, 1, None, None, 2], dtype=object)], 5)
    assert ids[0] == ids[1] and ids[2] != ids[3] and len(set(ids.tolist())) == 4


def _shop(con, planted_rows: int):
    """Orders of 300 customers; one customer alone holds ``planted_rows`` orders with a
    channel nobody else uses."""
    con.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, segment VARCHAR)")
    con.execute("INSERT INTO customer SELECT range, ['a', 'b', 'c'][1 + range % 3] FROM range(300)")
    con.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer(id), "
                "channel VARCHAR, total DOUBLE)")
    con.execute("INSERT INTO orders SELECT range, range % 300, ['web', 'shop'][1 + range % 2], 10 + range % 50 "
                "FROM range(6000)")
    con.execute(f"INSERT INTO orders SELECT 6000 + range, 299, 'secret-channel', 99 FROM range({planted_rows})")


@pytest.mark.parametrize("model", ["copula", "argn"])
def test_one_parents_many_rows_do_not_reach_dp_output(model):
    """400 rows from one customer: row-level thresholds would release the value (count 400),
    parent-level bounding leaves at most 8 rows of it, below the unit threshold."""
    con = synthtab_db.connect()
    _shop(con.duckdb, 400)
    extra = ", epochs = 1" if model == "argn" else ""
    result = con.execute(
        f"GENERATE SYNTHETIC FROM orders USING {model} WITH (epsilon = 4, seed = 1{extra})").arrow().to_pylist()[0]
    assert result["epsilon"] == pytest.approx(4.0, rel=0.01)
    seen = con.duckdb.execute("SELECT count(*) FROM synth_orders WHERE channel = 'secret-channel'").fetchall()[0][0]
    assert seen == 0
    # control: the same rows as a table without its FK (row-level units): the value is released
    con.duckdb.execute("CREATE TABLE flat AS SELECT * FROM orders")
    con.execute(f"GENERATE SYNTHETIC FROM flat USING {model} WITH (epsilon = 4, seed = 1{extra})")
    control = con.duckdb.execute("SELECT count(*) FROM synth_flat WHERE channel = 'secret-channel'").fetchall()[0][0]
    assert control > 0


@pytest.mark.parametrize("model", ["copula", "argn"])
def test_children_per_parent_are_released_with_dp_from_the_same_budget(model):
    """One customer with 400 orders: under DP the counts come from a noisy histogram capped at
    max_rows_per_parent, so no synthetic customer gets hundreds; the spend stays as asked."""
    con = synthtab_db.connect()
    _shop(con.duckdb, 400)
    extra = ", epochs = 1" if model == "argn" else ""
    result = con.execute(f"GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA dp USING {model} "
                         f"WITH (epsilon = 2, seed = 3{extra})").arrow().to_pylist()
    orders = next(r for r in result if r["table"] == "dp.orders")
    assert orders["epsilon"] == pytest.approx(1.0, rel=0.01), "half of epsilon 2 per table, counts included"
    most = con.duckdb.execute("SELECT max(n) FROM (SELECT count(*) n FROM dp.orders WHERE customer_id IS NOT NULL "
                              "GROUP BY customer_id)").fetchall()
    assert most[0][0] <= 8
    con.execute(f"GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA plain USING {model} WITH (seed = 3{extra})")
    most = con.duckdb.execute("SELECT max(n) FROM (SELECT count(*) n FROM plain.orders GROUP BY customer_id)").fetchall()
    assert most[0][0] >= 100, "without DP the heavy customer's count is learned as it is"
