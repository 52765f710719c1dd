"""Do two Schemas describe the same tables? Used to check that the DDL reader and the
catalog reader agree, and that a synthetic copy has the source's shape.

Only what both readers can know is compared. DuckDB's catalog does not keep
constraint names, VARCHAR/CHAR lengths or ENUM type names, and it re-renders CHECK
and DEFAULT expressions, so: names and lengths are ignored, CHECK expressions are
compared as sqlglot trees (parentheses dropped, identifiers folded to lower case,
quoting ignored), DEFAULTs are not compared, and an FK written without a column
list counts as referencing its parent's PRIMARY KEY. Table and column names compare
case-insensitively, as DuckDB resolves them; an FK's referenced schema is ignored
(DuckDB keeps FKs inside one schema).
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

import sqlglot
from sqlglot import exp

from synthtab_db.planner.schema import ColumnType, ForeignKey, Schema, Table


def schema_differences(a: Schema, b: Schema) -> list[str]:
    """Human-readable differences, empty when the schemas agree."""
    out = [f"table {t.ref} is only in the first schema" for t in _missing(a, b)]
    out += [f"table {t.ref} is only in the second schema" for t in _missing(b, a)]
    for ta in a.tables:
        if b.has_table(ta.ref):
            tb = b.table(ta.ref)
            out += [f"table {ta.ref}: {d}" for d in table_differences(ta, tb, a, b)]
    return out


def _missing(have: Schema, other: Schema) -> list[Table]:
    return [t for t in have.tables if not other.has_table(t.ref)]


def table_differences(ta: Table, tb: Table, sa: Schema, sb: Schema) -> list[str]:
    """The schemas are needed to resolve FKs that name no referenced columns."""
    names_a, names_b = _column_names(ta), _column_names(tb)
    if names_a != names_b:
        return [f"columns {list(names_a)} vs {list(names_b)}"]
    out = [d for ca, cb in zip(ta.columns, tb.columns) for d in _column_differences(ca, cb)]
    for label, facet in _FACETS.items():
        va, vb = facet(ta, sa), facet(tb, sb)
        if va != vb:
            out.append(f"{label} {_show(va)} vs {_show(vb)}")
    return out


def _column_names(table: Table) -> tuple[str, ...]:
    return tuple(c.name.lower() for c in table.columns)


def _column_differences(ca, cb) -> list[str]:
    out = []
    if _type_key(ca.type) != _type_key(cb.type):
        out.append(f"column {ca.name}: type {ca.type.sql} vs {cb.type.sql}")
    if ca.nullable != cb.nullable:
        out.append(f"column {ca.name}: nullable {ca.nullable} vs {cb.nullable}")
    return out


def _type_key(t: ColumnType | None) -> tuple | None:
    """Everything but the declared length, which only DDL knows."""
    if t is None:
        return None
    return (t.kind, t.sql, t.precision, t.scale, t.enum_values, t.bits, _type_key(t.element))


# -- table facets: each a function of (table, its schema), compared by equality -------


def _primary_key(table: Table, schema: Schema) -> tuple[str, ...] | None:
    return _lower(table.primary_key.columns) if table.primary_key else None


def _unique(table: Table, schema: Schema) -> frozenset:
    return frozenset(_lower(k.columns) for k in table.unique)


def _checks(table: Table, schema: Schema) -> Counter:
    return Counter(normalized_check(c.sql) for c in table.checks)


def _foreign_keys(table: Table, schema: Schema) -> Counter:
    return Counter(_fk_key(fk, schema) for fk in table.foreign_keys)


def _fk_key(fk: ForeignKey, schema: Schema) -> tuple:
    ref_columns = fk.ref_columns
    if not ref_columns and schema.has_table(fk.ref_table):
        pk = schema.table(fk.ref_table).primary_key
        ref_columns = pk.columns if pk else ()
    return (_lower(fk.columns), fk.ref_table.name.lower(), _lower(ref_columns))


_FACETS: dict[str, Callable[[Table, Schema], object]] = {
    "primary key": _primary_key,
    "unique": _unique,
    "checks": _checks,
    "foreign keys": _foreign_keys,
}


def normalized_check(sql: str) -> exp.Expression:
    """A CHECK expression as a canonical tree: no Paren nodes, lower-case names.

    Compared as trees, not as SQL text: without its parentheses ``(a OR b) AND c``
    would print like ``a OR (b AND c)``.
    """
    tree = sqlglot.parse_one(sql, read="duckdb")
    for paren in list(tree.find_all(exp.Paren)):
        paren.replace(paren.this)
    for ident in tree.find_all(exp.Identifier):
        ident.set("this", ident.name.lower())
        ident.set("quoted", False)
    return tree.unnest()


def _lower(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n.lower() for n in names)


def _show(value: object) -> str:
    if isinstance(value, (frozenset, Counter)):
        return str(sorted(_printable(v) for v in value))
    return str(value)


def _printable(value: object) -> object:
    return value.sql(dialect="duckdb") if isinstance(value, exp.Expression) else value
