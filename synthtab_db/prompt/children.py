"""Children per parent that vary as in real data: some customers order once, a few often.

Schema-only generation spreads children evenly over parents (it has no counts to
learn).  Here each parent gets a weight from a Gamma(2) draw and every child row
of a single-column FK picks its parent by weight, so counts per parent spread out
(a mean of rows/parents, some parents without children).  An FK column inside a
key is left alone: moving it could make the key collide.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.planner.schema import ForeignKey, Table

GAMMA_SHAPE = 2.0  # smaller: more skew; 2 gives a coefficient of variation of about 0.7


def movable(table: Table, fk: ForeignKey) -> bool:
    keyed = {c.lower() for key in table.keys for c in key.columns}
    return len(fk.columns) == 1 and fk.columns[0].lower() not in keyed and not table.is_self_reference(fk)


def spread_children(table: Table, data: pa.Table, parents: dict[str, pa.Table], rng: np.random.Generator) -> pa.Table:
    """``parents``: generated parent tables by lower-cased name."""
    for fk in table.foreign_keys:
        parent = parents.get(fk.ref_table.name.lower())
        if parent is not None and parent.num_rows and movable(table, fk):
            data = _reassign(data, fk, parent.column(fk.ref_columns[0]), rng)
    return data


def _reassign(data: pa.Table, fk: ForeignKey, keys: pa.ChunkedArray, rng: np.random.Generator) -> pa.Table:
    weights = rng.gamma(GAMMA_SHAPE, 1.0, len(keys))
    chosen = pc.take(keys, pa.array(rng.choice(len(keys), size=data.num_rows, p=weights / weights.sum())))
    index = data.schema.get_field_index(fk.columns[0])
    old = data.column(index)
    kept = pc.if_else(pc.is_null(old), pa.nulls(len(old), old.type), pc.cast(chosen, old.type))
    return data.set_column(index, data.schema.field(index), kept)
