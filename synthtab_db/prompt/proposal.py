"""What the model is asked for: a JSON description of tables, rendered to DDL here.

A small model writes this JSON more reliably than DDL (its grammar can be enforced
token by token); a model that answers with DDL text instead is accepted too.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlglot import exp, parse_one
from sqlglot.errors import ParseError as SqlglotParseError

from synthtab_db.errors import SynthError


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    type: str = Field(min_length=1)
    primary_key: bool = False
    not_null: bool = False
    unique: bool = False
    references: str | None = Field(None, description="parent table, or table.column")
    check: str | None = None
    comment: str | None = None


class TableSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    rows: int | None = Field(None, ge=1)
    comment: str | None = None
    primary_key: list[str] | None = None
    columns: list[ColumnSpec] = Field(min_length=1)


class DatabaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tables: list[TableSpec]


PROPOSAL_SCHEMA: dict = DatabaseSpec.model_json_schema()


def parse_spec(text: str) -> DatabaseSpec:
    """The model's JSON as a DatabaseSpec; the error names the first field at fault."""
    try:
        return DatabaseSpec.model_validate_json(text)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the reply"
        raise SynthError(f"the JSON is not a database description: {where}: {first['msg']}") from None


def render_ddl(spec: DatabaseSpec) -> str:
    """CREATE TABLE statements, parents first, then COMMENT ON statements."""
    tables = {t.name.lower(): t for t in spec.tables}
    _refuse_unknown_references(spec, tables)
    ordered = _parents_first(spec.tables, tables)
    creates = [_create(t, tables) for t in ordered]
    comments = [c for t in ordered for c in _comments(t)]
    return "\n".join(creates + comments)


def _refuse_unknown_references(spec: DatabaseSpec, tables: dict[str, TableSpec]) -> None:
    for table in spec.tables:
        for column in table.columns:
            parent = _parent_name(column)
            if parent is not None and parent.lower() not in tables:
                known = ", ".join(t.name for t in spec.tables)
                raise SynthError(
                    f"column {table.name}.{column.name} references table {parent}, which the proposal does not "
                    f"define (tables: {known})"
                )


def _parent_name(column: ColumnSpec) -> str | None:
    return column.references.split(".")[0].strip() if column.references else None


def _parents_first(specs: list[TableSpec], tables: dict[str, TableSpec]) -> list[TableSpec]:
    """Depth-first, parents before children; a cycle keeps the given order (DuckDB names it)."""
    done: dict[str, TableSpec] = {}

    def visit(table: TableSpec, path: tuple[str, ...]) -> None:
        key = table.name.lower()
        if key in done or key in path:
            return
        for column in table.columns:
            parent = _parent_name(column)
            if parent and parent.lower() != key:
                visit(tables[parent.lower()], path + (key,))
        done[key] = table

    for table in specs:
        visit(table, ())
    return list(done.values())


def _quote(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def _create(table: TableSpec, tables: dict[str, TableSpec]) -> str:
    parts = [_column_sql(table, c, tables) for c in table.columns]
    if table.primary_key:
        parts.append(f"PRIMARY KEY ({', '.join(_quote(c) for c in table.primary_key)})")
    return f"CREATE TABLE {_quote(table.name)} (\n  " + ",\n  ".join(parts) + "\n);"


def _column_sql(table: TableSpec, column: ColumnSpec, tables: dict[str, TableSpec]) -> str:
    words = [_quote(column.name), _type_sql(table, column)]
    words += [w for flag, w in ((column.primary_key, "PRIMARY KEY"), (column.not_null, "NOT NULL"),
                                (column.unique, "UNIQUE")) if flag]
    if column.references:
        words.append(_reference_sql(column.references, tables))
    if column.check:
        words.append(f"CHECK ({_expression_sql(table, column, column.check)})")
    return " ".join(words)


def _type_sql(table: TableSpec, column: ColumnSpec) -> str:
    try:
        return exp.DataType.build(column.type, dialect="duckdb").sql("duckdb")
    except (SqlglotParseError, ValueError):
        raise SynthError(f"table {table.name}, column {column.name}: unknown type {column.type!r}") from None


def _expression_sql(table: TableSpec, column: ColumnSpec, text: str) -> str:
    try:
        return parse_one(text, read="duckdb").sql("duckdb")
    except SqlglotParseError as err:
        raise SynthError(f"table {table.name}, column {column.name}: CHECK {text!r} does not parse: {err}") from None


def _reference_sql(references: str, tables: dict[str, TableSpec]) -> str:
    """``table`` alone means the parent's primary key, spelled out for DuckDB."""
    name, _, column = references.partition(".")
    parent = tables[name.strip().lower()]
    column = column.strip() or _primary_key_of(parent)
    return f"REFERENCES {_quote(parent.name)} ({_quote(column)})" if column else f"REFERENCES {_quote(parent.name)}"


def _primary_key_of(table: TableSpec) -> str | None:
    keys = [c.name for c in table.columns if c.primary_key] or (table.primary_key or [])
    return keys[0] if len(keys) == 1 else None


def _literal(text: str) -> str:
    return exp.Literal.string(text).sql("duckdb")


def _comments(table: TableSpec) -> list[str]:
    lines = [f"COMMENT ON TABLE {_quote(table.name)} IS {_literal(table.comment)};"] if table.comment else []
    return lines + [
        f"COMMENT ON COLUMN {_quote(table.name)}.{_quote(c.name)} IS {_literal(c.comment)};"
        for c in table.columns
        if c.comment
    ]


def row_hints(spec: DatabaseSpec) -> dict[str, int]:
    """Row counts the model proposed, by lower-cased table name."""
    return {t.name.lower(): t.rows for t in spec.tables if t.rows}
