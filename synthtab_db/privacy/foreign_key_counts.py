"""A child's *other* FKs under DP: children per parent and the NULL rate, from a noisy histogram.

The main FK fixes which parent a row's privacy unit is (``child_counts``); another
FK (payment -> staff) spreads a unit's rows (at most m = ``max_rows_per_parent``)
over parents of its own.  Removing a unit takes r NULL keys and m - r keyed rows:
the NULL and keyed counts move by (r, m - r), at most m - r parents change bucket
(two buckets each), and the unit's own parent row leaves the histogram when both
FKs point at one table: L2 sensitivity sqrt(3 m^2 + 1).  Buckets are the
data-independent ``grids.log_edges``, so skew survives and a single heavy parent
(bounded to m rows anyway) does not.
"""

from __future__ import annotations

import math

import numpy as np

from synthtab_db.privacy import grids
from synthtab_db.privacy.accountant import Gaussian
from synthtab_db.privacy.side_statistics import release_share

MAX_COUNT = 2.0 ** 40  # the grid's last bucket: children per parent beyond it count there


def sensitivity(contribution: int) -> float:
    return math.sqrt(3.0 * contribution ** 2 + 1.0)


def release_fk_counts(counts: np.ndarray, null_rows: int, contribution: int, mechanism: Gaussian,
                      rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(a count per released parent, NULL rate).  With nothing above the noise every parent
    weighs the same, and the NULL rate is 0: defaults that depend on no row."""
    scale = sensitivity(contribution)
    edges = grids.log_edges(MAX_COUNT)
    kept = grids.released(grids.histogram(counts, edges), mechanism.noise_multiplier * scale, contribution, rng)
    if kept.any():
        parents = grids.draw(edges, kept, int(kept.sum()), rng)
    else:
        parents = np.ones(1, dtype=np.int64)
    present = int(np.sum(counts))
    rate = release_share(null_rows, present, 1, Gaussian(mechanism.noise_multiplier * scale), rng)
    return parents.astype(np.int64), 0.0 if rate is None else rate
