"""GENERATE … INTO PARQUET (issue 17): shards, keys across shards, FKs inside a shard,
the manifest commit, and the same rows from the local engine and from Ray with 1 or 2
workers (an embedded 2-CPU Ray cluster, started once for the module)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import synthtab_db
from synthtab_db import SynthError
from synthtab_db.dialect import split_script
from synthtab_db.distributed.audit import audit_output
from synthtab_db.distributed.manifest import MANIFEST
from synthtab_db.statements import generate_statement

SHOP = """
CREATE SCHEMA shop;
CREATE TABLE shop.customers(id INTEGER PRIMARY KEY, segment VARCHAR NOT NULL, age INTEGER CHECK (age >= 18));
CREATE TABLE shop.products(sku VARCHAR PRIMARY KEY, price DOUBLE NOT NULL CHECK (price > 0));
CREATE TABLE shop.orders(id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES shop.customers(id),
                         total DOUBLE CHECK (total >= 0));
CREATE TABLE shop.order_items(id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES shop.orders(id),
                              sku VARCHAR REFERENCES shop.products(sku), qty INTEGER CHECK (qty > 0));
INSERT INTO shop.customers SELECT i, ['retail', 'pro'][1 + i % 2], 18 + (i * 11) % 60 FROM range(1, 121) t(i);
INSERT INTO shop.products SELECT 'P-' || lpad(i::VARCHAR, 4, '0'), 1.5 + i % 20 FROM range(1, 31) t(i);
INSERT INTO shop.orders SELECT i, 1 + (i * 7) % 120, (i % 50) * 3.0 FROM range(1, 301) t(i);
INSERT INTO shop.order_items SELECT i, 1 + (i * 13) % 300, 'P-' || lpad((1 + i % 30)::VARCHAR, 4, '0'), 1 + i % 4
  FROM range(1, 701) t(i);
"""

PEOPLE = """
CREATE TABLE people(id INTEGER PRIMARY KEY, code VARCHAR UNIQUE, age INTEGER NOT NULL CHECK (age BETWEEN 18 AND 90),
                    score DOUBLE CHECK (score >= 0));
INSERT INTO people SELECT i, 'C' || lpad(i::VARCHAR, 5, '0'), 18 + (i * 7) % 70, (i % 13) * 1.5 FROM range(1, 301) t(i);
"""


@pytest.fixture
def shop(con):
    con.execute(SHOP)
    return con


@pytest.fixture
def people(con):
    con.execute(PEOPLE)
    return con


def _rows(root: Path) -> dict[str, list[tuple]]:
    """Every table of an output, file by file in manifest order: what 'identical output' compares."""
    manifest = json.loads((root / MANIFEST).read_text())
    return {t: [tuple(r.values()) for f in e["files"] for r in pq.read_table(root / f).to_pylist()]
            for t, e in manifest["tables"].items()}


def _shop_sql(root: Path, options: str = "") -> str:
    return (f"GENERATE SYNTHETIC FROM DATABASE shop SCALE 2 INTO PARQUET '{root}' "
            f"WITH (seed = 5, rows_per_shard = 100{options})")


# -- statements -------------------------------------------------------------------------
def test_into_parquet_parses_for_table_database_and_synthesizer():
    for sql, what in [("GENERATE SYNTHETIC FROM t ROWS 10 INTO PARQUET 'out'", "source"),
                      ("GENERATE SYNTHETIC FROM DATABASE s SCALE 2 INTO PARQUET 'out' WITH (engine = 'ray')", "database"),
                      ("GENERATE SYNTHETIC FROM SYNTHESIZER m INTO PARQUET 'out' ROWS 5", "synthesizer")]:
        statement = generate_statement(split_script(sql)[0].tree)
        assert statement.parquet == "out" and getattr(statement, what)


@pytest.mark.parametrize("sql, message", [
    ("GENERATE SYNTHETIC FROM t INTO PARQUET out", "INTO PARQUET expects a folder in quotes"),
    ("GENERATE SYNTHETIC FROM DATABASE s INTO PARQUET 'o' INTO SCHEMA x", "not both"),
])
def test_into_parquet_refusals_name_the_fix(con, sql, message):
    with pytest.raises((SynthError, synthtab_db.ParseError), match=message):
        con.execute(sql)


def test_unknown_engine_lists_the_engines(people, tmp_path):
    with pytest.raises(SynthError, match="unknown engine 'spark'.*local, ray"):
        people.execute(f"GENERATE SYNTHETIC FROM people ROWS 10 INTO PARQUET '{tmp_path}' WITH (engine = 'spark')")
    assert not (tmp_path / MANIFEST).exists()


def test_shard_keys_are_disjoint_positions_of_the_learned_sequence():
    import numpy as np
    import pyarrow as pa

    from synthtab_db.distributed.keys import ShardKeys
    from synthtab_db.distributed.shards import shard_ranges
    from synthtab_db.keys import choose_key_generator
    from synthtab_db.planner.schema import Column, ColumnType, Kind

    column = Column(name="code", type=ColumnType(kind=Kind.STRING, sql="VARCHAR"), nullable=False)
    learned = choose_key_generator(pa.array(["C-0007", "C-0010"]), column)
    rng = np.random.default_rng(0)
    made = [ShardKeys(learned, shard).generate(4, rng).to_pylist() for shard in shard_ranges(30, 10)]
    assert made[0] == ["C-0007", "C-0010", "C-0013", "C-0016"] and made[1][0] == "C-0008"
    assert len({k for keys in made for k in keys}) == 12


# -- one process (engine = 'local') -------------------------------------------------------
def test_single_table_shards_keep_every_guarantee(people, tmp_path):
    result = people.execute(f"GENERATE SYNTHETIC FROM people ROWS 1000 INTO PARQUET '{tmp_path}' "
                            "WITH (seed = 3, rows_per_shard = 300)").arrow().to_pylist()
    assert result[0]["rows"] == 1000 and result[0]["files"] == 4
    assert "read_parquet(" in result[0]["read_sql"]
    count, ids, codes = people.execute(
        f"SELECT count(*), count(DISTINCT id), count(DISTINCT code) FROM read_parquet('{tmp_path}/people/*.parquet')"
    ).fetchone()
    assert count == ids == codes == 1000  # keys unique across the 4 shards
    assert all(n == 0 for n in audit_output(tmp_path)["people"].values())
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["seed"] == 3 and manifest["shards"] == 4 and manifest["tables"]["people"]["rows"] == 1000
    assert manifest["synthesizer_fingerprint"] and manifest["versions"]["duckdb"]
    assert synthtab_db.read_parquet_output(people, tmp_path, schema="synth") == ["synth.people"]
    assert people.execute("SELECT count(*) FROM synth.people").fetchone()[0] == 1000


def test_three_levels_children_stay_in_their_shard(shop, tmp_path):
    result = {r["table"]: r for r in shop.execute(_shop_sql(tmp_path)).arrow().to_pylist()}
    assert result["customers"]["rows"] == 240 and result["customers"]["files"] == 3
    assert result["products"]["files"] == 1  # a lookup table: generated once, the global key space
    assert "order_id -> orders" in dict(result["order_items"]["children_ks"])
    audit = audit_output(tmp_path)
    assert all(n == 0 for checks in audit.values() for n in checks.values()), audit
    assert "FOREIGN KEY (order_id) -> shop.orders" in audit["order_items"]
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    for table, entry in manifest["tables"].items():
        assert entry["rows"] == sum(pq.read_metadata(tmp_path / f).num_rows for f in entry["files"]), table
    crossing = shop.execute(f"""
        SELECT count(*) FROM read_parquet('{tmp_path}/order_items/*.parquet', filename = true) i
        JOIN read_parquet('{tmp_path}/orders/*.parquet', filename = true) o ON i.order_id = o.id
        WHERE regexp_extract(i.filename, 'part-(\\d+)', 1) <> regexp_extract(o.filename, 'part-(\\d+)', 1)
    """).fetchone()[0]
    assert crossing == 0  # a child's parent lives in the child's own shard


def test_a_sharded_child_of_a_global_table_takes_its_shards_slice_of_parents(con, tmp_path):
    con.execute("""
        CREATE TABLE customers(id INTEGER PRIMARY KEY, age INTEGER);
        CREATE TABLE products(id INTEGER PRIMARY KEY, price DOUBLE);
        CREATE TABLE variants(id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL REFERENCES products(id));
        CREATE TABLE reviews(id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                             variant_id INTEGER NOT NULL REFERENCES variants(id), stars INTEGER);
        INSERT INTO customers SELECT i, 20 + i % 50 FROM range(1, 121) t(i);
        INSERT INTO products SELECT i, 1.0 + i FROM range(1, 101) t(i);
        INSERT INTO variants SELECT i, 1 + i % 100 FROM range(1, 401) t(i);
        INSERT INTO reviews SELECT i, 1 + (i * 7) % 120, 1 + (i * 3) % 400, 1 + i % 5 FROM range(1, 801) t(i);
    """)
    con.execute(f"GENERATE SYNTHETIC FROM DATABASE main INTO PARQUET '{tmp_path}' WITH (seed = 1, rows_per_shard = 40)")
    tables = json.loads((tmp_path / MANIFEST).read_text())["tables"]
    assert {t: e["sharded"] for t, e in tables.items()} == {
        "customers": True, "products": False, "variants": False, "reviews": True}
    assert tables["reviews"]["rows"] == 800  # each variant's reviews once, not once per shard
    assert not any(n for checks in audit_output(tmp_path).values() for n in checks.values())


def test_same_seed_same_rows(shop, tmp_path):
    shop.execute(_shop_sql(tmp_path / "a"))
    shop.execute(_shop_sql(tmp_path / "b"))
    assert _rows(tmp_path / "a") == _rows(tmp_path / "b")


def test_a_single_child_table_draws_its_parents_from_the_global_key_space(shop, tmp_path):
    shop.execute(f"GENERATE SYNTHETIC FROM shop.orders ROWS 200 INTO PARQUET '{tmp_path}' "
                 "WITH (seed = 4, rows_per_shard = 70)")
    customers = {"shop.customers": shop.sql("SELECT * FROM shop.customers").to_arrow_table()}
    audit = audit_output(tmp_path, external=customers)["orders"]
    assert audit["FOREIGN KEY (customer_id) -> shop.customers"] == 0 and not any(audit.values())
    assert json.loads((tmp_path / MANIFEST).read_text())["tables"]["orders"]["rows"] == 200


# -- the commit ---------------------------------------------------------------------------
def test_a_failed_run_leaves_no_manifest_and_the_next_run_cleans_up(people, tmp_path):
    with pytest.raises(SynthError, match=r"shard 00000 \(root rows 0..19\): table main.people: only 0 of 20 rows satisfy"):
        people.execute(f"GENERATE SYNTHETIC FROM people ROWS 50 INTO PARQUET '{tmp_path}' WHERE age < 10 "
                       "WITH (seed = 1, max_rounds = 2, rows_per_shard = 20)")
    assert not (tmp_path / MANIFEST).exists()
    assert not list(tmp_path.glob("_staging-*")) and not (tmp_path / "people").exists()
    killed = tmp_path / "_staging-killedrun" / "people"  # what a killed coordinator leaves
    killed.mkdir(parents=True)
    (killed / "part-00000.parquet").write_bytes(b"half")
    with pytest.raises(SynthError, match="no _manifest.json"):
        synthtab_db.read_parquet_output(people, tmp_path)
    people.execute(f"GENERATE SYNTHETIC FROM people ROWS 30 INTO PARQUET '{tmp_path}' WITH (seed = 1)")
    assert not (tmp_path / "_staging-killedrun").exists()
    assert json.loads((tmp_path / MANIFEST).read_text())["tables"]["people"]["rows"] == 30


def test_an_existing_output_needs_replace(people, tmp_path):
    sql = f"GENERATE SYNTHETIC FROM people ROWS 30 INTO PARQUET '{tmp_path}' WITH (seed = 1{{}})"
    people.execute(sql.format(""))
    with pytest.raises(SynthError, match="replace = true"):
        people.execute(sql.format(""))
    people.execute(sql.format(", replace = true, rows_per_shard = 10"))
    assert len(list((tmp_path / "people").glob("*.parquet"))) == 3


def test_stored_synthesizer_into_parquet(people, tmp_path):
    people.execute("TRAIN SYNTHESIZER p ON people WITH (seed = 2)")
    people.execute(f"GENERATE SYNTHETIC FROM SYNTHESIZER p ROWS 40 INTO PARQUET '{tmp_path}' "
                   "WITH (seed = 2, rows_per_shard = 15)")
    assert json.loads((tmp_path / MANIFEST).read_text())["tables"]["people"]["rows"] == 40
    assert all(n == 0 for n in audit_output(tmp_path)["people"].values())


# -- PostgreSQL: shards staged as UNLOGGED tables, moved in by one transaction ----------------
@pytest.fixture
def pg(postgres_dsn):
    import psycopg

    conn = psycopg.connect(postgres_dsn, autocommit=True)
    conn.execute("DROP SCHEMA IF EXISTS synth_ray_test CASCADE")
    yield conn
    conn.execute("DROP SCHEMA IF EXISTS synth_ray_test CASCADE")
    conn.close()


def _pg_sql(dsn: str, options: str = "") -> str:
    return (f"GENERATE SYNTHETIC FROM DATABASE shop SCALE 2 INTO POSTGRES '{dsn}' "
            f"WITH (seed = 5, rows_per_shard = 100, schema = 'synth_ray_test'{options})")


def test_into_postgres_writes_the_parquet_rows_with_declared_constraints(shop, pg, postgres_dsn, tmp_path):
    shop.execute(_pg_sql(postgres_dsn))
    shop.execute(_shop_sql(tmp_path))
    local = _rows(tmp_path)
    for table in ("customers", "orders", "order_items", "products"):
        rows = pg.execute(f"SELECT * FROM synth_ray_test.{table}").fetchall()
        assert sorted(rows) == sorted(local[table]), table
    kinds = pg.execute("SELECT constraint_type, count(*) FROM information_schema.table_constraints "
                       "WHERE table_schema = 'synth_ray_test' GROUP BY 1").fetchall()
    assert dict(kinds)["FOREIGN KEY"] == 3 and dict(kinds)["PRIMARY KEY"] == 4  # PostgreSQL holds them too
    assert pg.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE '_synthtab_%'").fetchone()[0] == 0
    with pytest.raises(SynthError, match="already exists in PostgreSQL; use WITH \\(replace = true\\)"):
        shop.execute(_pg_sql(postgres_dsn))


def test_a_failed_run_into_postgres_leaves_it_unchanged(people, pg, postgres_dsn):
    with pytest.raises(SynthError, match="only 0 of 10 rows satisfy"):
        people.execute(f"GENERATE SYNTHETIC FROM people ROWS 30 INTO POSTGRES '{postgres_dsn}' WHERE age < 10 "
                       "WITH (seed = 1, max_rounds = 1, rows_per_shard = 10, schema = 'synth_ray_test')")
    assert pg.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'synth_ray_test'").fetchone()[0] == 0
    assert pg.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE '_synthtab_%'").fetchone()[0] == 0


# -- Ray ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray not installed: pip install 'synthtab-db[ray]'")
    path = os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path, "SYNTHTAB_DEFAULT_MODEL": "copula"}})
    yield ray
    ray.shutdown()


def test_ray_with_1_2_or_8_workers_writes_the_local_rows(ray_cluster, shop, tmp_path):
    """8 in flight on the 2-CPU cluster: shards finish in another order, the rows must not change."""
    shop.execute(_shop_sql(tmp_path / "local"))
    for workers in (1, 2, 8):
        shop.execute(_shop_sql(tmp_path / f"ray{workers}", f", engine = 'ray', workers = {workers}"))
    local = _rows(tmp_path / "local")
    assert _rows(tmp_path / "ray1") == local and _rows(tmp_path / "ray2") == local
    assert _rows(tmp_path / "ray8") == local
    assert json.loads((tmp_path / "ray2" / MANIFEST).read_text())["versions"]["ray"] == ray_cluster.__version__


def test_a_failing_shard_on_ray_fails_the_statement_and_writes_nothing(ray_cluster, people, tmp_path):
    with pytest.raises(SynthError, match=r"shard 0000\d .*only 0 of 10 rows satisfy"):
        people.execute(f"GENERATE SYNTHETIC FROM people ROWS 30 INTO PARQUET '{tmp_path}' WHERE age < 10 "
                       "WITH (seed = 1, max_rounds = 1, rows_per_shard = 10, engine = 'ray')")
    assert not (tmp_path / MANIFEST).exists() and not list(tmp_path.glob("_staging-*"))


def test_ray_retries_a_killed_worker_and_its_shard_comes_out_the_same(ray_cluster, shop, tmp_path):
    shop.execute(_shop_sql(tmp_path / "local"))
    shop.generate_parquet(tmp_path / "ray", database="shop", scale=2, crash_shard=1,
                          options={"seed": 5, "rows_per_shard": 100, "engine": "ray", "workers": 2})
    assert (tmp_path / "ray" / "_test_crashed-00001").exists()  # the first attempt did die
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "local")
