"""Privacy units: under DP a child table protects its parents, not its rows.

A customer with forty orders is forty rows of the orders table; row-level DP
would protect each order but not the customer.  So a child table's rows are
grouped by their main parent (a row without a parent is a unit of its own),
each parent keeps at most ``max_rows_per_parent`` rows (chosen at random; the
rest are left out of training), and every mechanism is calibrated to what one
parent can change: counts move by up to that many rows, DP-SGD samples parents
and clips each row to ``max_grad_norm / max_rows_per_parent`` so a parent's
summed gradient stays within ``max_grad_norm``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def bound_contributions(units: np.ndarray, max_rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(rows kept, in their order; each kept row's unit as 0..U-1): at most ``max_rows`` per unit."""
    _, dense = np.unique(units, return_inverse=True)
    shuffled = rng.permutation(dense.size)
    order = shuffled[np.argsort(dense[shuffled], kind="stable")]  # grouped by unit, random inside
    starts = np.searchsorted(dense[order], dense[order], side="left")
    rank = np.arange(order.size) - starts
    kept = np.sort(order[rank < max_rows])
    _, compact = np.unique(dense[kept], return_inverse=True)
    return kept, compact


def unit_ids(keys: list | None, rows: int) -> np.ndarray:
    """One id per row from its parent key columns (anything ``pa.array`` takes); a NULL in any
    of them makes the row a unit of its own (a negative id)."""
    if not keys:
        return np.arange(rows)
    codes, null = [], np.zeros(rows, dtype=bool)
    for column in keys:
        encoded = pc.dictionary_encode(pa.array(column) if not isinstance(column, (pa.Array, pa.ChunkedArray))
                                       else column)
        indices = (encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded).indices
        null |= indices.is_null().to_numpy(zero_copy_only=False)
        codes.append(indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64))
    ids = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)
    return np.where(null, -1 - np.arange(rows), ids)


def bounded(units, data, plan, max_rows: int, seed: int):
    """``data`` cut to at most ``max_rows`` rows per privacy unit when the engine gave the fit
    units (``FitContext.units``, a child table under DP), ``plan.contribution`` set; and the
    kept rows' units (None: every row is its own unit)."""
    if plan is None or units is None or len(units) != data.num_rows:
        return data, None
    kept, compact = bound_contributions(np.asarray(units), max_rows, np.random.default_rng([seed, 7]))
    plan.contribution = max_rows
    return data.take(kept), compact
