"""Keys a child shares with its main parent: the diamonds of a schema.

A payment references a rental and a customer, and the rental references a
customer too; in the real data the two customers are the same (pagila: 99.97%
of payments).  Drawing the payment's customer on its own would break that, so
for every other FK of the child that points where one of the main parent's FKs
points, the share of source rows that agree is learned, and that share of
generated rows copies the generated parent's key.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.duck import first_row
from synthtab_db.planner.schema import ForeignKey, Schema, Table, TableRef
from synthtab_db.sqlbuild import quote, table_expr

MIN_AGREEMENT = 0.5  # below this the two keys are unrelated: draw independently
PREFIX = "__inherit."


@dataclass(frozen=True)
class InheritedKey:
    columns: tuple[str, ...]  # the child's FK
    parent_columns: tuple[str, ...]  # the main parent's FK to the same table
    rate: float  # share of source rows where the two agree

    def aliases(self) -> list[str]:
        return [f"{PREFIX}{c}" for c in self.parent_columns]

    def to_dict(self) -> dict:
        return {"columns": list(self.columns), "parent_columns": list(self.parent_columns), "rate": self.rate}

    @classmethod
    def from_dict(cls, d: dict) -> "InheritedKey":
        return cls(tuple(d["columns"]), tuple(d["parent_columns"]), float(d["rate"]))


def learn_inherited(
    con: duckdb.DuckDBPyConnection, schema: Schema | None, table: Table, source: TableRef, main: ForeignKey | None,
    parent_sources: dict, noisy=None,
) -> list[InheritedKey]:
    """``noisy(columns, agreeing, rows)`` (under DP) releases the agreement rate instead of reading it."""
    found = []
    for fk, twin in twins(schema, table, main, parent_sources):
        agreeing, rows = _agreement(con, source, parent_sources[main.columns], main, fk, twin)
        rate = noisy(fk.columns, agreeing, rows) if noisy is not None else agreeing / rows if rows else 0.0
        if rate >= MIN_AGREEMENT:
            found.append(InheritedKey(fk.columns, twin.columns, rate))
    return found


def twins(schema: Schema | None, table: Table, main: ForeignKey | None,
          parent_sources: dict) -> list[tuple[ForeignKey, ForeignKey]]:
    """(the child's FK, the main parent's FK to the same table) pairs: from the schema alone."""
    if main is None or schema is None or main.columns not in parent_sources:
        return []
    parent = schema.table(parent_sources[main.columns]) if schema.has_table(parent_sources[main.columns]) else None
    if parent is None:
        return []
    found = []
    for fk in table.foreign_keys:
        if fk.columns == main.columns or fk.columns not in parent_sources or table.is_self_reference(fk):
            continue
        twin = next((g for g in parent.foreign_keys if g.ref_table.key() == fk.ref_table.key()
                     and tuple(c.lower() for c in g.ref_columns) == tuple(c.lower() for c in fk.ref_columns)), None)
        if twin is not None:
            found.append((fk, twin))
    return found


def _agreement(con, source: TableRef, parent: TableRef, main: ForeignKey, fk: ForeignKey,
               twin: ForeignKey) -> tuple[int, int]:
    """(source rows whose key equals their main parent's, rows with a key and a main parent)."""
    on = " AND ".join(f"p.{quote(r)} = c.{quote(f)}" for f, r in zip(main.columns, main.ref_columns))
    same = " AND ".join(f"c.{quote(a)} = p.{quote(b)}" for a, b in zip(fk.columns, twin.columns))
    present = " AND ".join(f"c.{quote(a)} IS NOT NULL" for a in fk.columns)
    agreeing, rows = first_row(
        con,
        f"SELECT count_if({same}), count(*) FROM {table_expr(source).sql('duckdb')} c "
        f"JOIN {table_expr(parent).sql('duckdb')} p ON {on} WHERE {present}",
    )
    return int(agreeing or 0), int(rows or 0)


def apply_inherited(
    keys: dict[str, pa.Array], inherited: InheritedKey, parent_rows: pa.Table, parents: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, pa.Array]:
    """Replace the drawn key by the main parent's own key in ``rate`` of the rows that have one."""
    valid = parents >= 0
    index = pa.array(np.where(valid, parents, 0), type=pa.int64())
    copies = [parent_rows.column(a).combine_chunks().take(index) for a in inherited.aliases()]
    usable = valid & (rng.random(parents.size) < inherited.rate)
    for values in copies:
        usable &= values.is_valid().to_numpy(zero_copy_only=False)
    if not usable.any():
        return keys
    mask = pa.array(usable)
    out = dict(keys)
    for column, values in zip(inherited.columns, copies):
        out[column] = pc.if_else(mask, values.cast(keys[column].type), keys[column])
    return out
