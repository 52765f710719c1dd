"""Bounded samples of a table, fetched from DuckDB for the parts SQL can't do well
(pairs, models, distances). A table at or under the limit comes back whole, so
small identical tables score exactly the same."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthtab_db.planner.schema import TableRef
from synthtab_db.quality.columns import ColumnSpec
from synthtab_db.quality.sql import arrow, ident, scalars, table_sql

#: near-unique strings are compared by length; their text rides along under name + RAW_TEXT for
#: the utility model (a code's order carries what its length loses: 'A123' -> 'A')
RAW_TEXT = "#text"


@dataclass(frozen=True)
class Frame:
    """Sampled columns by real name: float64 (NaN = NULL) or object (None = NULL)."""

    columns: dict[str, np.ndarray]
    rows: int
    total_rows: int

    def take(self, index: np.ndarray) -> Frame:
        return Frame({k: v[index] for k, v in self.columns.items()}, len(index), self.total_rows)


def draw(con, ref: TableRef, specs: list[ColumnSpec], side: str, rows: int, seed: int) -> Frame:
    """Up to ``rows`` rows, by DuckDB's seeded reservoir sample (same seed, same rows)."""
    total = scalars(con, f"SELECT count(*) FROM {table_sql(ref)}")[0]
    if not specs:
        return Frame({}, 0, total)
    sample = f" USING SAMPLE reservoir({rows} ROWS) REPEATABLE ({seed})" if total > rows else ""
    select = ", ".join(f"{spec.expr(side)} AS {ident(spec.name)}" for spec in specs)
    texts = [s for s in specs if s.kind == "text_length"]
    raw = "".join(f", CAST({ident(s.name if side == 'real' else s.synthetic_name)} AS VARCHAR) "
                  f"AS {ident(s.name + RAW_TEXT)}" for s in texts)
    table = arrow(con, f"SELECT {select}{raw} FROM {table_sql(ref)}{sample}")
    columns = {spec.name: _numpy(table[spec.name], spec.role) for spec in specs}
    columns.update({s.name + RAW_TEXT: _numpy(table[s.name + RAW_TEXT], "text") for s in texts})
    return Frame(columns, table.num_rows, total)


def _numpy(column, role: str) -> np.ndarray:
    if role == "numeric":
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.asarray(column.to_pylist(), dtype=object)


def split(frame: Frame, test_share: float, seed: int) -> tuple[Frame, Frame]:
    """A seeded train/test split of a sample (used when no HOLDOUT table is given)."""
    order = np.random.default_rng(seed).permutation(frame.rows)
    cut = int(round(frame.rows * test_share))
    return frame.take(order[cut:]), frame.take(order[:cut])


def subsample(frame: Frame, rows: int, seed: int) -> Frame:
    if frame.rows <= rows:
        return frame
    return frame.take(np.sort(np.random.default_rng(seed).choice(frame.rows, rows, replace=False)))
