"""EXPLAIN GENERATE SYNTHETIC …: the plan as rows, nothing run, nothing written."""

from __future__ import annotations

import pytest

import synthtab_db
from synthtab_db.errors import SynthError

SHOP = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id), amount DOUBLE);
INSERT INTO customers SELECT i, 'n' || i FROM range(40) t(i);
INSERT INTO orders SELECT i, i % 40, i * 1.5 FROM range(120) t(i);
"""


@pytest.fixture
def shop():
    con = synthtab_db.connect()
    con.execute(SHOP)
    return con


def tables(con) -> list[tuple]:
    return con.duckdb.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()


def test_explain_lists_steps_parents_first_and_runs_nothing(shop):
    before = tables(shop)
    rows = shop.sql("EXPLAIN GENERATE SYNTHETIC FROM DATABASE INTO SCHEMA synth SCALE 2 USING copula").fetchall()
    names = [c[0] for c in shop.sql(
        "EXPLAIN GENERATE SYNTHETIC FROM DATABASE INTO SCHEMA synth SCALE 2 USING copula").description]
    plan = [dict(zip(names, r)) for r in rows]
    assert [p["table"] for p in plan] == ["synth.customers", "synth.orders"]
    assert [p["rows"] for p in plan] == [80, 240]
    assert plan[0]["rows_rule"] == "about 80 (source rows x SCALE 2)"
    assert plan[1]["parents"] == "(customer_id) -> main.customers drawn from synth.customers"
    assert all(p["model"] == "copula" and p["est_memory_mb"] > 0 and p["est_seconds"] >= 0 for p in plan)
    assert tables(shop) == before  # no target, no schema, no state table


def test_explain_refuses_what_generate_would_refuse(shop):
    shop.execute("GENERATE SYNTHETIC FROM customers ROWS 5 USING copula")
    with pytest.raises(SynthError, match="target table main.synth_customers already exists"):
        shop.execute("EXPLAIN GENERATE SYNTHETIC FROM customers ROWS 5 USING copula")
    with pytest.raises(SynthError, match="unknown option 'bogus'"):
        shop.execute("EXPLAIN GENERATE SYNTHETIC FROM orders USING copula WITH (bogus = 1)")


def test_explain_rows_match_what_generate_makes(shop):
    (explained,) = shop.sql("EXPLAIN GENERATE SYNTHETIC FROM orders ROWS 33 USING copula WITH (seed = 1)").fetchall()
    result = shop.generate("orders", rows=33, using="copula", seed=1)
    assert explained[3] == result.column("rows")[0].as_py() == 33


def test_plain_explain_still_goes_to_duckdb(shop):
    text = shop.sql("EXPLAIN SELECT count(*) FROM orders").fetchall()
    assert text and "physical_plan" in str(text[0][0])


def test_a_plan_that_travelled_as_json_runs_the_same_rows(shop):
    """What a distributed executor does: plan once, ship the JSON, execute the steps elsewhere."""
    from synthtab_db.dialect import split_script
    from synthtab_db.engine.planning import plan_statement
    from synthtab_db.engine.run import plan_jobs, run_plan
    from synthtab_db.planner.steps import GeneratePlan
    from synthtab_db.statements import generate_statement

    sql = "GENERATE SYNTHETIC FROM DATABASE INTO SCHEMA {} SCALE 2 USING copula WITH (seed = 4)"
    shop.execute(sql.format("direct"))
    plan, _ = plan_statement(shop.duckdb, generate_statement(split_script(sql.format("shipped"))[0].tree))
    shipped = GeneratePlan.model_validate_json(plan.model_dump_json())
    run_plan(shop.duckdb, shipped, plan_jobs(shop.duckdb, shipped), None)
    for table in ("customers", "orders"):
        direct = shop.duckdb.sql(f"SELECT * FROM direct.{table} ORDER BY ALL").fetchall()
        assert direct == shop.duckdb.sql(f"SELECT * FROM shipped.{table} ORDER BY ALL").fetchall()
        assert len(direct) == 80 if table == "customers" else len(direct) > 0
