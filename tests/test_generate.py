"""GENERATE SYNTHETIC FROM <table> end to end on a real DuckDB."""

from __future__ import annotations

import re

import pytest

import synthtab_db
from synthtab_db.audit import audit_schema

SHOP = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    code VARCHAR NOT NULL UNIQUE,
    name VARCHAR(12) NOT NULL,
    age INTEGER CHECK (age BETWEEN 18 AND 99),
    segment VARCHAR CHECK (segment IN ('retail', 'business', 'vip')),
    balance DECIMAL(8, 2),
    joined DATE NOT NULL,
    active BOOLEAN
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    amount DOUBLE NOT NULL CHECK (amount > 0),
    placed TIMESTAMP
);
"""


@pytest.fixture
def shop(con):
    con.execute(SHOP)
    con.execute(
        """
        INSERT INTO customers
        SELECT i, 'C' || lpad(i::VARCHAR, 5, '0'), 'name' || (i % 97), 18 + (i * 7) % 80,
               ['retail', 'business', 'vip'][1 + (i % 3)], (i * 37 % 1000) / 10.0,
               DATE '2020-01-01' + (i % 700)::INTEGER, i % 4 = 0
        FROM range(1, 401) t(i);
        INSERT INTO orders
        SELECT i, 1 + (i * 13) % 300, 5 + (i * 31 % 500) / 3.0, TIMESTAMP '2021-01-01' + to_minutes(i * 37)
        FROM range(1, 1201) t(i);
        """
    )
    return con


def test_generates_rows_that_obey_every_constraint(shop):
    result = shop.execute("GENERATE SYNTHETIC FROM customers ROWS 500 INTO synth_customers WITH (seed = 7)")
    (row,) = result.fetchall()
    assert row[0] == "main.synth_customers" and row[2] == 500
    assert shop.execute(
        "SELECT count(*), count(DISTINCT id), count(DISTINCT code) FROM synth_customers"
    ).fetchone() == (500, 500, 500)
    assert shop.execute(
        "SELECT count(*) FROM synth_customers WHERE age NOT BETWEEN 18 AND 99 OR length(name) > 12"
    ).fetchone() == (0,)
    codes = [r[0] for r in shop.execute("SELECT code FROM synth_customers").fetchall()]
    assert all(re.fullmatch(r"C\d{5}", c) for c in codes)


def test_defaults_into_synth_table_with_source_row_count(shop):
    shop.execute("GENERATE SYNTHETIC FROM customers")
    assert shop.execute("SELECT count(*) FROM synth_customers").fetchone() == (400,)


def test_same_seed_same_rows(shop):
    shop.execute("GENERATE SYNTHETIC FROM customers ROWS 200 INTO a WITH (seed = 3)")
    shop.execute("GENERATE SYNTHETIC FROM customers ROWS 200 INTO b WITH (seed = 3)")
    shop.execute("GENERATE SYNTHETIC FROM customers ROWS 200 INTO c WITH (seed = 4)")
    assert shop.execute("SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)").fetchone() == (0,)
    assert (
        shop.execute(
            "SELECT count(*) FROM (SELECT * EXCLUDE (id, code) FROM a EXCEPT ALL SELECT * EXCLUDE (id, code) FROM c)"
        ).fetchone()[0]
        > 0
    )


def test_child_table_keys_come_from_real_parents(shop):
    shop.execute("GENERATE SYNTHETIC FROM orders ROWS 800 INTO synth_orders WITH (seed = 1)")
    orphans = shop.execute(
        "SELECT count(*) FROM synth_orders o LEFT JOIN customers c ON o.customer_id = c.id WHERE c.id IS NULL"
    ).fetchone()[0]
    assert orphans == 0
    # parents with no orders exist in the source (customers 301..400); the draw keeps that shape
    childless = shop.execute(
        "SELECT count(*) FROM customers WHERE id NOT IN (SELECT customer_id FROM synth_orders)"
    ).fetchone()[0]
    assert childless >= 80


def test_append_continues_keys(shop):
    shop.execute("GENERATE SYNTHETIC FROM customers ROWS 100 INTO t WITH (seed = 1)")
    shop.execute("GENERATE SYNTHETIC FROM customers ROWS 100 INTO t WITH (seed = 1, append = true)")
    assert shop.execute("SELECT count(*), count(DISTINCT id), count(DISTINCT code) FROM t").fetchone() == (
        200,
        200,
        200,
    )


def test_replace_overwrites(shop):
    shop.execute("GENERATE SYNTHETIC FROM customers ROWS 50 INTO t")
    shop.execute("GENERATE SYNTHETIC FROM customers ROWS 70 INTO t WITH (replace = true)")
    assert shop.execute("SELECT count(*) FROM t").fetchone() == (70,)


def test_where_condition_holds_for_every_row(shop):
    shop.execute(
        "GENERATE SYNTHETIC FROM customers ROWS 100 INTO vip WHERE segment = 'vip' AND age >= 40 WITH (seed = 2)"
    )
    assert shop.execute("SELECT count(*) FROM vip WHERE segment <> 'vip' OR age < 40").fetchone() == (0,)
    assert shop.execute("SELECT count(*) FROM vip").fetchone() == (100,)


def test_schema_only_generation_from_an_empty_table(con):
    con.execute(
        "CREATE TABLE empty_t (id INTEGER PRIMARY KEY, score INTEGER NOT NULL CHECK (score BETWEEN 5 AND 9), "
        "kind VARCHAR CHECK (kind IN ('a', 'b')), born DATE)"
    )
    con.execute("GENERATE SYNTHETIC FROM empty_t ROWS 300 INTO filled WITH (seed = 1)")
    assert con.execute("SELECT count(*), min(score) >= 5, max(score) <= 9 FROM filled").fetchone() == (300, True, True)
    assert con.execute("SELECT count(*) FROM filled WHERE kind NOT IN ('a', 'b')").fetchone() == (0,)


def test_empty_source_without_rows_is_refused(con):
    con.execute("CREATE TABLE e (a INTEGER)")
    with pytest.raises(synthtab_db.SynthError, match="has no rows.*ROWS"):
        con.execute("GENERATE SYNTHETIC FROM e")


def test_python_api_matches_sql(shop):
    result = shop.generate("customers", rows=50, into="py_customers", seed=5)
    assert result.num_rows == 1 and result.column("rows")[0].as_py() == 50
    assert audit_schema(shop.duckdb, "main")  # audit ran over the tables
    assert shop.execute("SELECT count(*) FROM py_customers").fetchone() == (50,)


def test_result_set_shape(shop):
    result = shop.execute("GENERATE SYNTHETIC FROM customers ROWS 10 INTO r WITH (seed = 1)")
    assert [d[0] for d in result.description] == [
        "table",
        "source",
        "rows",
        "model",
        "seconds",
        "rounds",
        "rejected_rows",
        "rejected",
        "children_ks",
        "note",
        "epsilon",
        "delta",
        "noise_multiplier",
        "max_grad_norm",
    ]


def test_sql_returns_a_relation(shop):
    rel = shop.sql("GENERATE SYNTHETIC FROM customers ROWS 10 INTO rel_t")
    assert rel.fetchall()[0][2] == 10
