"""Foreign-key values are drawn from the generated parents, never from a model.

What is learned from the source, per FK: the NULL rate and the children-per-parent
counts (parents with no children included).  The *main* FK of a child table fixes
how many rows each generated parent gets; every other FK draws its parent with
weights drawn from its own count distribution, so skew (a few parents with many
children) survives.  When a key (PK/UNIQUE) is made of FK columns, draws are
made without replacement so the key holds by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa

from synthtab_db.duck import first_row
from synthtab_db.engine.child_counts import CountStrata, stratified
from synthtab_db.planner.schema import ForeignKey, Table, TableRef
from synthtab_db.sqlbuild import quote, table_expr


def _sql_ref(ref: TableRef) -> str:
    return table_expr(ref).sql("duckdb")


@dataclass
class ForeignKeySampler:
    fk: ForeignKey
    null_rate: float
    counts: np.ndarray  # children per source parent row
    strata: CountStrata | None = field(default=None)  # counts by the parent's columns (main FK only)

    @classmethod
    def learn(
        cls, con: duckdb.DuckDBPyConnection, child: Table, source: TableRef, parent: TableRef, fk: ForeignKey
    ) -> "ForeignKeySampler":
        return cls(fk, learned_null_rate(con, source, fk), child_counts(con, source, parent, fk))

    def weights(self, n_parents: int, rng: np.random.Generator) -> np.ndarray:
        """Children per generated parent, drawn from the source's counts by stratified
        resampling: with as many parents as the source it is a permutation of the real
        counts, so totals do not wander (i.i.d. draws over 5 parents would)."""
        return stratified(self.counts, n_parents, rng)

    def weights_for(self, parents: pa.Table, rng: np.random.Generator) -> np.ndarray:
        """As ``weights``, each parent drawing from the counts of real parents like it."""
        if self.strata is None or not set(self.strata.names) <= set(parents.column_names) or not self.counts.size:
            return self.weights(parents.num_rows, rng)
        return self.strata.weights(parents, self.counts, rng)

    def null_rows(self, n_parents: int, rng: np.random.Generator) -> int:
        """Rows whose key is NULL, scaled with the number of parents."""
        source_children = self.counts.sum() / max(1.0 - self.null_rate, 1e-9)
        expected = source_children * self.null_rate * n_parents / max(self.counts.size, 1)
        return int(np.floor(expected + rng.random()))

    def null_mask(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.random(n) < self.null_rate


def orphaned_rows(con: duckdb.DuckDBPyConnection, source: TableRef, parent: TableRef, fk: ForeignKey) -> int:
    """Source rows whose (non-NULL) key matches no parent row: possible where the FK is not
    enforced (a schema from DDL, a Postgres FK NOT VALID).  Never copied: keys come from parents."""
    on = " AND ".join(f"p.{quote(r)} = c.{quote(f)}" for f, r in zip(fk.columns, fk.ref_columns))
    present = " AND ".join(f"c.{quote(f)} IS NOT NULL" for f in fk.columns)
    return int(first_row(
        con,
        f"SELECT count(*) FROM {_sql_ref(source)} c WHERE {present} "
        f"AND NOT EXISTS (SELECT 1 FROM {_sql_ref(parent)} p WHERE {on})",
    )[0])


def learned_null_rate(con: duckdb.DuckDBPyConnection, source: TableRef, fk: ForeignKey) -> float:
    any_null = " OR ".join(f"{quote(c)} IS NULL" for c in fk.columns)
    value = first_row(con, f"SELECT avg(CASE WHEN {any_null} THEN 1.0 ELSE 0.0 END) FROM {_sql_ref(source)}")[0]
    return float(value or 0.0)


def child_counts(con: duckdb.DuckDBPyConnection, source: TableRef, parent: TableRef, fk: ForeignKey) -> np.ndarray:
    on = " AND ".join(f"p.{quote(r)} = c.{quote(f)}" for f, r in zip(fk.columns, fk.ref_columns))
    group = ", ".join(f"p.{quote(r)}" for r in fk.ref_columns)
    rows = con.execute(
        f"SELECT count(c.{quote(fk.columns[0])}) FROM {_sql_ref(parent)} p "
        f"LEFT JOIN {_sql_ref(source)} c ON {on} GROUP BY {group}"
    ).fetchall()
    return np.array([r[0] for r in rows], dtype=np.int64)


NO_PARENT = -1


def slots_for_main(
    sampler: ForeignKeySampler, parents: pa.Table, rows: int | None, rng: np.random.Generator,
    cap: int | None = None,
) -> np.ndarray:
    """Parent row index of every child row (NO_PARENT: a NULL key): the learned counts
    per generated parent, or ``rows`` rows spread by those counts.  ``cap`` bounds the
    children of one parent (a key (main FK, other FK) allows no more than the other
    table's rows: SCALE 0.1 of chinook leaves 2 playlists for tracks in up to 5)."""
    weights = sampler.weights_for(parents, rng)
    if cap is not None:
        weights = np.minimum(weights, cap)
    if rows is None and weights.sum() == 0 and sampler.counts.sum() > 0 and parents.num_rows:
        # a few parents (SCALE 0.1 of a small table) all drew "no children": the table would come
        # out empty and its own children would have no parent; keep the expected total, at least 1
        rows = max(1, int(round(sampler.counts.mean() * parents.num_rows)))
        weights = np.ones(parents.num_rows)
    index = slot_type(parents.num_rows)
    if rows is None:
        slots = np.repeat(np.arange(parents.num_rows, dtype=index), weights.astype(np.int64))
        return np.concatenate([slots, np.full(sampler.null_rows(parents.num_rows, rng), NO_PARENT, dtype=index)])
    if parents.num_rows == 0:
        return np.full(rows, NO_PARENT, dtype=index)
    slots = parents_in_order(weights, rows, rng)
    for start in range(0, rows, _CHUNK_ROWS):  # the draws of one null_mask(rows), a chunk at a time
        part = slots[start:start + _CHUNK_ROWS]
        part[sampler.null_mask(part.size, rng)] = NO_PARENT
    return slots


#: Rows per chunk when a child table's slots are planned: nothing row-sized but the answer.
_CHUNK_ROWS = 1 << 20


def slot_type(parents: int) -> type[np.signedinteger]:
    """A parent index per child row: 4 bytes while the parents fit (100M child rows: 400 MB)."""
    return np.int32 if parents < 2**31 else np.int64


def parents_in_order(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling in parent order (``draw_parents`` shuffles it), computed a chunk of
    rows at a time into one array: a child table's slots want it sorted, and shuffling 100M rows
    only for a sort to undo it cost 0.8 GB and seconds."""
    out = np.zeros(n, dtype=slot_type(weights.size))
    total = weights.sum()
    if weights.size == 0 or n == 0:
        return out
    cumulative = np.cumsum(weights / total) if total > 0 else np.arange(1, weights.size + 1) / weights.size
    shift = rng.random()
    for start in range(0, n, _CHUNK_ROWS):
        positions = (np.arange(start, min(n, start + _CHUNK_ROWS)) + shift) / n
        out[start:start + positions.size] = np.minimum(np.searchsorted(cumulative, positions, side="right"),
                                                       weights.size - 1)
    return out


def draw_parents(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling: parent i gets floor or ceil of n * w_i / sum(w) rows, in
    random order, so children-per-parent follow the weights without multinomial noise."""
    if weights.size == 0 or n == 0:
        return np.zeros(n, dtype=np.int64)
    return rng.permutation(parents_in_order(weights, n, rng))


def draw_distinct(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct parents, weighted (Gumbel top-k); every parent stays possible."""
    n = min(n, weights.size)
    keys = np.log(weights + 1e-3) + rng.gumbel(size=weights.size)
    return np.argpartition(-keys, n - 1)[:n] if n else np.zeros(0, dtype=np.int64)


def draw_grouped_distinct(weights: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Distinct parents within each group of rows (a key made of the main FK and this FK).

    Parents are first drawn for all rows at once by systematic resampling (so the
    children-per-parent counts follow the weights, as for any FK); only a parent
    drawn twice inside one group is redrawn among the parents that group lacks."""
    out = draw_parents(weights, groups.size, rng)
    order = np.lexsort((out, groups))
    duplicate = np.zeros(groups.size, dtype=bool)
    same = (groups[order][1:] == groups[order][:-1]) & (out[order][1:] == out[order][:-1])
    duplicate[order[1:][same]] = True
    for group in np.unique(groups[duplicate]):
        rows = np.flatnonzero(groups == group)
        redo = rows[duplicate[rows]]
        free = np.ones(weights.size, dtype=bool)
        free[out[rows[~duplicate[rows]]]] = False
        candidates = np.flatnonzero(free)
        if candidates.size:
            picks = candidates[draw_distinct(weights[candidates], redo.size, rng)]
            out[redo[: picks.size]] = picks
    return out


def take_keys(
    parents: pa.Table, index: np.ndarray, fk: ForeignKey, null: np.ndarray | None = None
) -> dict[str, pa.Array]:
    """The FK columns for rows pointing at ``parents[index]`` (NULL where ``null`` or NO_PARENT)."""
    missing = index == NO_PARENT
    null = missing if null is None else (null | missing)
    index = np.where(missing, 0, index)
    if parents.num_rows == 0:
        return {c: pa.nulls(index.size, type=parents.schema.field(r).type) for c, r in zip(fk.columns, fk.ref_columns)}
    taken = parents.take(pa.array(index, type=pa.int64())) if index.size else parents.slice(0, 0)
    columns = {}
    for child_col, ref_col in zip(fk.columns, fk.ref_columns):
        values = taken.column(ref_col).combine_chunks()
        if null is not None and null.any():
            values = pa.compute.if_else(pa.array(null), pa.nulls(len(values), values.type), values)
        columns[child_col] = values
    return columns


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov statistic (largest gap between the two ECDFs)."""
    if a.size == 0 or b.size == 0:
        return 0.0 if a.size == b.size else 1.0
    grid = np.union1d(a, b)
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / a.size
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))
