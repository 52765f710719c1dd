"""A PostgreSQL schema read from its catalog into synthtab_db's Schema model, plus
what writing the targets back needs (each column's PostgreSQL type, each
constraint's PostgreSQL definition).

Read with ``search_path = pg_catalog`` so user types come out schema-qualified
(``public.mood``). Enums become ENUM kinds, domains their base type plus the
domain's NOT NULL and CHECKs (VALUE replaced by the column), and CHECK
definitions are translated to DuckDB SQL with sqlglot for the engine's checks.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Check, Column, ColumnType, ForeignKey, Key, Kind, Schema, Table, TableRef
from synthtab_db.planner.types import UnsupportedType, column_type_from_sqlglot, enum_type

UNBOUNDED_NUMERIC = ColumnType(kind=Kind.DECIMAL, sql="DECIMAL(38,10)", precision=38, scale=10)
TEXT = ColumnType(kind=Kind.STRING, sql="VARCHAR")

_COLUMNS = """
SELECT n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       t.typtype, t.oid, format_type(t.typbasetype, t.typtypmod), coalesce(bt.typtype, ''), t.typnotnull,
       coalesce(et.typtype, ''), t.typelem
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_type et ON et.oid = t.typelem
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY(%s)
ORDER BY c.oid, a.attnum
"""

_CONSTRAINTS = """
SELECT n.nspname, c.relname, con.conname, con.contype, con.conkey, con.confkey, fn.nspname, fc.relname,
       pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class fc ON fc.oid = con.confrelid LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE n.nspname = ANY(%s) AND con.contype IN ('p', 'u', 'c', 'f')
ORDER BY c.oid, con.contype, con.conname
"""

_ENUMS = "SELECT enumtypid, array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum GROUP BY enumtypid"
_DOMAIN_CHECKS = "SELECT contypid, pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid <> 0 AND contype = 'c'"


@dataclass
class PgTable:
    """What recreating a table in PostgreSQL needs: its types and constraint definitions."""

    ref: TableRef
    columns: list[tuple[str, str, bool]] = field(default_factory=list)  # name, PostgreSQL type, NOT NULL
    definitions: list[str] = field(default_factory=list)  # PRIMARY KEY / UNIQUE / CHECK, as PostgreSQL prints them
    lengths: dict[str, int] = field(default_factory=dict)  # VARCHAR(n) / CHAR(n) columns


@dataclass
class PgSchema:
    schema: Schema
    tables: dict[tuple[str, str], PgTable]

    def pg_table(self, ref: TableRef) -> PgTable:
        return self.tables[ref.key()]


def read_pg_schema(pg, schemas: list[str]) -> PgSchema:
    """Every table of ``schemas``, and of the schemas their foreign keys reach."""
    wanted = list(dict.fromkeys(schemas))
    while True:
        found = _read(pg, wanted)
        reached = {fk.ref_table.schema for t in found.schema.tables for fk in t.foreign_keys} - set(wanted)
        if not reached:
            return found
        wanted += sorted(reached)


def _read(pg, schemas: list[str]) -> PgSchema:
    enums = dict(pg.execute(_ENUMS).fetchall())
    domain_checks = defaultdict(list)
    for oid, definition in pg.execute(_DOMAIN_CHECKS).fetchall():
        domain_checks[oid].append(definition)
    drafts: dict[tuple[str, str], dict] = {}
    pg_tables: dict[tuple[str, str], PgTable] = {}
    by_number: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
    for row in pg.execute(_COLUMNS, [schemas]).fetchall():
        _add_column(drafts, pg_tables, row, enums, domain_checks)
        by_number[TableRef(schema=row[0], name=row[1]).key()][row[2]] = row[3]
    for row in pg.execute(_CONSTRAINTS, [schemas]).fetchall():
        _add_constraint(drafts, pg_tables, by_number, row)
    tables = tuple(_table(d) for d in drafts.values())
    return PgSchema(schema=Schema(tables=tables), tables=pg_tables)


def _add_column(drafts, pg_tables, row, enums, domain_checks) -> None:
    schema, table, _, name, pg_type, not_null, typtype, type_oid, base_type, base_typtype, domain_not_null, *elem = row
    ref = TableRef(schema=schema, name=table)
    draft = drafts.setdefault(ref.key(), {"ref": ref, "columns": [], "keys": [], "checks": [], "fks": []})
    pg_tables.setdefault(ref.key(), PgTable(ref=ref)).columns.append((name, pg_type, bool(not_null)))
    if typtype == "d":
        column_type = _column_type(ref, name, base_type, base_typtype, None)
        for definition in domain_checks.get(type_oid, ()):
            draft["checks"].append(_check(re.sub(r"\bVALUE\b", f'"{name}"', definition), None))
        not_null = not_null or domain_not_null
    else:
        column_type = _column_type(ref, name, pg_type, typtype, enums.get(type_oid))
    if column_type.length:  # generated text is cut to fit on write (transfer.py), not rejected
        pg_tables[ref.key()].lengths[name] = column_type.length
        column_type = column_type.model_copy(update={"length": None})
    draft["columns"].append(Column(name=name, type=column_type, nullable=not bool(not_null)))


def _column_type(ref: TableRef, column: str, pg_type: str, typtype: str, labels) -> ColumnType:
    if typtype == "e" and labels:
        return enum_type(tuple(labels))
    if pg_type == "numeric":
        return UNBOUNDED_NUMERIC
    try:
        return column_type_from_sqlglot(exp.DataType.build(pg_type, dialect="postgres"))
    except (UnsupportedType, sqlglot.errors.SqlglotError, ValueError):
        return TEXT  # inet, money, …: kept as text here, created with their own type in PostgreSQL


def _add_constraint(drafts, pg_tables, by_number, row) -> None:
    schema, table, name, kind, conkey, confkey, ref_schema, ref_table, definition = row
    ref = TableRef(schema=schema, name=table)
    draft = drafts.get(ref.key())
    if draft is None:
        return
    columns = tuple(by_number[ref.key()][n] for n in conkey or ())
    if kind in ("p", "u"):
        draft["keys"].append(Key(columns=columns, primary=kind == "p", name=name))
    elif kind == "c":
        draft["checks"].append(_check(definition, name))
    else:
        parent = TableRef(schema=ref_schema, name=ref_table)
        ref_columns = tuple(by_number[parent.key()].get(n, "?") for n in confkey or ())
        draft["fks"].append(ForeignKey(columns=columns, ref_table=parent, ref_columns=ref_columns, name=name))
        return
    pg_tables[ref.key()].definitions.append(re.sub(r"\s+NOT VALID$", "", definition))


def _check(definition: str, name: str | None) -> Check:
    """'CHECK ((price >= (0)::numeric))' -> DuckDB SQL over the same columns."""
    body = re.sub(r"\s+NOT VALID$", "", definition.strip())
    body = re.sub(r"^CHECK\s*", "", body)
    try:
        tree = sqlglot.parse_one(body, read="postgres")
    except sqlglot.errors.SqlglotError as err:
        raise SynthError(f"cannot read CHECK constraint {name or body!r}: {err}") from None
    columns = tuple(dict.fromkeys(c.name for c in tree.find_all(exp.Column)))
    return Check(sql=tree.sql(dialect="duckdb"), columns=columns, name=name)


def _table(draft: dict) -> Table:
    keys = draft["keys"]
    primary = next((k for k in keys if k.primary), None)
    return Table(
        ref=draft["ref"],
        columns=tuple(draft["columns"]),
        primary_key=primary,
        unique=tuple(k for k in keys if not k.primary),
        checks=tuple(draft["checks"]),
        foreign_keys=tuple(draft["fks"]),
    )
