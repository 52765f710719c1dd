"""Which parent columns a child table's model sees, and how they are read.

The context follows the chain of *main* FKs upwards (payment -> rental ->
inventory -> film, at most ``MAX_DEPTH`` hops), so a dependence across several
tables (a payment's amount and its film's rental rate) is learnable.  Columns
are taken nearest parent first, up to ``MAX_COLUMNS``; keys, FK columns, free
text (many distinct strings), constants and types no model encodes are left
out.  Learning reads the source's chain; generation reads the same chain over
the tables generated so far (a parent outside the statement is read as it is).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from synthtab_db.duck import first_row
from synthtab_db.models.context import CONTEXT_PREFIX
from synthtab_db.planner.roles import column_roles
from synthtab_db.planner.schema import Column, ForeignKey, Kind, Schema, Table, TableRef
from synthtab_db.sqlbuild import quote, table_expr

MAX_DEPTH = 3
MAX_COLUMNS = 8
MAX_DISTINCT = 200  # a string column with more distinct values is free text, not context
UNENCODED = {Kind.BLOB, Kind.LIST, Kind.JSON, Kind.INTERVAL, Kind.UUID}


@dataclass(frozen=True)
class Hop:
    """One step up the chain: ``columns`` of the lower table reference ``ref_columns`` of ``table``."""

    columns: tuple[str, ...]
    table: TableRef
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class ContextColumn:
    depth: int  # 1: the main parent
    source: str  # the column's name in that ancestor
    column: Column  # renamed to the context name, nullable

    @property
    def name(self) -> str:
        return self.column.name


@dataclass
class ContextSpec:
    hops: list[Hop]
    columns: list[ContextColumn]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def at_depth(self, depth: int) -> list[ContextColumn]:
        return [c for c in self.columns if c.depth == depth]

    def model_table(self, table: Table) -> Table:
        """The child's schema plus the context columns, as the model sees them."""
        return table.model_copy(update={"columns": tuple(c.column for c in self.columns) + table.columns})

    # -- SQL --------------------------------------------------------------------------
    def _selected(self) -> str:
        return ", ".join(f"a{c.depth}.{quote(c.source)} AS {quote(c.name)}" for c in self.columns)

    def source_sql(self, source: TableRef) -> str:
        """The child's rows (alias c), each with its ancestors' context columns (a1, a2, ...)."""
        joins = _joins(self.hops, [h.table for h in self.hops], first=1)
        return f"SELECT c.*, {self._selected()} FROM {table_expr(source).sql('duckdb')} AS c {joins}"

    def parents_sql(self, parent: TableRef, own: list[tuple[str, str]], generated: dict) -> str:
        """Rows of the (generated) main parent: ``own`` (column, alias) pairs, then the context.
        Ancestors come from ``generated`` (source key -> generated table), else as they are."""
        tables = [generated.get(h.table.key(), h.table) for h in self.hops[1:]]
        joins = _joins(self.hops[1:], tables, first=2)
        selected = ", ".join([f"a1.{quote(c)} AS {quote(a)}" for c, a in own] + [self._selected()])
        return f"SELECT {selected} FROM {table_expr(parent).sql('duckdb')} AS a1 {joins}"

    # -- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "hops": [{"columns": list(h.columns), "table": h.table.model_dump(), "ref_columns": list(h.ref_columns)}
                     for h in self.hops],
            "columns": [{"depth": c.depth, "source": c.source, "column": c.column.model_dump(mode="json")}
                        for c in self.columns],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ContextSpec":
        hops = [Hop(tuple(h["columns"]), TableRef(**h["table"]), tuple(h["ref_columns"])) for h in d["hops"]]
        columns = [ContextColumn(int(c["depth"]), c["source"], Column.model_validate(c["column"]))
                   for c in d["columns"]]
        return cls(hops, columns)


def _joins(hops: list[Hop], tables: list[TableRef], first: int) -> str:
    """LEFT JOINs a{first}, a{first+1}, ... up the chain (the table below a1 is c)."""
    parts = []
    for depth, (hop, ref) in enumerate(zip(hops, tables), start=first):
        lower = "c" if depth == 1 else f"a{depth - 1}"
        on = " AND ".join(f"a{depth}.{quote(r)} = {lower}.{quote(c)}" for c, r in zip(hop.columns, hop.ref_columns))
        parts.append(f"LEFT JOIN {table_expr(ref).sql('duckdb')} AS a{depth} ON {on}")
    return " ".join(parts)


def learn_context(
    con: duckdb.DuckDBPyConnection, schema: Schema | None, table: Table, main: ForeignKey | None, main_of
) -> ContextSpec | None:
    """The chain above ``table`` through ``main`` and the columns worth conditioning on.

    ``main_of(ancestor)`` picks an ancestor's own main FK (the engine's rule)."""
    if main is None or schema is None or not schema.has_table(main.ref_table):
        return None
    hops: list[Hop] = []
    columns: list[ContextColumn] = []
    fk: ForeignKey | None = main
    seen = {table.ref.key()}
    while fk is not None and len(hops) < MAX_DEPTH and len(columns) < MAX_COLUMNS:
        ancestor = schema.table(fk.ref_table)
        if ancestor.ref.key() in seen:
            break
        seen.add(ancestor.ref.key())
        hops.append(Hop(fk.columns, ancestor.ref, fk.ref_columns))
        for name in _eligible(con, ancestor)[: MAX_COLUMNS - len(columns)]:
            source = ancestor.column(name)
            renamed = source.model_copy(update={"name": f"{CONTEXT_PREFIX}{ancestor.name}.{name}", "nullable": True})
            columns.append(ContextColumn(len(hops), name, renamed))
        fk = main_of(ancestor)
    if not columns:
        return None
    deepest = max(c.depth for c in columns)
    return ContextSpec(hops[:deepest], columns)


def _eligible(con: duckdb.DuckDBPyConnection, table: Table) -> list[str]:
    """Model columns of ``table`` a child can condition on, in table order."""
    candidates = [c for c in column_roles(table).model if table.column(c).type.kind not in UNENCODED]
    if not candidates:
        return []
    counts = ", ".join(f"approx_count_distinct({quote(c)})" for c in candidates)
    row = first_row(con, f"SELECT count(*), {counts} FROM {table_expr(table.ref).sql('duckdb')}")
    rows, distinct = row[0], row[1:]
    keep = []
    for name, d in zip(candidates, distinct):
        if d is None or d <= 1:
            continue
        kind = table.column(name).type.kind
        if kind in (Kind.STRING,) and d > min(MAX_DISTINCT, max(2, rows // 2)):
            continue
        keep.append(name)
    return keep
