"""SQL built as sqlglot trees, in one layer below the engine, dbt, udfs, audit and datasets:
quoting, table expressions, table-exists, counting, and DDL.

Target tables are created with the source's constraints, so DuckDB itself enforces them
a second time on insert (the staged checks catch violations first).
"""

from __future__ import annotations

from typing import Callable

import duckdb
import sqlglot
from sqlglot import exp

from synthtab_db.duck import first_row
from synthtab_db.planner.schema import Column, ForeignKey, Key, Table, TableRef


def quote(name: str) -> str:
    """A column or schema name as a quoted DuckDB identifier."""
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def table_expr(ref: TableRef) -> exp.Table:
    return exp.table_(
        exp.to_identifier(ref.name, quoted=True), db=exp.to_identifier(ref.schema, quoted=True) if ref.schema else None
    )


def table_sql(ref: TableRef) -> str:
    """``"schema"."name"`` for pasting into a query."""
    return table_expr(ref).sql("duckdb")


def table_exists(con: duckdb.DuckDBPyConnection, ref: TableRef) -> bool:
    """Whether a table exists, names compared as DuckDB resolves them (case-insensitively)."""
    where = exp.and_(_same_name("table_name", ref.name), *([_same_name("schema_name", ref.schema)] if ref.schema else []))
    query = exp.select(exp.func("count", exp.Star())).from_(exp.func("duckdb_tables")).where(where)
    return bool(first_row(con, query.sql("duckdb"))[0])


def _same_name(column: str, name: str) -> exp.Expression:
    return exp.EQ(this=exp.Lower(this=exp.column(column)), expression=exp.Literal.string(name.lower()))


def count_rows(con: duckdb.DuckDBPyConnection, ref: TableRef) -> int:
    query = exp.select(exp.func("count", exp.Star())).from_(table_expr(ref))
    return first_row(con, query.sql("duckdb"))[0]


def _ids(names: tuple[str, ...]) -> list[exp.Identifier]:
    return [exp.to_identifier(n, quoted=True) for n in names]


def _column_def(column: Column, constrained: bool = True) -> exp.ColumnDef:
    constraints = []
    if constrained and not column.nullable:
        constraints.append(exp.ColumnConstraint(kind=exp.NotNullColumnConstraint()))
    return exp.ColumnDef(
        this=exp.to_identifier(column.name, quoted=True),
        kind=exp.DataType.build(column.type.sql, dialect="duckdb"),
        constraints=constraints,
    )


def _key(key: Key) -> exp.Expression:
    if key.primary:
        return exp.PrimaryKey(expressions=_ids(key.columns))
    return exp.UniqueColumnConstraint(this=exp.Schema(expressions=_ids(key.columns)))


def _foreign_key(fk: ForeignKey, parent: TableRef) -> exp.ForeignKey:
    reference = exp.Reference(this=exp.Schema(this=table_expr(parent), expressions=_ids(fk.ref_columns)))
    return exp.ForeignKey(expressions=_ids(fk.columns), reference=reference)


def _check(sql: str) -> exp.Expression:
    return exp.CheckColumnConstraint(this=sqlglot.parse_one(sql, read="duckdb"))


def create_table_sql(
    table: Table,
    target: TableRef,
    parent_of: Callable[[ForeignKey], TableRef | None],
) -> str:
    """CREATE TABLE for ``target`` shaped like ``table``.

    ``parent_of`` says where each FK's parent now lives (the synthetic parent, or
    the source parent for a single-table GENERATE); None leaves the FK out (a
    cycle DuckDB cannot declare).
    """
    items: list[exp.Expression] = [_column_def(c) for c in table.columns]
    items += [_key(k) for k in table.keys]
    items += [_check(c.sql) for c in table.checks]
    for fk in table.foreign_keys:
        parent = target if table.is_self_reference(fk) else parent_of(fk)
        if parent is not None:
            items.append(_foreign_key(fk, parent))
    schema = exp.Schema(this=table_expr(target), expressions=items)
    return exp.Create(this=schema, kind="TABLE").sql(dialect="duckdb")


def scratch_table_sql(table: Table, name: str, extra: dict[str, str]) -> str:
    """CREATE TEMP TABLE with the table's columns, no constraints, plus ``extra`` columns.

    Spelled out column by column on purpose: in DuckDB 2.0 a table made by
    ``CREATE TABLE … AS SELECT`` inside a transaction loses its rows when a second
    append follows one of more than a row group (seen with 250,000 + 10,000 rows).
    """
    items = [_column_def(c, constrained=False) for c in table.columns]
    items += [
        exp.ColumnDef(this=exp.to_identifier(n, quoted=True), kind=exp.DataType.build(t)) for n, t in extra.items()
    ]
    schema = exp.Schema(this=exp.to_table(name), expressions=items)
    return exp.Create(this=schema, kind="TABLE", properties=exp.Properties(expressions=[exp.TemporaryProperty()])).sql(
        "duckdb"
    )
