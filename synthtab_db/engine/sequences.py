"""Sequential children: rows of one parent ordered in time (readings per station,
payments per rental).  A temporal column that forms a key together with the main FK
is not left to the model: per parent it starts at a learned start value and steps by
learned gaps, so order within a parent and the time gaps are kept, and the key
(parent, time) holds by construction."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from synthtab_db.planner.schema import ForeignKey, Kind, Table, TableRef
from synthtab_db.sqlbuild import quote, table_expr

TEMPORAL = {Kind.TIMESTAMP: "timestamp", Kind.TIMESTAMPTZ: "timestamptz", Kind.DATE: "date"}
MAX_GAPS = 200_000


def sequence_column(table: Table, fk: ForeignKey | None) -> str | None:
    """The temporal column c of a key (fk columns…, c), if there is one."""
    if fk is None:
        return None
    for key in table.keys:
        rest = [c for c in key.columns if c not in fk.columns]
        if set(fk.columns) <= set(key.columns) and len(rest) == 1 and table.column(rest[0]).type.kind in TEMPORAL:
            return rest[0]
    return None


@dataclass
class SequenceModel:
    column: str
    kind: str
    starts: np.ndarray  # first value per source parent (epoch microseconds, or days for dates)
    gaps: np.ndarray  # within-parent steps between consecutive values

    @classmethod
    def learn(
        cls, con: duckdb.DuckDBPyConnection, source: TableRef, fk: ForeignKey, column: str, kind: Kind,
        per_parent: int | None = None,
    ) -> "SequenceModel":
        """``per_parent`` (under DP): only each parent's first rows in time order, rows
        without a parent left out, so one parent adds one start and a bounded number of gaps."""
        value = _as_number(quote(column), kind)
        group = ", ".join(quote(c) for c in fk.columns)
        src = table_expr(source).sql("duckdb")
        if per_parent is not None:
            present = " AND ".join(f"{quote(c)} IS NOT NULL" for c in fk.columns)
            src = (f"(SELECT * FROM {src} WHERE {present} QUALIFY row_number() OVER "
                   f"(PARTITION BY {group} ORDER BY {quote(column)}) <= {int(per_parent)}) AS bounded")
        starts = con.execute(  # a sample of the parents' starts: one per parent would grow the state with the table
            f"SELECT s FROM (SELECT min({value}) AS s FROM {src} GROUP BY {group}) USING SAMPLE {MAX_GAPS} ROWS"
        ).fetchall()
        gaps = con.execute(
            f"SELECT g FROM (SELECT {value} - lag({value}) OVER (PARTITION BY {group} ORDER BY {quote(column)}) AS g "
            f"FROM {src}) WHERE g IS NOT NULL USING SAMPLE {MAX_GAPS} ROWS"
        ).fetchall()
        return cls(column, TEMPORAL[kind], _array(starts), _array(gaps))

    def values(self, parent_of_row: np.ndarray, rng: np.random.Generator) -> pa.Array:
        """Row i gets start(parent) + the sum of the gaps before it within its parent.  In whole
        arrays (one cumulative sum, reset at each parent), not a Python loop per parent: a child
        table of millions of parents took minutes here."""
        n = parent_of_row.size
        order = np.argsort(parent_of_row, kind="stable")
        ordered = parent_of_row[order]
        first = np.ones(n, dtype=bool)
        first[1:] = ordered[1:] != ordered[:-1]
        group = np.cumsum(first) - 1
        groups = int(group[-1]) + 1 if n else 0
        starts = rng.choice(self.starts, size=groups) if self.starts.size else np.zeros(groups, np.int64)
        steps = rng.choice(self.gaps, size=n) if self.gaps.size else np.ones(n, np.int64)
        steps[first] = 0
        running = np.cumsum(steps)
        out = np.empty(n, dtype=np.int64)
        out[order] = starts[group] + running - running[first][group]
        return _to_arrow(out, self.kind)

    def to_dict(self) -> dict:
        return {"column": self.column, "kind": self.kind, "starts": self.starts.tolist(), "gaps": self.gaps.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "SequenceModel":
        return cls(d["column"], d["kind"], np.array(d["starts"], np.int64), np.array(d["gaps"], np.int64))


def _as_number(column_sql: str, kind: Kind) -> str:
    return f"(({column_sql}) - DATE '1970-01-01')" if kind == Kind.DATE else f"epoch_us({column_sql})"


def _array(rows: list[tuple]) -> np.ndarray:
    return np.array([r[0] for r in rows if r[0] is not None], dtype=np.int64)


def _to_arrow(values: np.ndarray, kind: str) -> pa.Array:
    if kind == "date":
        return pa.array(values.astype(np.int32), pa.date32())
    return pa.array(values, pa.timestamp("us", tz="UTC" if kind == "timestamptz" else None))
