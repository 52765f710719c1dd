"""Load a relational dataset folder (schema.sql + one CSV per table) into DuckDB.

The folders follow ../shared/datasets' convention: CREATE TABLE order is a valid
load order; self-referencing tables are loaded one tree level at a time because
DuckDB rejects a parent and its child in the same INSERT.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from sqlglot import exp

from synthtab_db.duck import first_row, run_sql
from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.planner.schema import Table
from synthtab_db.sqlbuild import quote

STAGE = "__synthtab_load"


def load_relational(con: duckdb.DuckDBPyConnection, folder: str | Path) -> list[str]:
    """Create the folder's tables in the current schema and load their CSVs."""
    folder = Path(folder)
    ddl = (folder / "schema.sql").read_text()
    run_sql(con, ddl)
    schema = schema_from_ddl(ddl, dialect="postgres")
    for table in schema.tables:
        _load_table(con, table, folder / f"{table.name}.csv")
    return [t.name for t in schema.tables]


def _load_table(con: duckdb.DuckDBPyConnection, table: Table, csv: Path) -> None:
    name = quote(table.name)
    self_fk = next((fk for fk in table.foreign_keys if table.is_self_reference(fk)), None)
    if self_fk is None:
        run_sql(con, f"COPY {name} FROM '{csv}' (HEADER, NULL '', ALLOW_QUOTED_NULLS false)")
        return
    run_sql(con, f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT * FROM {name} LIMIT 0")
    run_sql(con, f"COPY {STAGE} FROM '{csv}' (HEADER, NULL '', ALLOW_QUOTED_NULLS false)")
    _insert_levels(con, name, self_fk.columns[0], self_fk.ref_columns[0])
    run_sql(con, f"DROP TABLE {STAGE}")


def _insert_levels(con: duckdb.DuckDBPyConnection, name: str, fk: str, ref: str) -> None:
    run_sql(con, f"INSERT INTO {name} SELECT * FROM {STAGE} WHERE {quote(fk)} IS NULL")
    while True:
        before = first_row(con, f"SELECT count(*) FROM {name}")[0]
        run_sql(
            con,
            f"INSERT INTO {name} SELECT s.* FROM {STAGE} s WHERE s.{quote(fk)} IN (SELECT {quote(ref)} FROM {name}) "
            f"AND s.{quote(ref)} NOT IN (SELECT {quote(ref)} FROM {name})",
        )
        if first_row(con, f"SELECT count(*) FROM {name}")[0] == before:
            return


def load_csv(con: duckdb.DuckDBPyConnection, table: str, csv: str | Path) -> None:
    """A single CSV as a table, types inferred by DuckDB."""
    name = exp.to_table(table, dialect="duckdb").sql("duckdb")
    run_sql(con, f"CREATE TABLE {name} AS SELECT * FROM read_csv($path, header = true)", {"path": str(csv)})


#: One row per pagila customer with four ``a <= b`` rules between its counts: the HR-style
#: table the column-profile tests and benchmarks use (rules learned, correlations kept).
ACTIVITY_DDL = """CREATE TABLE activity (customer_id INTEGER, rentals INTEGER, returned INTEGER, films INTEGER,
    categories INTEGER, late INTEGER, paid DOUBLE, CHECK (returned <= rentals), CHECK (films <= rentals),
    CHECK (categories <= films), CHECK (late <= returned))"""
ACTIVITY_ROWS = """INSERT INTO activity SELECT r.customer_id, count(*), count(r.return_date),
    count(DISTINCT i.film_id), count(DISTINCT fc.category_id),
    count(*) FILTER (WHERE r.return_date > r.rental_date + f.rental_duration * INTERVAL 1 DAY),
    (SELECT round(sum(amount), 2) FROM payment p WHERE p.customer_id = r.customer_id)
    FROM rental r JOIN inventory i USING (inventory_id) JOIN film f USING (film_id)
    JOIN film_category fc USING (film_id) GROUP BY r.customer_id"""


def create_pagila_activity(con: duckdb.DuckDBPyConnection) -> None:
    """The ``activity`` table, from pagila's rental, inventory, film, film_category and payment."""
    run_sql(con, ACTIVITY_DDL)
    run_sql(con, ACTIVITY_ROWS)
