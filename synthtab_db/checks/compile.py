"""Each constraint kind is one small pure function: constraint -> sqlglot predicate.

A predicate is TRUE for a staged row that violates the constraint; SQL's NULL
semantics are kept (a CHECK that is NULL passes, a key or FK with a NULL part is
not checked).  Trees, never pasted strings, so the same check renders for DuckDB
and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import sqlglot
from sqlglot import exp

from synthtab_db.planner.schema import Check, Column, ForeignKey, Key, Kind, Table

ROW_ORDER = "__row"


@dataclass(frozen=True)
class CheckContext:
    """Where the compiled checks look: the staged rows and the tables around them.

    ``existing`` holds tables whose rows a new key must not repeat (the target and
    rows accepted earlier in this statement); ``parents`` maps a foreign key's
    columns to the table holding its parent rows.  FKs missing from ``parents``
    (self-references, cycle-deferred keys) are filled in later, not checked here.
    """

    stage: str = "s"
    existing: tuple[exp.Table, ...] = ()
    parents: dict[tuple[str, ...], exp.Table] = field(default_factory=dict)


@dataclass(frozen=True)
class CompiledCheck:
    name: str
    kind: str
    predicate: exp.Expression
    column: str | None = None  # a type check's column: a value already of the declared type can't fail it

    def sql(self, dialect: str = "duckdb") -> str:
        return self.predicate.sql(dialect=dialect)


def col(name: str, table: str) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _all_present(columns: tuple[str, ...], table: str) -> exp.Expression:
    return exp.and_(*(exp.Not(this=exp.Is(this=col(c, table), expression=exp.Null())) for c in columns))


def _equal(left: tuple[str, ...], left_table: str, right: tuple[str, ...], right_table: str) -> exp.Expression:
    return exp.and_(*(exp.EQ(this=col(a, left_table), expression=col(b, right_table)) for a, b in zip(left, right)))


def _exists_in(table: exp.Table, columns: tuple[str, ...], ref_columns: tuple[str, ...], stage: str) -> exp.Exists:
    alias = "p"
    query = exp.select("1").from_(table.copy().as_(alias)).where(_equal(ref_columns, alias, columns, stage))
    return exp.Exists(this=query)


def not_null_violation(column: Column, ctx: CheckContext) -> exp.Expression:
    return exp.Is(this=col(column.name, ctx.stage), expression=exp.Null())


def check_violation(check: Check, ctx: CheckContext) -> exp.Expression:
    return condition_violation(sqlglot.parse_one(check.sql, read="duckdb"), ctx)


def condition_violation(condition: exp.Expression, ctx: CheckContext) -> exp.Expression:
    """NOT COALESCE(cond, TRUE): a CHECK that evaluates to NULL passes, as in SQL."""
    qualified = condition.copy().transform(lambda n: _qualify(n, ctx.stage))
    return exp.Not(this=exp.Coalesce(this=exp.Paren(this=qualified), expressions=[exp.true()]))


def _qualify(node: exp.Expression, stage: str) -> exp.Expression:
    if isinstance(node, exp.Column) and not node.table:
        return col(node.name, stage)
    return node


def key_violation(key: Key, ctx: CheckContext) -> exp.Expression:
    """A repeat inside the batch (all but the first) or of a row already present."""
    stage = ctx.stage
    first = exp.Window(
        this=exp.RowNumber(),
        partition_by=[col(c, stage) for c in key.columns],
        order=exp.Order(expressions=[exp.Ordered(this=col(ROW_ORDER, stage))]),
    )
    repeats = [exp.GT(this=first, expression=exp.Literal.number(1))]
    repeats += [_exists_in(t, key.columns, key.columns, stage) for t in ctx.existing]
    return exp.and_(_all_present(key.columns, stage), exp.Paren(this=exp.or_(*repeats)))


def foreign_key_violation(fk: ForeignKey, parent: exp.Table, ctx: CheckContext) -> exp.Expression:
    """MATCH SIMPLE: a key with any NULL part is not checked."""
    orphan = exp.Not(this=_exists_in(parent, fk.columns, fk.ref_columns, ctx.stage))
    return exp.and_(_all_present(fk.columns, ctx.stage), orphan)


def type_violation(column: Column, ctx: CheckContext) -> exp.Expression:
    """A value the declared type cannot hold: failed cast, or longer than VARCHAR(n)."""
    value = col(column.name, ctx.stage)
    cast = exp.TryCast(this=value.copy(), to=exp.DataType.build(column.type.sql, dialect="duckdb"))
    bad = exp.and_(
        exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())),
        exp.Is(this=cast, expression=exp.Null()),
    )
    if column.type.length and column.type.kind == Kind.STRING:
        too_long = exp.GT(this=exp.Length(this=value.copy()), expression=exp.Literal.number(column.type.length))
        bad = exp.or_(exp.Paren(this=bad), too_long)
    return bad


def _columns(table: Table, ctx: CheckContext) -> Iterator[CompiledCheck]:
    for column in table.columns:
        yield CompiledCheck(f"TYPE {column.name} {column.type.sql}", "type", type_violation(column, ctx), column.name)
        if not column.nullable:
            yield CompiledCheck(f"NOT NULL ({column.name})", "not_null", not_null_violation(column, ctx))


def _checks(table: Table, ctx: CheckContext) -> Iterator[CompiledCheck]:
    for check in table.checks:
        label = check.name or check.sql
        yield CompiledCheck(f"CHECK {label}", "check", check_violation(check, ctx))


def _keys(table: Table, ctx: CheckContext) -> Iterator[CompiledCheck]:
    for key in table.keys:
        label = "PRIMARY KEY" if key.primary else "UNIQUE"
        yield CompiledCheck(f"{label} ({', '.join(key.columns)})", "key", key_violation(key, ctx))


def _foreign_keys(table: Table, ctx: CheckContext) -> Iterator[CompiledCheck]:
    for fk in table.foreign_keys:
        parent = ctx.parents.get(fk.columns)
        if parent is not None:
            name = f"FOREIGN KEY ({', '.join(fk.columns)}) -> {fk.ref_table}"
            yield CompiledCheck(name, "foreign_key", foreign_key_violation(fk, parent, ctx))


COMPILERS: tuple[Callable[[Table, CheckContext], Iterator[CompiledCheck]], ...] = (
    _columns,
    _checks,
    _keys,
    _foreign_keys,
)


def compile_checks(table: Table, ctx: CheckContext | None = None) -> list[CompiledCheck]:
    """Every check the schema states for ``table``, in a stable order."""
    ctx = ctx or CheckContext()
    return [check for compiler in COMPILERS for check in compiler(table, ctx)]


def condition_check(condition_sql: str, ctx: CheckContext | None = None) -> CompiledCheck:
    """A WHERE condition of a GENERATE, enforced like a CHECK (rows must satisfy it)."""
    ctx = ctx or CheckContext()
    condition = sqlglot.parse_one(condition_sql, read="duckdb")
    violation = exp.Not(this=exp.Coalesce(this=exp.Paren(this=_qualified(condition, ctx)), expressions=[exp.false()]))
    return CompiledCheck(f"WHERE {condition_sql}", "where", violation)


def _qualified(condition: exp.Expression, ctx: CheckContext) -> exp.Expression:
    return condition.copy().transform(lambda n: _qualify(n, ctx.stage))
