"""Parent context for a child table's model: the joint table it learns, and matching.

A child's model learns the child's columns *together with* its parents'
columns (the context, named ``__ctx.<table>.<column>``, placed first), so that a
cross-table dependence (an invoice total that follows the customer's country)
is part of what it fits.  At sampling time each row's context is given:

- argn and the copula condition on it exactly (fixed leading tokens; the
  conditional Gaussian);
- CTGAN and TVAE, which have no per-row conditional, sample joint rows and keep,
  for every requested row, a candidate whose generated context falls in the same
  cell (``ContextCells``), coarsening the cells for rows still unmatched.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.association import contingency, cramers_v
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Kind
from synthtab_db.transforms import as_array

CONTEXT_PREFIX = "__ctx."
ORDERED = {Kind.INTEGER, Kind.FLOAT, Kind.DECIMAL, Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ, Kind.TIME}


def joint(data: pa.Table, context: pa.Table | None) -> tuple[pa.Table, list[str]]:
    """Context columns first, then the table's own; and the context columns' names."""
    if context is None or context.num_columns == 0:
        return data, []
    if context.num_rows != data.num_rows:
        raise SynthError(f"context has {context.num_rows} rows for {data.num_rows} rows of data")
    names = list(context.column_names)
    columns = [context.column(c) for c in names] + [data.column(c) for c in data.column_names]
    return pa.table(columns, names=names + list(data.column_names)), names


def require_context(names: list[str], context: pa.Table | None, n: int) -> pa.Table | None:
    """The context to condition on (None: the model learned none, or none given: sample the joint)."""
    if not names or context is None:
        return None
    missing = [c for c in names if c not in context.column_names]
    if missing:
        raise SynthError(f"context lacks the columns the model learned: {missing}")
    if context.num_rows != n:
        raise SynthError(f"context has {context.num_rows} rows for {n} rows to sample")
    return context.select(names)


def numbers(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An ordered column as float64 (dates as days, timestamps as microseconds); NaN where NULL."""
    array = as_array(values)
    kind = array.type
    if pa.types.is_date32(kind):
        array = array.cast(pa.int32())
    elif pa.types.is_timestamp(kind) or pa.types.is_time(kind) or pa.types.is_date64(kind):
        array = array.cast(pa.int64())
    elif pa.types.is_decimal(kind):
        array = array.cast(pa.float64())
    return array.cast(pa.float64()).to_numpy(zero_copy_only=False)


class Binner:
    """A column cut into a few cells: quantile bins of an ordered column, the most
    frequent labels of any other (the rest pooled), NULL a cell of its own."""

    def __init__(self, ordered: bool, edges: np.ndarray, labels: list[str]) -> None:
        self.ordered, self.edges, self.labels = ordered, edges, labels

    @classmethod
    def fit(cls, values: pa.ChunkedArray, ordered: bool, cells: int = 4) -> "Binner":
        if ordered:
            x = numbers(values)
            x = x[~np.isnan(x)]
            edges = np.unique(np.quantile(x, np.linspace(0, 1, cells + 1)[1:-1])) if x.size else np.zeros(0)
            return cls(True, edges, [])
        counts = pc.value_counts(values.combine_chunks().cast(pa.string())).to_pylist()
        counts = sorted((c for c in counts if c["values"] is not None), key=lambda c: -c["counts"])
        return cls(False, np.zeros(0), [c["values"] for c in counts[: cells * 2]])

    @property
    def size(self) -> int:
        """Cells, NULL and 'other' included."""
        return (self.edges.size + 1 if self.ordered else len(self.labels) + 1) + 1

    def cells(self, values: pa.ChunkedArray | pa.Array) -> np.ndarray:
        null = self.size - 1
        if self.ordered:
            x = numbers(values)
            return np.where(np.isnan(x), null, np.searchsorted(self.edges, np.nan_to_num(x), side="right"))
        text = as_array(values).cast(pa.string())
        index = pc.index_in(text, value_set=pa.array(self.labels, pa.string())).to_numpy(zero_copy_only=False)
        index = np.where(np.isnan(index.astype(float)), len(self.labels), index).astype(np.int64)
        valid = text.is_valid().to_numpy(zero_copy_only=False)
        return np.where(valid, index, null)

    def to_dict(self) -> dict:
        return {"ordered": self.ordered, "edges": self.edges.tolist(), "labels": self.labels}

    @classmethod
    def from_dict(cls, d: dict) -> "Binner":
        return cls(bool(d["ordered"]), np.asarray(d["edges"], dtype=np.float64), list(d["labels"]))


class ContextCells:
    """Cells over the context columns that tell most about the table's own columns
    (Cramér's V of the two binnings), for matching joint rows to requested contexts;
    ``level`` coarsens by dropping the least telling column."""

    MAX_COLUMNS = 3

    def __init__(self, names: list[str], binners: list[Binner]) -> None:
        self.names, self.binners = names, binners

    @classmethod
    def fit(cls, context: pa.Table, ordered: dict[str, bool], data: pa.Table | None = None) -> "ContextCells":
        binners = {c: Binner.fit(context.column(c), ordered.get(c, False)) for c in context.column_names}
        if data is not None and data.num_columns and data.num_rows:
            targets = [Binner.fit(data.column(c), ordered.get(c, False)).cells(data.column(c))
                       for c in data.column_names]
            strength = {c: max(cramers_v(contingency(b.cells(context.column(c)), t)) for t in targets)
                        for c, b in binners.items()}
            names = sorted(binners, key=lambda c: -strength[c])[: cls.MAX_COLUMNS]
        else:
            names = list(binners)[: cls.MAX_COLUMNS]
        return cls(names, [binners[c] for c in names])

    def keys(self, context: pa.Table, level: int) -> np.ndarray:
        """Cell id per row using the first ``level`` columns."""
        key = np.zeros(context.num_rows, dtype=np.int64)
        for name, binner in list(zip(self.names, self.binners))[:level]:
            key = key * binner.size + binner.cells(context.column(name))
        return key

    def to_dict(self) -> dict:
        return {"names": self.names, "binners": [b.to_dict() for b in self.binners]}

    @classmethod
    def from_dict(cls, d: dict) -> "ContextCells":
        return cls(list(d["names"]), [Binner.from_dict(b) for b in d["binners"]])


def match_context(
    sample_joint: Callable[[int, int], pa.Table],
    cells: ContextCells,
    context: pa.Table,
    data_names: list[str],
    seed: int | None,
    rounds: int = 5,
) -> pa.Table:
    """Rows of ``data_names`` for each row of ``context``: joint samples whose context
    lands in the requested row's cell (finest cells first).  Each round draws more
    candidates per pending row (2, 4, 8, ...), so contexts the model makes rarely
    than asked still find theirs; rows left unmatched after ``rounds`` take any
    remaining candidate."""
    n = context.num_rows
    rng = np.random.default_rng(seed)
    chosen: list[tuple[np.ndarray, pa.Table]] = []  # (requested rows, their data)
    pending = np.arange(n)
    for attempt in range(rounds):
        if not pending.size:
            break
        candidates = sample_joint(max(2 ** (attempt + 1) * pending.size, 64), int(rng.integers(2**62)))
        used = np.zeros(candidates.num_rows, dtype=bool)
        for level in range(len(cells.names), -1, -1):
            if not pending.size:
                break
            if level == 0 and attempt < rounds - 1:
                break  # unconditional fallback only in the last round
            matched, taken = _match(cells.keys(context.take(pa.array(pending)), level),
                                    cells.keys(candidates, level), used, rng)
            if matched.size:
                used[taken] = True
                chosen.append((pending[matched], candidates.select(data_names).take(pa.array(taken))))
                pending = np.delete(pending, matched)
    if pending.size:  # too few candidates in the last round: take fresh unconditional rows
        chosen.append((pending, sample_joint(pending.size, int(rng.integers(2**62))).select(data_names)))
    rows = np.concatenate([r for r, _ in chosen])
    table = pa.concat_tables([t for _, t in chosen])
    return table.take(pa.array(np.argsort(rows, kind="stable")))


def _match(wanted: np.ndarray, offered: np.ndarray, used: np.ndarray,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (requested position, candidate row) with equal keys, each candidate used once."""
    free = np.flatnonzero(~used)
    free = free[rng.permutation(free.size)]
    order = np.argsort(offered[free], kind="stable")
    free, keys = free[order], offered[free][order]
    want_order = np.argsort(wanted, kind="stable")
    w_keys = wanted[want_order]
    start = np.searchsorted(keys, w_keys, side="left")
    end = np.searchsorted(keys, w_keys, side="right")
    # rank of each requested row among requests for the same key
    first = np.searchsorted(w_keys, w_keys, side="left")
    rank = np.arange(w_keys.size) - first
    ok = start + rank < end
    return want_order[ok], free[(start + rank)[ok]]
