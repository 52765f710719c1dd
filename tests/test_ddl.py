"""schema_from_ddl: the shared datasets' schema.sql files and DDL features one by one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synthtab_db.errors import ParseError, SynthError
from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.planner.schema import Kind, TableRef

DATASETS = Path(
    os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets")
)


def dataset_ddl(name: str) -> str:
    path = DATASETS / name / "schema.sql"
    if not path.exists():
        pytest.skip(f"dataset {name} not found under {DATASETS}")
    return path.read_text()


@pytest.fixture(params=["postgres", "duckdb"])
def dialect(request) -> str:
    return request.param


# -- facts from the datasets ----------------------------------------------------------


def test_pagila_rating_is_an_enum_with_its_labels(dialect):
    film = schema_from_ddl(dataset_ddl("pagila"), dialect).table("film")
    rating = film.column("rating").type
    assert rating.kind is Kind.ENUM
    assert rating.enum_values == ("G", "PG", "PG-13", "R", "NC-17")
    assert rating.sql == "ENUM('G', 'PG', 'PG-13', 'R', 'NC-17')"


def test_pagila_keys(dialect):
    schema = schema_from_ddl(dataset_ddl("pagila"), dialect)
    assert schema.table("payment").primary_key.columns == ("payment_date", "payment_id")
    assert schema.table("film_actor").primary_key.columns == ("actor_id", "film_id")
    assert [k.columns for k in schema.table("store").unique] == [("manager_staff_id",)]


def test_pagila_column_types(dialect):
    film = schema_from_ddl(dataset_ddl("pagila"), dialect).table("film")
    features = film.column("special_features").type
    assert (features.kind, features.sql, features.element.kind) == (Kind.LIST, "VARCHAR[]", Kind.STRING)
    assert film.column("rental_rate").type.sql == "DECIMAL(4,2)"
    assert film.column("length").type.bits == 16
    assert film.column("last_update").type.sql == "TIMESTAMP WITH TIME ZONE"
    assert film.column("rating").default == "'G'"


def test_pagila_named_column_check(dialect):
    film = schema_from_ddl(dataset_ddl("pagila"), dialect).table("film")
    (check,) = film.checks
    assert check.name == "year_check"
    assert check.columns == ("release_year",)


def test_berka_order_table_is_quoted_reserved_word(dialect):
    schema = schema_from_ddl(dataset_ddl("berka_financial"), dialect)
    order = schema.table("order")
    assert order.ref == TableRef(name="order")
    assert [fk.ref_table.name for fk in order.foreign_keys] == ["account"]
    assert order.checks[0].columns == ("k_symbol",)


def test_chinook_employee_references_itself():
    employee = schema_from_ddl(dataset_ddl("chinook")).table("employee")
    (fk,) = employee.foreign_keys
    assert employee.is_self_reference(fk)
    assert (fk.columns, fk.ref_columns) == (("reports_to",), ("employee_id",))


def test_varchar_length_is_kept_from_postgres_ddl():
    schema = schema_from_ddl(dataset_ddl("chinook"), "postgres")
    last_name = schema.table("employee").column("last_name")
    assert (last_name.type.sql, last_name.type.length, last_name.nullable) == ("VARCHAR", 20, False)
    northwind = schema_from_ddl(dataset_ddl("northwind"), "postgres")
    assert northwind.table("customers").column("customer_id").type.length == 5


@pytest.mark.parametrize("name", ["chinook", "northwind", "pagila", "berka_financial", "beijing_air_quality"])
def test_every_dataset_parses_in_both_dialects(name):
    text = dataset_ddl(name)
    tables = [[t.name for t in schema_from_ddl(text, d).tables] for d in ("postgres", "duckdb")]
    assert tables[0] == tables[1] and len(tables[0]) >= 2


# -- DDL features ---------------------------------------------------------------------

PARENT = "CREATE TABLE parent (a INT, b INT, PRIMARY KEY (a, b));"


def test_inline_references_without_columns_means_parent_pk(dialect):
    ddl = "CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE c (x INT REFERENCES p);"
    (fk,) = schema_from_ddl(ddl, dialect).table("c").foreign_keys
    assert (fk.columns, fk.ref_table.name, fk.ref_columns) == (("x",), "p", ("id",))


def test_references_without_columns_needs_a_parent_pk():
    with pytest.raises(SynthError, match="REFERENCES p"):
        schema_from_ddl("CREATE TABLE p (id INT); CREATE TABLE c (x INT REFERENCES p);")


def test_composite_named_foreign_key(dialect):
    ddl = PARENT + "CREATE TABLE c (x INT, y INT, CONSTRAINT c_fk FOREIGN KEY (x, y) REFERENCES parent (a, b));"
    (fk,) = schema_from_ddl(ddl, dialect).table("c").foreign_keys
    assert (fk.columns, fk.ref_columns, fk.name) == (("x", "y"), ("a", "b"), "c_fk")


def test_named_table_constraints(dialect):
    ddl = (
        "CREATE TABLE t (a INT, b INT, c INT, CONSTRAINT t_pk PRIMARY KEY (a),"
        " CONSTRAINT t_bc UNIQUE (b, c), CONSTRAINT t_chk CHECK (b < c), UNIQUE (c))"
    )
    table = schema_from_ddl(ddl, dialect).table("t")
    assert (table.primary_key.columns, table.primary_key.name) == (("a",), "t_pk")
    assert [(k.columns, k.name) for k in table.unique] == [(("b", "c"), "t_bc"), (("c",), None)]
    assert [(c.sql, c.columns, c.name) for c in table.checks] == [("b < c", ("b", "c"), "t_chk")]


def test_column_constraints(dialect):
    ddl = "CREATE TABLE t (a INT PRIMARY KEY, b TEXT NOT NULL UNIQUE, c INT CHECK (c > 0) NULL)"
    table = schema_from_ddl(ddl, dialect).table("t")
    assert [c.nullable for c in table.columns] == [False, False, True]
    assert table.primary_key.columns == ("a",)
    assert [k.columns for k in table.unique] == [("b",)]
    assert [(c.sql, c.columns) for c in table.checks] == [("c > 0", ("c",))]


def test_table_check_keeps_columns_in_order_once(dialect):
    ddl = "CREATE TABLE t (lo INT, hi INT, CHECK (lo <= hi AND (hi - lo) < 100 AND lo >= 0))"
    (check,) = schema_from_ddl(ddl, dialect).table("t").checks
    assert check.columns == ("lo", "hi")


def test_defaults_become_duckdb_sql(dialect):
    ddl = "CREATE TABLE t (a INT DEFAULT 3, b TEXT DEFAULT 'x', c BOOLEAN DEFAULT true, d INT)"
    table = schema_from_ddl(ddl, dialect).table("t")
    assert [c.default for c in table.columns] == ["3", "'x'", "TRUE", None]


@pytest.mark.parametrize(
    "declared, sql, precision, scale",
    [
        ("DECIMAL(10,2)", "DECIMAL(10,2)", 10, 2),
        ("NUMERIC(7)", "DECIMAL(7,0)", 7, 0),
        ("NUMERIC", "DECIMAL(18,3)", 18, 3),
    ],
)
def test_decimal_precision_and_scale(declared, sql, precision, scale):
    col = schema_from_ddl(f"CREATE TABLE t (x {declared})").table("t").column("x").type
    assert (col.kind, col.sql, col.precision, col.scale) == (Kind.DECIMAL, sql, precision, scale)


@pytest.mark.parametrize(
    "declared, kind, sql, bits",
    [
        ("smallint", Kind.INTEGER, "SMALLINT", 16),
        ("integer", Kind.INTEGER, "INTEGER", 32),
        ("bigint", Kind.INTEGER, "BIGINT", 64),
        ("real", Kind.FLOAT, "FLOAT", None),
        ("double precision", Kind.FLOAT, "DOUBLE", None),
        ("character varying(5)", Kind.STRING, "VARCHAR", None),
        ("boolean", Kind.BOOLEAN, "BOOLEAN", None),
        ("date", Kind.DATE, "DATE", None),
        ("time", Kind.TIME, "TIME", None),
        ("timestamp", Kind.TIMESTAMP, "TIMESTAMP", None),
        ("timestamp with time zone", Kind.TIMESTAMPTZ, "TIMESTAMP WITH TIME ZONE", None),
        ("interval", Kind.INTERVAL, "INTERVAL", None),
        ("uuid", Kind.UUID, "UUID", None),
        ("bytea", Kind.BLOB, "BLOB", None),
        ("json", Kind.JSON, "JSON", None),
        ("integer[]", Kind.LIST, "INTEGER[]", None),
    ],
)
def test_postgres_types(declared, kind, sql, bits):
    col = schema_from_ddl(f"CREATE TABLE t (x {declared})").table("t").column("x").type
    assert (col.kind, col.sql, col.bits) == (kind, sql, bits)


def test_char_length_and_enum_from_create_type():
    ddl = "CREATE TYPE mood AS ENUM ('sad', 'it''s ok'); CREATE TABLE t (c CHAR(3), m mood)"
    table = schema_from_ddl(ddl).table("t")
    assert table.column("c").type.length == 3
    assert table.column("m").type.enum_values == ("sad", "it's ok")
    assert table.column("m").type.sql == "ENUM('sad', 'it''s ok')"


def test_unsupported_type_names_table_column_and_type(dialect):
    with pytest.raises(SynthError, match=r"(?i)table t, column geo: unsupported type point"):
        schema_from_ddl("CREATE TABLE t (id INT, geo point)", dialect)


def test_other_statements_are_ignored():
    ddl = """
        -- a comment
        SET search_path = public;
        CREATE TABLE t (id INT PRIMARY KEY);
        CREATE INDEX t_idx ON t (id);
        CREATE VIEW v AS SELECT * FROM t;
        COMMENT ON TABLE t IS 'x';
    """
    assert [t.name for t in schema_from_ddl(ddl).tables] == ["t"]


def test_schema_qualified_and_default_schema():
    ddl = "CREATE TABLE s.p (id INT PRIMARY KEY); CREATE TABLE c (x INT REFERENCES s.p (id));"
    schema = schema_from_ddl(ddl, default_schema="main")
    assert [t.ref for t in schema.tables] == [TableRef(schema="s", name="p"), TableRef(schema="main", name="c")]
    assert schema.table("c").foreign_keys[0].ref_table == TableRef(schema="s", name="p")


def test_unparseable_statements_other_than_tables_are_skipped():
    ddl = """
        CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN NEW.x := now(); RETURN NEW; END $$ LANGUAGE plpgsql;
        ALTER TABLE ONLY t OWNER TO postgres;
        GRANT ALL ON t TO PUBLIC WITH GRANT OPTION ((;
        CREATE TABLE t (id INT);
    """
    assert [t.name for t in schema_from_ddl(ddl).tables] == ["t"]


def test_broken_create_table_is_a_parse_error():
    with pytest.raises(ParseError, match="CREATE TABLE t"):
        schema_from_ddl("CREATE TABLE t (id INT name TEXT)")


def test_alter_table_adds_constraints_as_pg_dump_writes_them():
    schema = schema_from_ddl(
        """
        CREATE TABLE dept (id int, head_id int);
        CREATE TABLE emp (id int PRIMARY KEY, dept_id int NOT NULL);
        ALTER TABLE ONLY dept ADD CONSTRAINT dept_pkey PRIMARY KEY (id);
        ALTER TABLE emp ADD CONSTRAINT emp_dept FOREIGN KEY (dept_id) REFERENCES dept(id);
        ALTER TABLE dept ADD FOREIGN KEY (head_id) REFERENCES emp;
        """
    )
    dept, emp = schema.table("dept"), schema.table("emp")
    assert dept.primary_key.columns == ("id",)
    assert [(fk.columns, fk.ref_table.name, fk.ref_columns, fk.name) for fk in emp.foreign_keys] == [
        (("dept_id",), "dept", ("id",), "emp_dept")
    ]
    assert [(fk.columns, fk.ref_columns) for fk in dept.foreign_keys] == [(("head_id",), ("id",))]


def test_alter_of_an_unknown_table_is_named():
    with pytest.raises(SynthError, match="ALTER TABLE nope"):
        schema_from_ddl("CREATE TABLE a (id int); ALTER TABLE nope ADD FOREIGN KEY (x) REFERENCES a(id);")
