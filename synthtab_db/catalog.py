"""Schema of tables that already live in DuckDB, read from its catalog functions.

What DuckDB 2.0's catalog keeps, and so what a Schema read here can say:
- types as DuckDB spells them; VARCHAR(n)/CHAR(n) lose their length, an ENUM column
  shows its labels (``ENUM('G', 'PG')``) but not its type's name;
- constraint names are DuckDB's own (``film_release_year_release_year_check``), the
  names written in the DDL are not kept;
- CHECK text is DuckDB's rendering, fully parenthesised (``((a >= 1) AND (a <= 5))``);
- a FOREIGN KEY is reported once, on the child, with an unqualified referenced table
  that is always in the child's schema (DuckDB refuses cross-schema FKs), and with the
  referenced columns filled in even when the DDL wrote ``REFERENCES parent``.
Our own state schema ``synthtab`` and temporary tables are never part of a Schema.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import duckdb

from synthtab_db.duck import first_row
from synthtab_db.planner.schema import Check, Column, ForeignKey, Key, Schema, Table, TableRef
from synthtab_db.planner.types import UnsupportedType, column_type_from_duckdb

STATE_SCHEMA = "synthtab"

_Con = duckdb.DuckDBPyConnection


def read_schema(con: _Con, schema: str | None = None, database: str | None = None) -> Schema:
    """All user tables of ``database`` (default: the current one), in creation order."""
    database = database or _current_database(con)
    refs = table_names(con, schema, database)
    columns, unusable = _columns(con, database)
    constraints = _constraints(con, database)
    return Schema(tables=tuple(_table(ref, columns[ref], constraints[ref]) for ref in refs if ref not in unusable),
                  unusable=tuple((ref, unusable[ref]) for ref in refs if ref in unusable))


def table_names(
    con: _Con, schema: str | None = None, database: str | None = None
) -> list[TableRef]:
    """User tables in creation order (``table_oid`` grows as tables are created)."""
    rows = con.execute(
        """
        SELECT schema_name, table_name FROM duckdb_tables()
        WHERE database_name = $db AND NOT internal AND NOT temporary
          AND schema_name <> $state AND ($schema IS NULL OR lower(schema_name) = lower($schema))
        ORDER BY table_oid
        """,
        {"db": database or _current_database(con), "state": STATE_SCHEMA, "schema": schema},
    ).fetchall()
    return [TableRef(schema=s, name=t) for s, t in rows]


def _current_database(con: _Con) -> str:
    return first_row(con, "SELECT current_database()")[0]


def _columns(con: _Con, database: str) -> tuple[dict[TableRef, list[Column]], dict[TableRef, str]]:
    """Columns per table, and per table with a column the models can't handle, why (its first such column)."""
    rows = con.execute(
        """
        SELECT schema_name, table_name, column_name, data_type, is_nullable, column_default
        FROM duckdb_columns() WHERE database_name = $db AND NOT internal
        ORDER BY schema_name, table_name, column_index
        """,
        {"db": database},
    ).fetchall()
    out: dict[TableRef, list[Column]] = defaultdict(list)
    unusable: dict[TableRef, str] = {}
    for schema, table, name, data_type, nullable, default in rows:
        ref = TableRef(schema=schema, name=table)
        try:
            col_type = column_type_from_duckdb(data_type)
        except UnsupportedType as err:
            unusable.setdefault(ref, f"table {ref}, column {name}: {err}")
            continue
        out[ref].append(Column(name=name, type=col_type, nullable=nullable, default=default))
    return out, unusable


# -- constraints --------------------------------------------------------------------


def _constraints(con: _Con, database: str) -> dict[TableRef, dict[str, list]]:
    """Per table: constraint type -> list of Key/Check/ForeignKey, in catalog order."""
    rows = con.execute(
        """
        SELECT schema_name, table_name, constraint_type, constraint_name, expression,
               constraint_column_names, referenced_table, referenced_column_names
        FROM duckdb_constraints() WHERE database_name = $db
        ORDER BY table_oid, constraint_index
        """,
        {"db": database},
    ).fetchall()
    out: dict[TableRef, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for schema, table, kind, *rest in rows:
        build = _BUILDERS.get(kind)
        if build is not None:
            out[TableRef(schema=schema, name=table)][kind].append(build(schema, *rest))
    return out


def _key(primary: bool) -> Callable[..., Key]:
    def build(schema, name, expression, columns, ref_table, ref_columns) -> Key:
        return Key(columns=tuple(columns), primary=primary, name=name)

    return build


def _check(schema, name, expression, columns, ref_table, ref_columns) -> Check:
    """DuckDB lists a column once per mention: ``a >= 1 AND a <= 5`` gives [a, a]."""
    return Check(sql=expression, columns=tuple(dict.fromkeys(columns)), name=name)


def _foreign_key(schema, name, expression, columns, ref_table, ref_columns) -> ForeignKey:
    return ForeignKey(
        columns=tuple(columns),
        ref_table=TableRef(schema=schema, name=ref_table),
        ref_columns=tuple(ref_columns),
        name=name,
    )


# NOT NULL is read from duckdb_columns().is_nullable instead.
_BUILDERS: dict[str, Callable[..., Key | Check | ForeignKey]] = {
    "PRIMARY KEY": _key(primary=True),
    "UNIQUE": _key(primary=False),
    "CHECK": _check,
    "FOREIGN KEY": _foreign_key,
}


def _table(ref: TableRef, columns: list[Column], constraints: dict[str, list]) -> Table:
    primary = constraints.get("PRIMARY KEY") or [None]
    return Table(
        ref=ref,
        columns=tuple(columns),
        primary_key=primary[0],
        unique=tuple(constraints.get("UNIQUE", ())),
        checks=tuple(constraints.get("CHECK", ())),
        foreign_keys=tuple(constraints.get("FOREIGN KEY", ())),
    )
