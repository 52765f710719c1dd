"""Schema from DDL text (CREATE TABLE / CREATE TYPE … AS ENUM), parsed with sqlglot.

Used where no database holds the tables yet (a schema.sql next to CSV files) and as
the reference the catalog reader is tested against. Statements are split with
sqlglot's tokenizer and parsed one by one, so anything that is not a CREATE TABLE or
CREATE TYPE (indexes, SET, functions sqlglot cannot parse) is skipped rather than
failing the whole file. Constraint nodes are handled by a registry keyed on the
sqlglot node class, so a new constraint kind is one small function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

from sqlglot import errors as sqlglot_errors
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

from synthtab_db.errors import ParseError, SynthError
from synthtab_db.planner.schema import Check, Column, ForeignKey, Key, Schema, Table, TableRef
from synthtab_db.planner.types import Enums, UnsupportedType, column_type_from_sqlglot


def schema_from_ddl(
    sql_text: str, dialect: str = "postgres", default_schema: str | None = None
) -> Schema:
    """Tables in statement order; unqualified names get ``default_schema``."""
    statements = list(_parse_statements(sql_text, dialect))
    enums = dict(e for st in statements if (e := _enum_definition(st)))
    drafts = [_table_draft(st, enums, default_schema) for st in statements if _is_table(st)]
    for st in statements:
        if _is_added_constraint(st):
            _alter(st, drafts, default_schema)
    return Schema(tables=tuple(_finish(d, drafts) for d in drafts))


# -- statements ---------------------------------------------------------------------


def _parse_statements(sql_text: str, dialect: str) -> Iterator[exp.Expression]:
    """CREATE TYPE is parsed as PostgreSQL: sqlglot's duckdb dialect leaves it a Command."""
    for chunk in _split(_tokenize(sql_text, dialect)):
        text = sql_text[chunk[0].start : chunk[-1].end + 1]
        read = "postgres" if _starts_with(chunk, "CREATE", "TYPE") else dialect
        try:
            yield from (st for st in Dialect.get_or_raise(read).parse(text) if st)
        except sqlglot_errors.ParseError as err:
            if _starts_with(chunk, "CREATE") and _mentions_table(chunk):
                raise ParseError(f"cannot parse {text[:60]!r}: {err}") from err


def _tokenize(sql_text: str, dialect: str) -> list[Token]:
    try:
        return Dialect.get_or_raise(dialect).tokenize(sql_text)
    except sqlglot_errors.TokenError as err:
        raise ParseError(f"cannot read the DDL: {err}") from err


def _split(tokens: list[Token]) -> Iterator[list[Token]]:
    chunk: list[Token] = []
    for token in tokens + [Token(TokenType.SEMICOLON, ";")]:
        if token.token_type != TokenType.SEMICOLON:
            chunk.append(token)
        elif chunk:
            yield chunk
            chunk = []


def _starts_with(chunk: list[Token], *words: str) -> bool:
    return [t.text.upper() for t in chunk[: len(words)]] == list(words)


def _mentions_table(chunk: list[Token]) -> bool:
    """CREATE [TEMP|UNLOGGED|…] TABLE: a statement we must not skip silently."""
    return any(t.token_type == TokenType.TABLE for t in chunk[:4])


def _is_table(st: exp.Expression) -> bool:
    if not (isinstance(st, exp.Create) and st.kind == "TABLE"):
        return False
    if not isinstance(st.this, exp.Schema):
        raise SynthError(f"CREATE TABLE {st.this.sql()} AS …: column types are unknown from DDL")
    return True


def _is_added_constraint(st: exp.Expression) -> bool:
    return isinstance(st, exp.Alter) and st.args.get("kind") == "TABLE" and any(
        isinstance(a, exp.AddConstraint) for a in st.args.get("actions") or [])


def _alter(st: exp.Alter, drafts: list, default_schema: str | None) -> None:
    """ALTER TABLE … ADD [CONSTRAINT n] FOREIGN KEY/UNIQUE/CHECK/PRIMARY KEY: the way a
    dump declares FK cycles (pg_dump adds every FK after all tables exist)."""
    ref = _ref(st.this, default_schema)
    draft = next((d for d in drafts if d.ref.key() == ref.key()), None)
    if draft is None:
        raise SynthError(f"ALTER TABLE {ref}: no CREATE TABLE {ref} before it in this DDL")
    for action in st.args["actions"]:
        if isinstance(action, exp.AddConstraint):
            for node in action.expressions:
                _apply(draft, node, column=None, name=None)


def _enum_definition(st: exp.Expression) -> tuple[str, tuple[str, ...]] | None:
    if not (isinstance(st, exp.Create) and st.kind == "TYPE"):
        return None
    dt = st.args.get("expression")
    if not (isinstance(dt, exp.DataType) and dt.this == exp.DataType.Type.ENUM):
        return None
    return st.this.name.lower(), tuple(label.name for label in dt.expressions)


def _ref(table: exp.Table, default_schema: str | None) -> TableRef:
    return TableRef(name=table.name, schema=table.db or default_schema)


# -- one table ----------------------------------------------------------------------


@dataclass
class _Draft:
    """A table while its constraints are collected; ``fks`` may lack ref columns."""

    ref: TableRef
    default_schema: str | None
    columns: list[dict] = field(default_factory=list)
    not_null: set[str] = field(default_factory=set)
    primary_key: Key | None = None
    unique: list[Key] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    fks: list[ForeignKey] = field(default_factory=list)


def _table_draft(st: exp.Create, enums: Enums, default_schema: str | None) -> _Draft:
    draft = _Draft(ref=_ref(st.this.this, default_schema), default_schema=default_schema)
    for node in st.this.expressions:
        if isinstance(node, exp.ColumnDef):
            _add_column(draft, node, enums)
        else:
            _apply(draft, node, column=None, name=None)
    return draft


def _add_column(draft: _Draft, node: exp.ColumnDef, enums: Enums) -> None:
    try:
        col_type = column_type_from_sqlglot(node.args["kind"], enums)
    except UnsupportedType as err:
        raise SynthError(f"table {draft.ref}, column {node.name}: {err}") from err
    draft.columns.append({"name": node.name, "type": col_type})
    for cc in node.args.get("constraints") or []:
        _apply(draft, cc.args["kind"], column=node.name, name=cc.name or None)


def _apply(draft: _Draft, node: exp.Expression, column: str | None, name: str | None) -> None:
    """Unknown constraint kinds (COLLATE, COMMENT, identity, …) do not matter here."""
    handler = _CONSTRAINTS.get(type(node))
    if handler is not None:
        handler(draft, node, column, name)


def _named(draft: _Draft, node: exp.Constraint, column: str | None, name: str | None) -> None:
    for inner in node.expressions:
        _apply(draft, inner, column, node.name)


def _not_null(draft: _Draft, node: exp.Expression, column: str | None, name: str | None) -> None:
    if not node.args.get("allow_null"):
        draft.not_null.add(column.lower())


def _primary_key(draft: _Draft, node: exp.Expression, column: str | None, name: str | None) -> None:
    columns = (column,) if column else _names(node.expressions)
    draft.primary_key = Key(columns=columns, primary=True, name=name)


def _unique(draft: _Draft, node: exp.Expression, column: str | None, name: str | None) -> None:
    columns = _names(node.this.expressions) if node.this else (column,)
    draft.unique.append(Key(columns=columns, name=name))


def _check(draft: _Draft, node: exp.Expression, column: str | None, name: str | None) -> None:
    mentioned = dict.fromkeys(c.name for c in node.this.find_all(exp.Column, bfs=False))
    sql = node.this.sql(dialect="duckdb")
    draft.checks.append(Check(sql=sql, columns=tuple(mentioned), name=name))


def _default(draft: _Draft, node: exp.Expression, column: str | None, name: str | None) -> None:
    draft.columns[-1]["default"] = node.this.sql(dialect="duckdb")


def _inline_reference(draft: _Draft, node: exp.Reference, column: str | None, name: str | None):
    draft.fks.append(_foreign_key(draft, (column,), node, name))


def _table_foreign_key(draft: _Draft, node: exp.ForeignKey, column: str | None, name: str | None):
    draft.fks.append(_foreign_key(draft, _names(node.expressions), node.args["reference"], name))


def _foreign_key(
    draft: _Draft, columns: tuple[str, ...], ref: exp.Reference, name: str | None
) -> ForeignKey:
    """Without a column list, ref_columns stay empty until the parent's PK is known."""
    target = ref.this
    ref_columns = _names(target.expressions) if isinstance(target, exp.Schema) else ()
    table = target.this if isinstance(target, exp.Schema) else target
    parent = _ref(table, draft.default_schema)
    return ForeignKey(columns=columns, ref_table=parent, ref_columns=ref_columns, name=name)


def _names(nodes: list[exp.Expression]) -> tuple[str, ...]:
    return tuple(n.name for n in nodes)


_Handler = Callable[[_Draft, exp.Expression, "str | None", "str | None"], None]

_CONSTRAINTS: dict[type[exp.Expression], _Handler] = {
    exp.Constraint: _named,
    exp.NotNullColumnConstraint: _not_null,
    exp.PrimaryKeyColumnConstraint: _primary_key,
    exp.PrimaryKey: _primary_key,
    exp.UniqueColumnConstraint: _unique,
    exp.CheckColumnConstraint: _check,
    exp.DefaultColumnConstraint: _default,
    exp.Reference: _inline_reference,
    exp.ForeignKey: _table_foreign_key,
}


# -- finishing ----------------------------------------------------------------------


def _finish(draft: _Draft, drafts: list[_Draft]) -> Table:
    """PRIMARY KEY columns are NOT NULL, as in PostgreSQL and DuckDB."""
    pk = {c.lower() for c in draft.primary_key.columns} if draft.primary_key else set()
    required = draft.not_null | pk
    columns = tuple(Column(**c, nullable=c["name"].lower() not in required) for c in draft.columns)
    return Table(
        ref=draft.ref,
        columns=columns,
        primary_key=draft.primary_key,
        unique=tuple(draft.unique),
        checks=tuple(draft.checks),
        foreign_keys=tuple(_resolve(fk, draft, drafts) for fk in draft.fks),
    )


def _resolve(fk: ForeignKey, child: _Draft, drafts: list[_Draft]) -> ForeignKey:
    """``REFERENCES parent`` without columns means the parent's PRIMARY KEY."""
    if fk.ref_columns:
        return fk
    parent = next((d for d in drafts if d.ref.key() == fk.ref_table.key()), None)
    if parent is None or parent.primary_key is None:
        raise SynthError(
            f"table {child.ref}: REFERENCES {fk.ref_table} has no column list and "
            f"{fk.ref_table} has no PRIMARY KEY in this DDL"
        )
    return fk.model_copy(update={"ref_columns": parent.primary_key.columns})
