"""Children per parent, conditioned on the parent's own columns.

Customers of one segment may place ten orders, others one.  From the source,
each parent's child count is paired with its columns (the child's depth-1
context); the one or two columns whose cells explain most of the counts'
variance (eta squared) define strata, and a generated parent draws its count
from the real counts of parents in its stratum, by stratified resampling, so
each stratum's distribution, and with it the overall one, is kept.  Parents
in a stratum too thin to learn from draw from all counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from synthtab_db.models.context import ORDERED, Binner
from synthtab_db.planner.schema import Column, ForeignKey, TableRef
from synthtab_db.sqlbuild import quote, table_expr

MIN_PARENTS = 20  # real parents a stratum needs to stand on its own
MIN_GAIN = 0.02  # eta squared a column must add to become a stratum
MAX_COLUMNS = 2


def stratified(counts: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws from ``counts`` by stratified resampling (a permutation of them when n = size)."""
    if counts.size == 0:
        return np.ones(n)
    ordered = np.sort(counts)
    strata = ((np.arange(n) + rng.random(n)) / max(n, 1) * ordered.size).astype(np.int64)
    weights = ordered[np.minimum(strata, ordered.size - 1)].astype(float)
    rng.shuffle(weights)
    return weights


@dataclass
class CountStrata:
    names: list[str]
    binners: list[Binner]
    counts: dict[int, np.ndarray]  # stratum -> real counts of its parents

    def keys(self, parents: pa.Table) -> np.ndarray:
        key = np.zeros(parents.num_rows, dtype=np.int64)
        for name, binner in zip(self.names, self.binners):
            key = key * binner.size + binner.cells(parents.column(name))
        return key

    def weights(self, parents: pa.Table, everything: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.empty(parents.num_rows)
        keys = self.keys(parents)
        for key in np.unique(keys):
            rows = np.flatnonzero(keys == key)
            real = self.counts.get(int(key))
            source = real if real is not None and real.size >= MIN_PARENTS else everything
            out[rows] = stratified(source, rows.size, rng)
        return out

    def to_dict(self) -> dict:
        return {"names": self.names, "binners": [b.to_dict() for b in self.binners],
                "counts": {str(k): v.tolist() for k, v in self.counts.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "CountStrata":
        return cls(list(d["names"]), [Binner.from_dict(b) for b in d["binners"]],
                   {int(k): np.asarray(v, dtype=np.int64) for k, v in d["counts"].items()})


def learn_strata(parents: pa.Table, counts: np.ndarray, ordered: dict[str, bool]) -> CountStrata | None:
    """Strata over at most ``MAX_COLUMNS`` parent columns, chosen greedily by eta squared;
    None when no column tells anything about the counts."""
    if parents.num_rows < 2 * MIN_PARENTS or counts.var() == 0:
        return None
    binners = {c: Binner.fit(parents.column(c), ordered.get(c, False)) for c in parents.column_names}
    cells = {c: b.cells(parents.column(c)) for c, b in binners.items()}
    chosen: list[str] = []
    key = np.zeros(parents.num_rows, dtype=np.int64)
    score = 0.0
    while len(chosen) < MAX_COLUMNS:
        trials = {c: _eta_squared(key * binners[c].size + cells[c], counts) for c in binners if c not in chosen}
        if not trials:
            break
        best = max(trials, key=trials.get)
        if trials[best] - score < MIN_GAIN:
            break
        chosen.append(best)
        key, score = key * binners[best].size + cells[best], trials[best]
    if not chosen:
        return None
    groups = {int(k): counts[key == k] for k in np.unique(key)}
    return CountStrata(chosen, [binners[c] for c in chosen], groups)


def _eta_squared(groups: np.ndarray, values: np.ndarray) -> float:
    """Share of the values' variance between groups, counting only groups with enough members
    (a thin group's mean is noise, not signal)."""
    _, index = np.unique(groups, return_inverse=True)
    sizes = np.bincount(index)
    means = np.bincount(index, values.astype(float)) / sizes
    fitted = np.where(sizes[index] >= MIN_PARENTS, means[index], values.mean())
    total = np.sum((values - values.mean()) ** 2)
    return float(np.sum((fitted - values.mean()) ** 2) / total) if total > 0 else 0.0


def learn_main_strata(
    con: duckdb.DuckDBPyConnection, source: TableRef, parent: TableRef, fk: ForeignKey,
    columns: list[tuple[str, Column]],
) -> CountStrata | None:
    """Strata for the main FK over the parent's ``columns`` ((parent column, context column) pairs)."""
    if not columns:
        return None
    on = " AND ".join(f"p.{quote(r)} = c.{quote(f)}" for f, r in zip(fk.columns, fk.ref_columns))
    keys = ", ".join(f"p.{quote(r)}" for r in fk.ref_columns)
    picked = ", ".join(f"any_value(p.{quote(c)}) AS {quote(ctx.name)}" for c, ctx in columns)
    table = con.sql(
        f"SELECT {picked}, count(c.{quote(fk.columns[0])}) AS __n FROM {table_expr(parent).sql('duckdb')} p "
        f"LEFT JOIN {table_expr(source).sql('duckdb')} c ON {on} GROUP BY {keys}"
    ).to_arrow_table()
    counts = table.column("__n").to_numpy().astype(np.int64)
    ordered = {ctx.name: ctx.type.kind in ORDERED for _, ctx in columns}
    return learn_strata(table.drop(["__n"]), counts, ordered)
