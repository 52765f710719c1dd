"""Which columns an evaluation compares, and as what.

Key columns (PRIMARY KEY, UNIQUE, FOREIGN KEY) are identifiers made by key
generators, not learned values, so they are left out; multi-table cardinality
metrics cover foreign keys instead. Columns are matched by name, case-insensitive,
as DuckDB resolves them.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthtab_db.catalog import read_schema
from synthtab_db.planner.schema import Kind, TableRef
from synthtab_db.planner.types import column_type_from_duckdb
from synthtab_db.quality.sql import category_expr, ident, numeric_expr, scalars, table_sql

NUMERIC_KINDS = {
    Kind.INTEGER: "number",
    Kind.FLOAT: "number",
    Kind.DECIMAL: "number",
    Kind.DATE: "date",
    Kind.TIME: "time",
    Kind.TIMESTAMP: "timestamp",
    Kind.TIMESTAMPTZ: "timestamptz",
    Kind.INTERVAL: "interval",
}
CATEGORICAL_KINDS = {Kind.BOOLEAN, Kind.STRING, Kind.ENUM}


@dataclass(frozen=True)
class ColumnSpec:
    """A compared column: ``role`` is 'numeric' or 'categorical'; names as each table spells them."""

    name: str
    synthetic_name: str
    role: str
    kind: str

    def expr(self, side: str) -> str:
        column = self.name if side == "real" else self.synthetic_name
        return numeric_expr(column, self.kind) if self.role == "numeric" else category_expr(column)


def describe(con, ref: TableRef) -> dict[str, str]:
    """Column name -> DuckDB type text; works for views as well as tables."""
    rows = con.execute(f"DESCRIBE SELECT * FROM {table_sql(ref)}").fetchall()
    return {name: type_text for name, type_text, *_ in rows}


def key_columns(con, ref: TableRef) -> set[str]:
    """Lower-cased PK, UNIQUE and FK column names of ``ref`` (none for a view)."""
    schema = read_schema(con)
    if not schema.has_table(ref):
        return set()
    table = schema.table(ref)
    keys = [c for key in table.keys for c in key.columns] + [c for fk in table.foreign_keys for c in fk.columns]
    return {c.lower() for c in keys}


def compared_columns(con, real: TableRef, synthetic: TableRef) -> tuple[list[ColumnSpec], list[str]]:
    """Columns to compare, and a note per column left out (with why)."""
    synthetic_names = {n.lower(): n for n in describe(con, synthetic)}
    keys = key_columns(con, real)
    specs, skipped = [], []
    for name, type_text in describe(con, real).items():
        spec, why = _spec(name, type_text, synthetic_names, keys)
        specs += [spec] if spec else []
        skipped += [f"{name}: {why}"] if why else []
    return as_text_lengths(con, real, specs), skipped


def as_text_lengths(con, real: TableRef, specs: list[ColumnSpec]) -> list[ColumnSpec]:
    """Near-unique strings (names, e-mails, phone numbers) compared by their length.

    Their values can't match by design - a good generator invents new names - so
    category metrics would only say "all different"; the length distribution
    still shows whether the values look like the real ones.
    """
    strings = [s for s in specs if s.kind == Kind.STRING.value]
    if not strings:
        return specs
    shares = scalars(
        con,
        "SELECT "
        + ", ".join(f"approx_count_distinct({ident(s.name)}) / greatest(count(*), 1)" for s in strings)
        + f", count(*) FROM {table_sql(real)}",
    )
    unique = {s.name for s, share in zip(strings, shares) if share > MOSTLY_UNIQUE and shares[-1] >= 50}
    return [ColumnSpec(s.name, s.synthetic_name, "numeric", "text_length") if s.name in unique else s for s in specs]


MOSTLY_UNIQUE = 0.5


def _spec(name: str, type_text: str, synthetic_names: dict[str, str], keys: set[str]):
    if name.lower() in keys:
        return None, "key column (generated, not learned)"
    if name.lower() not in synthetic_names:
        return None, "missing from the synthetic table"
    kind = _kind(type_text)
    if kind in NUMERIC_KINDS:
        return ColumnSpec(name, synthetic_names[name.lower()], "numeric", NUMERIC_KINDS[kind]), None
    if kind in CATEGORICAL_KINDS:
        return ColumnSpec(name, synthetic_names[name.lower()], "categorical", kind.value), None
    return None, f"type {type_text} is not compared"


def _kind(type_text: str) -> Kind | None:
    try:
        return column_type_from_duckdb(type_text).kind
    except Exception:  # an unsupported type is reported as skipped, not fatal
        return None
