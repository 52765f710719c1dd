"""Under DP the statistics outside the model are released too: other FKs' counts, sequence
starts and gaps, self-reference NULL rates, inherited-key agreement, row counts; keys come
from the declared type.  Each planted extreme is learned without DP (the controls) and
stays out of DP output, and the table's epsilon still lands on what was asked."""

from __future__ import annotations

import numpy as np
import pytest

import synthtab_db
from synthtab_db.audit import audit_schema
from synthtab_db.privacy import grids
from synthtab_db.privacy.accountant import Gaussian, epsilon, standalone_noise
from synthtab_db.privacy.foreign_key_counts import release_fk_counts
from synthtab_db.privacy.sequence_gaps import release_sequence
from synthtab_db.privacy.side_statistics import SIDE_SHARE, release_share, reserve

pytest.importorskip("opacus")


def _value(con, sql: str):
    return con.duckdb.execute(sql).fetchall()[0][0]


# -- the pure releases ---------------------------------------------------------------
def test_side_mechanisms_compose_to_their_share_alone():
    mechanisms = reserve(2.0, 1e-6, 1000, [4.0, 1.0, 1.0])
    assert epsilon(mechanisms, 1e-6 * 0.9) == pytest.approx(SIDE_SHARE * 2.0, rel=0.01)
    assert mechanisms[0].noise_multiplier < mechanisms[1].noise_multiplier  # the row count weighs more
    assert reserve(2.0, 1e-6, 1000, []) == []


def test_a_lone_heavy_parent_is_dropped_and_the_bulk_kept():
    counts = np.concatenate([np.full(5000, 3), [100_000]])
    released, null_rate = release_fk_counts(counts, 2000, 8, Gaussian(0.5), np.random.default_rng(0))
    assert released.max() < 10 and 4000 < released.size < 6000
    assert null_rate == pytest.approx(2000 / (2000 + counts.sum()), abs=0.01)
    nothing, rate = release_fk_counts(np.array([5, 0, 2]), 0, 8, Gaussian(50.0), np.random.default_rng(0))
    assert nothing.tolist() == [1] and rate == 0.0  # swamped: every parent weighs the same


def test_sequence_grids_drop_a_lone_start_and_gap():
    day = 1
    starts = np.concatenate([np.full(3000, 18_628), [-7_305]])  # 2021-01-01 and one start in 1950
    gaps = np.concatenate([np.full(20_000, 1), [3650]])
    kept_starts, kept_gaps = release_sequence(starts, gaps, day, 8, Gaussian(0.5), np.random.default_rng(1))
    assert kept_starts.min() >= 18_628 - 7 and kept_starts.max() < 18_628 + 7
    assert set(kept_gaps.tolist()) == {1}
    assert 100 <= grids.log_edges(100).max() < 120  # the last bucket holds the top


def test_a_share_is_released_or_withheld():
    assert release_share(300, 700, 1, Gaussian(1.0), np.random.default_rng(0)) == pytest.approx(0.3, abs=0.02)
    assert release_share(1, 1, 8, Gaussian(10.0), np.random.default_rng(0)) is None
    assert standalone_noise(0.1, 1e-6) > standalone_noise(1.0, 1e-6)


# -- through GENERATE -----------------------------------------------------------------
def _shop(con):
    """300 customers, 100 stores; customer 299 alone holds 2000 orders, all at store 0 (the
    secondary FK); customer codes share a prefix 'ZQX-' and one id is planted far below."""
    d = con.duckdb
    d.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, code VARCHAR UNIQUE, segment VARCHAR)")
    d.execute("INSERT INTO customer SELECT CASE WHEN range = 0 THEN -424242 ELSE range END, "
              "'ZQX-' || lpad(range::VARCHAR, 5, '0'), ['a', 'b', 'c'][1 + range % 3] FROM range(300)")
    d.execute("CREATE TABLE store (id INTEGER PRIMARY KEY, city VARCHAR)")
    d.execute("INSERT INTO store SELECT range, ['x', 'y'][1 + range % 2] FROM range(100)")
    d.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer(id), "
              "store_id INTEGER REFERENCES store(id), total DOUBLE)")
    d.execute("INSERT INTO orders SELECT range, CASE WHEN range % 300 = 0 THEN -424242 ELSE range % 300 END, "
              "range % 100, 10 + range % 50 FROM range(3000)")
    d.execute("INSERT INTO orders SELECT 3000 + range, 299, 0, 99 FROM range(2000)")


def _most_at_one_store(con, schema: str) -> int:
    return _value(con, f"SELECT max(n) FROM (SELECT count(*) n FROM {schema}.orders GROUP BY store_id)")


def test_other_fk_counts_and_key_formats_are_released_with_dp():
    con = synthtab_db.connect()
    _shop(con)
    con.execute("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA plain USING copula WITH (seed = 2)")
    assert _most_at_one_store(con, "plain") >= 1500, "without DP the heavy store's count is learned as it is"
    assert _value(con, "SELECT count(*) FROM plain.customer WHERE code LIKE 'ZQX-%'") > 0
    assert _value(con, "SELECT min(id) FROM plain.customer") == -424242

    rows = con.execute("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA dp USING copula "
                       "WITH (epsilon = 3, seed = 2)").arrow().to_pylist()
    assert all(0.99 <= r["epsilon"] <= 1.0 for r in rows), [(r["table"], r["epsilon"]) for r in rows]
    total = _value(con, "SELECT count(*) FROM dp.orders")
    assert _most_at_one_store(con, "dp") < 0.1 * total
    assert _value(con, "SELECT count(*) FROM dp.customer WHERE code LIKE '%ZQX%'") == 0
    assert _value(con, "SELECT min(id) FROM dp.customer") >= 1
    assert sum(audit_schema(con.duckdb, "dp", "main").values()) == 0


def _stations(con):
    """400 stations, 12 hourly readings each, all starting in one week of January 2021; station
    399 instead reads every 1000 days from 1950 on."""
    d = con.duckdb
    d.execute("CREATE TABLE station (id INTEGER PRIMARY KEY, zone VARCHAR)")
    d.execute("INSERT INTO station SELECT range, ['n', 's'][1 + range % 2] FROM range(400)")
    d.execute("CREATE TABLE reading (station_id INTEGER NOT NULL REFERENCES station(id), ts TIMESTAMP NOT NULL, "
              "value DOUBLE, PRIMARY KEY (station_id, ts))")
    d.execute("INSERT INTO reading SELECT s, TIMESTAMP '2021-01-04' + INTERVAL (s % 3) DAY + INTERVAL (k) HOUR, k "
              "FROM range(399) t(s), range(12) u(k)")
    d.execute("INSERT INTO reading SELECT 399, TIMESTAMP '1950-01-01' + INTERVAL (k * 1000) DAY, k FROM range(12) u(k)")
    d.execute("CREATE TABLE emp (id INTEGER PRIMARY KEY, manager_id INTEGER REFERENCES emp(id), pay DOUBLE)")
    d.execute("INSERT INTO emp SELECT range, NULL, range FROM range(10)")
    d.execute("INSERT INTO emp SELECT range, range % 10, range FROM range(10, 400)")


def _gaps(con, table: str):
    return con.duckdb.execute(
        f"SELECT min(ts), max(g) FROM (SELECT ts, ts - lag(ts) OVER (PARTITION BY station_id ORDER BY ts) AS g "
        f"FROM {table})").fetchall()[0]


def test_sequence_starts_and_gaps_are_released_with_dp():
    con = synthtab_db.connect()
    _stations(con)
    con.execute("GENERATE SYNTHETIC FROM reading INTO plain_reading USING copula WITH (seed = 4)")
    assert _gaps(con, "plain_reading")[1].days >= 1000, "without DP the planted gap is drawn"
    (row,) = con.execute("GENERATE SYNTHETIC FROM reading INTO dp_reading USING copula "
                         "WITH (epsilon = 20, seed = 4)").arrow().to_pylist()
    assert 0.99 * 20 <= row["epsilon"] <= 20
    first, widest = _gaps(con, "dp_reading")
    assert first.year == 2021 and widest.total_seconds() < 2 * 3600, "starts and gaps learned, the planted ones not"
    assert _value(con, "SELECT count(*) FROM dp_reading GROUP BY station_id, ts ORDER BY 1 DESC LIMIT 1") == 1


def test_self_reference_and_row_counts_under_dp_spend_the_table_budget():
    con = synthtab_db.connect()
    _stations(con)
    rows = con.execute("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA dp USING copula "
                       "WITH (epsilon = 3, seed = 6)").arrow().to_pylist()
    assert all(0.99 <= r["epsilon"] <= 1.0 for r in rows), [(r["table"], r["epsilon"]) for r in rows]
    assert sum(audit_schema(con.duckdb, "dp", "main").values()) == 0
    roots = _value(con, "SELECT avg(CASE WHEN manager_id IS NULL THEN 1.0 ELSE 0.0 END) FROM dp.emp")
    assert roots < 0.6


def test_inherited_key_agreement_is_released_with_dp():
    """payment -> rental -> customer and payment -> customer: the share of payments whose customer
    is their rental's is released; at a large epsilon it is still learned."""
    con = synthtab_db.connect()
    d = con.duckdb
    d.execute("CREATE TABLE customer (id INTEGER PRIMARY KEY, segment VARCHAR)")
    d.execute("INSERT INTO customer SELECT range, ['a', 'b'][1 + range % 2] FROM range(200)")
    d.execute("CREATE TABLE rental (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer(id), days INTEGER)")
    d.execute("INSERT INTO rental SELECT range, range % 200, range % 7 FROM range(2000)")
    d.execute("CREATE TABLE payment (id INTEGER PRIMARY KEY, rental_id INTEGER REFERENCES rental(id), "
              "customer_id INTEGER REFERENCES customer(id), amount DOUBLE)")
    d.execute("INSERT INTO payment SELECT range, range, range % 200, 1 + range % 9 FROM range(2000)")
    (row,) = con.execute("GENERATE SYNTHETIC FROM payment INTO dp_payment USING copula "
                         "WITH (epsilon = 20, seed = 8)").arrow().to_pylist()
    assert 0.99 * 20 <= row["epsilon"] <= 20
    agree = _value(con, "SELECT avg(CASE WHEN p.customer_id = r.customer_id THEN 1.0 ELSE 0.0 END) "
                        "FROM dp_payment p JOIN rental r ON p.rental_id = r.id")
    assert agree > 0.8


def test_a_cycle_fk_filled_after_the_insert_is_released_with_dp():
    """dept.head_id -> emp closes a cycle: under DP its sampler is released with the table's
    other statistics (fill_deferred reads no source rows), and the key still holds."""
    from synthtab_db.dialect import split_script
    from synthtab_db.engine.run import run_generate
    from synthtab_db.planner.ddl import schema_from_ddl
    from synthtab_db.planner.schema import TableRef
    from synthtab_db.statements import generate_statement

    con = synthtab_db.connect()
    d = con.duckdb
    d.execute("CREATE TABLE dept (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, head_id INTEGER UNIQUE)")
    d.execute("CREATE TABLE emp (id INTEGER PRIMARY KEY, dept_id INTEGER NOT NULL REFERENCES dept(id), salary DOUBLE)")
    d.execute("INSERT INTO dept SELECT g, 'd' || g, CASE WHEN g % 4 <> 0 THEN g * 3 END FROM range(1, 41) t(g)")
    d.execute("INSERT INTO emp SELECT g, 1 + g % 40, 1000 + g FROM range(1, 601) t(g)")
    schema = schema_from_ddl("CREATE TABLE dept (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, head_id INTEGER UNIQUE);"
                             "CREATE TABLE emp (id INTEGER PRIMARY KEY, dept_id INTEGER NOT NULL REFERENCES dept(id), "
                             "salary DOUBLE); ALTER TABLE dept ADD FOREIGN KEY (head_id) REFERENCES emp(id);",
                             dialect="postgres")
    schema = schema.model_copy(update={"tables": tuple(
        t.model_copy(update={"ref": TableRef(name=t.name, schema="main"), "foreign_keys": tuple(
            fk.model_copy(update={"ref_table": TableRef(name=fk.ref_table.name, schema="main")})
            for fk in t.foreign_keys)}) for t in schema.tables)})
    (piece,) = split_script("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA dp USING copula "
                            "WITH (epsilon = 4, seed = 5)")
    rows = run_generate(d, generate_statement(piece.tree), schema=schema).to_pylist()
    assert all(0.99 * 2 <= r["epsilon"] <= 2 for r in rows), [(r["table"], r["epsilon"]) for r in rows]
    heads, distinct, dangling = d.execute(
        "SELECT count(head_id), count(DISTINCT head_id), "
        "count(*) FILTER (WHERE head_id IS NOT NULL AND head_id NOT IN (SELECT id FROM dp.emp)) FROM dp.dept"
    ).fetchall()[0]
    assert distinct == heads and dangling == 0
