"""read_schema against a real DuckDB, and schema_differences between DDL and catalog."""

from __future__ import annotations

import duckdb
import pytest
from conftest import RELATIONAL, dataset

from synthtab_db.catalog import read_schema, table_names
from synthtab_db.errors import SynthError
from synthtab_db.planner.compare import schema_differences
from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.planner.schema import Kind, TableRef


def dataset_ddl(name: str) -> str:
    return (dataset(name) / "schema.sql").read_text()


def duckdb_with(ddl: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(ddl)
    return con


# -- DDL and catalog agree ------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgres", "duckdb"])
@pytest.mark.parametrize("name", RELATIONAL)
def test_ddl_agrees_with_catalog(name, dialect):
    ddl = dataset_ddl(name)
    from_catalog = read_schema(duckdb_with(ddl))
    from_ddl = schema_from_ddl(ddl, dialect)
    assert schema_differences(from_ddl, from_catalog) == []
    assert schema_differences(from_catalog, from_ddl) == []
    assert [t.name for t in from_catalog.tables] == [t.name for t in from_ddl.tables]


@pytest.mark.parametrize("name", RELATIONAL)
def test_catalog_types_spell_like_ddl_types(name):
    """Same ``sql`` from both paths: a generator may cast with either."""
    ddl = dataset_ddl(name)
    from_catalog = read_schema(duckdb_with(ddl))
    for table in schema_from_ddl(ddl).tables:
        expected = [c.type.sql for c in table.columns]
        assert [c.type.sql for c in from_catalog.table(table.name).columns] == expected


def test_pagila_facts_from_catalog():
    schema = read_schema(duckdb_with(dataset_ddl("pagila")))
    rating = schema.table("film").column("rating").type
    assert (rating.kind, rating.enum_values) == (Kind.ENUM, ("G", "PG", "PG-13", "R", "NC-17"))
    assert schema.table("payment").primary_key.columns == ("payment_date", "payment_id")
    assert schema.table("film_actor").primary_key.columns == ("actor_id", "film_id")
    unique = schema.table("rental").unique
    assert [k.columns for k in unique] == [("rental_date", "inventory_id", "customer_id")]


def test_chinook_self_reference_from_catalog():
    employee = read_schema(duckdb_with(dataset_ddl("chinook"))).table("employee")
    (fk,) = employee.foreign_keys
    assert employee.is_self_reference(fk)
    assert fk.ref_table == TableRef(schema="main", name="employee")


def test_berka_quoted_order_table_and_checks():
    schema = read_schema(duckdb_with(dataset_ddl("berka_financial")))
    order = schema.table("order")
    assert order.column("amount").type.sql == "DECIMAL(8,2)"
    assert schema.table("card").checks[0].columns == ("type",)


# -- catalog reader details ---------------------------------------------------------


def test_state_schema_temp_tables_and_other_schemas():
    con = duckdb_with(
        "CREATE TABLE a (x INT); CREATE SCHEMA synthtab; CREATE TABLE synthtab.runs (x INT);"
        "CREATE TEMP TABLE scratch (x INT); CREATE SCHEMA s; CREATE TABLE s.b (x INT);"
    )
    assert [str(t.ref) for t in read_schema(con).tables] == ["main.a", "s.b"]
    assert [str(t.ref) for t in read_schema(con, schema="S").tables] == ["s.b"]
    assert table_names(con, "main") == [TableRef(schema="main", name="a")]


def test_tables_come_in_creation_order_not_name_order():
    con = duckdb_with("CREATE TABLE zebra (x INT); CREATE TABLE apple (x INT); CREATE TABLE mango (x INT);")
    assert [t.name for t in read_schema(con).tables] == ["zebra", "apple", "mango"]


def test_attached_database_is_read_only_when_asked(tmp_path):
    con = duckdb_with("CREATE TABLE here (x INT)")
    con.execute(f"ATTACH '{tmp_path / 'other.duckdb'}' AS other")
    con.execute("CREATE TABLE other.main.there (y INT)")
    assert [t.name for t in read_schema(con).tables] == ["here"]
    assert [t.name for t in read_schema(con, database="other").tables] == ["there"]


def test_check_columns_are_listed_once():
    con = duckdb_with("CREATE TABLE t (a INT, b INT, CHECK (a >= 1 AND a <= b AND b < 10))")
    (check,) = read_schema(con).table("t").checks
    assert check.columns == ("a", "b")


def test_fk_written_without_columns_is_reported_with_them():
    con = duckdb_with("CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE c (x INT REFERENCES p);")
    (fk,) = read_schema(con).table("c").foreign_keys
    assert (fk.columns, fk.ref_columns) == (("x",), ("id",))
    assert read_schema(con).table("p").foreign_keys == ()


def test_nullable_defaults_and_pk_not_null():
    con = duckdb_with("CREATE TABLE t (id INT PRIMARY KEY, n TEXT NOT NULL, d INT DEFAULT 7)")
    table = read_schema(con).table("t")
    assert [c.nullable for c in table.columns] == [False, False, True]
    assert table.column("d").default == "7"


def test_unsupported_catalog_type_names_table_and_column():
    con = duckdb_with("CREATE TABLE t (id INT, s STRUCT(a INT))")
    schema = read_schema(con)  # the rest of the database stays usable; only this table is refused
    with pytest.raises(SynthError, match=r"table main\.t, column s: unsupported type"):
        schema.table("t")


# -- schema_differences notices what it should ------------------------------------------

BASE = (
    "CREATE TABLE p (id INT PRIMARY KEY, code TEXT UNIQUE);"
    "CREATE TABLE c (id INT PRIMARY KEY, p_id INT NOT NULL REFERENCES p (id), v INT CHECK (v > 0 AND v < 9));"
)


@pytest.mark.parametrize(
    "changed, expected",
    [
        (BASE.replace("v INT", "v BIGINT"), "column v: type"),
        (BASE.replace("p_id INT NOT NULL", "p_id INT"), "column p_id: nullable"),
        (BASE.replace("v > 0", "v >= 0"), "checks"),
        (BASE.replace(" UNIQUE", ""), "unique"),
        (BASE.replace("REFERENCES p (id)", ""), "foreign keys"),
        (BASE.replace("id INT PRIMARY KEY, p_id", "id INT, p_id"), "primary key"),
        (BASE.replace(", v INT", ", w INT, v INT"), "columns"),
        (BASE + "CREATE TABLE extra (x INT);", "only in the second"),
    ],
)
def test_differences_are_reported(changed, expected):
    differences = schema_differences(schema_from_ddl(BASE), read_schema(duckdb_with(changed)))
    assert any(expected in d for d in differences), differences


def test_what_duckdb_forgets_is_not_a_difference():
    ddl = (
        "CREATE TABLE p (id INT, CONSTRAINT my_pk PRIMARY KEY (id));"
        "CREATE TABLE c (name VARCHAR(10), p_id INT REFERENCES p, CHECK ((((length(name)) > 1))))"
    )
    catalog = read_schema(duckdb_with(ddl.replace("VARCHAR(10)", "TEXT").replace("REFERENCES p", "REFERENCES p (id)")))
    assert schema_differences(schema_from_ddl(ddl), catalog) == []


def test_check_comparison_respects_grouping():
    a = schema_from_ddl("CREATE TABLE t (a BOOL, b BOOL, c BOOL, CHECK ((a OR b) AND c))")
    b = schema_from_ddl("CREATE TABLE t (a BOOL, b BOOL, c BOOL, CHECK (a OR (b AND c)))")
    assert schema_differences(a, b) != []


TYPE_ZOO = """
    CREATE TYPE mood AS ENUM ('sad', 'ok');
    CREATE TABLE zoo (
        i8 TINYINT, i16 SMALLINT, i32 INTEGER, i64 BIGINT, i128 HUGEINT, u8 UTINYINT,
        f4 REAL, f8 DOUBLE PRECISION, d1 NUMERIC, d2 NUMERIC(7), d3 DECIMAL(12,4),
        s1 TEXT, s2 VARCHAR(9), s3 CHAR(2), b BOOLEAN, dt DATE, t TIME,
        ts TIMESTAMP, tz TIMESTAMP WITH TIME ZONE, iv INTERVAL, u UUID, bl BYTEA, j JSON,
        l1 TEXT[], l2 INTEGER[][], m mood
    );
"""


@pytest.mark.parametrize("dialect", ["postgres", "duckdb"])
def test_type_zoo_agrees_and_casts(dialect):
    con = duckdb_with(TYPE_ZOO)
    from_ddl = schema_from_ddl(TYPE_ZOO, dialect)
    assert schema_differences(from_ddl, read_schema(con)) == []
    casts = ", ".join(f"CAST(NULL AS {c.type.sql})" for c in from_ddl.table("zoo").columns)
    assert con.execute(f"SELECT {casts}").fetchone() == (None,) * 26
