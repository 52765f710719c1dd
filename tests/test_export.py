"""synthtab-db export: every format loads back (CSV/Parquet into DuckDB, the SQL
script into DuckDB and the real PostgreSQL, the workbook through openpyxl)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import duckdb
import pytest

import synthtab_db
from synthtab_db.cli import main
from synthtab_db.errors import SynthError
from synthtab_db.export import export_schema

SHOP = """
CREATE SCHEMA shop;
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE shop.customers (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, feeling mood, born DATE,
                             seen TIMESTAMP, score DOUBLE, tags VARCHAR[]);
CREATE TABLE shop.orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES shop.customers (id),
                          total DECIMAL(10, 2) CHECK (total >= 0), paid BOOLEAN, ref UUID, UNIQUE (customer_id, ref));
COMMENT ON COLUMN shop.customers.name IS 'who it is; with a quote''s escape';
INSERT INTO shop.customers VALUES (1, 'O''Brien; DROP', 'ok', DATE '1990-02-03', TIMESTAMP '2024-05-06 07:08:09', 1.5,
                                   ['a', 'b']), (2, 'Zoë', NULL, NULL, NULL, NULL, NULL);
INSERT INTO shop.orders VALUES (1, 1, 12.30, TRUE, '6b7d0a4e-6b2c-4bbd-9b7b-1f7e0c1a2b3c'), (2, 2, 0.00, NULL, NULL),
                               (3, 1, 999.99, FALSE, NULL);
"""


@pytest.fixture
def shop_file(tmp_path):
    path = tmp_path / "store.duckdb"  # not shop.duckdb: the catalog would clash with schema shop
    with synthtab_db.connect(str(path)) as con:
        con.execute(SHOP)
    return path


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_csv_and_parquet_load_back_into_duckdb(shop_file, tmp_path):
    con = duckdb.connect(str(shop_file), read_only=True)
    for fmt in ("csv", "parquet"):
        paths = export_schema(con, "shop", fmt, tmp_path / fmt)
        assert [p.name for p in paths] == [f"customers.{fmt}", f"orders.{fmt}"]  # parents first
        back = rows(con, f"SELECT id, customer_id, total::DECIMAL(10,2), paid FROM '{tmp_path / fmt / ('orders.' + fmt)}' "
                         "ORDER BY id")
        assert back == rows(con, "SELECT id, customer_id, total, paid FROM shop.orders ORDER BY id")
    names = rows(con, f"SELECT name FROM read_csv('{tmp_path / 'csv' / 'customers.csv'}') ORDER BY id")
    assert names == [("O'Brien; DROP",), ("Zoë",)]


def test_xlsx_reads_back(shop_file, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    con = duckdb.connect(str(shop_file), read_only=True)
    (path,) = export_schema(con, "shop", "xlsx", tmp_path)
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["customers", "orders"]
    customers = list(book["customers"].values)
    assert customers[0] == ("id", "name", "feeling", "born", "seen", "score", "tags")
    assert customers[1][:3] == (1, "O'Brien; DROP", "ok") and customers[1][4] == dt.datetime(2024, 5, 6, 7, 8, 9)
    orders = list(book["orders"].values)
    assert [r[2] for r in orders[1:]] == [12.3, 0, 999.99] and orders[1][4] == "6b7d0a4e-6b2c-4bbd-9b7b-1f7e0c1a2b3c"


def test_sql_script_loads_into_duckdb_with_its_constraints(shop_file, tmp_path):
    con = duckdb.connect(str(shop_file), read_only=True)
    (path,) = export_schema(con, "shop", "sql", tmp_path)
    fresh = duckdb.connect()
    fresh.execute(path.read_text())
    assert rows(fresh, "SELECT * FROM orders ORDER BY id") == rows(con, "SELECT * FROM shop.orders ORDER BY id")
    assert rows(fresh, "SELECT id, name, born, seen, tags FROM customers ORDER BY id") == \
        rows(con, "SELECT id, name, born, seen, tags FROM shop.customers ORDER BY id")
    assert rows(fresh, "SELECT comment FROM duckdb_columns() WHERE table_name = 'customers' AND column_name = 'name'") == \
        [("who it is; with a quote's escape",)]
    with pytest.raises(duckdb.ConstraintException):
        fresh.execute("INSERT INTO orders VALUES (9, 42, 1, TRUE, NULL)")  # the FK came along
    with pytest.raises(duckdb.ConstraintException):
        fresh.execute("INSERT INTO customers (id, name, feeling) VALUES (9, 'x', 'happy')")  # the enum as a CHECK


def test_sql_script_loads_into_postgresql(shop_file, tmp_path, postgres_dsn):
    psycopg = pytest.importorskip("psycopg")
    con = duckdb.connect(str(shop_file), read_only=True)
    (path,) = export_schema(con, "shop", "sql", tmp_path)
    schema = f"export_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as pg:
        pg.execute(f"CREATE SCHEMA {schema}")
        try:
            pg.execute(f"SET search_path TO {schema}")
            pg.execute(path.read_text())
            orders = pg.execute("SELECT id, customer_id, total, paid, ref::text FROM orders ORDER BY id").fetchall()
            customers = pg.execute("SELECT name, born, tags FROM customers ORDER BY id").fetchall()
            comment = pg.execute(f"SELECT col_description('{schema}.customers'::regclass, 2)").fetchone()[0]
            fks = pg.execute("SELECT count(*) FROM information_schema.table_constraints WHERE table_schema = %s "
                             "AND constraint_type = 'FOREIGN KEY'", (schema,)).fetchone()[0]
        finally:
            pg.execute(f"DROP SCHEMA {schema} CASCADE")
    assert orders == [(1, 1, Decimal("12.30"), True, "6b7d0a4e-6b2c-4bbd-9b7b-1f7e0c1a2b3c"),
                      (2, 2, Decimal("0.00"), None, None), (3, 1, Decimal("999.99"), False, None)]
    assert customers == [("O'Brien; DROP", dt.date(1990, 2, 3), ["a", "b"]), ("Zoë", None, None)]
    assert fks == 1
    assert comment == "who it is; with a quote's escape"


def test_cli_export_writes_files_and_refuses_to_overwrite(shop_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", str(shop_file), "--schema", "shop", "--format", "parquet", "--to", str(out)]) == 0
    assert capsys.readouterr().out.split() == [str(out / "customers.parquet"), str(out / "orders.parquet")]
    assert main(["export", str(shop_file), "--schema", "shop", "--format", "parquet", "--to", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(shop_file), "--schema", "nope", "--to", str(out)]) == 2
    assert "schema 'nope' has no tables to export" in capsys.readouterr().err


def test_unknown_format_is_refused(shop_file, tmp_path):
    with pytest.raises(SynthError, match="unknown export format 'docx'; allowed: csv, parquet, xlsx, sql"):
        export_schema(duckdb.connect(str(shop_file), read_only=True), "shop", "docx", tmp_path)
