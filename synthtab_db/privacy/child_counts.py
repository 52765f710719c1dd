"""A child table's children-per-parent counts under DP: a released histogram, not the rows.

One parent (the privacy unit of a child table) sits in exactly one bin of the
histogram of counts 0..m (m = ``max_rows_per_parent``, the same bound the
model's rows obey), and a row without a parent adds one to the NULL count: one
Gaussian mechanism of sensitivity 1, whose noise is reserved out of the
table's epsilon before the model calibrates its own (``RESERVED_SHARE``), so
the statement still spends exactly what it asked.  Conditioning the counts on
the parent's columns (strata) is left out under DP.
"""

from __future__ import annotations

import numpy as np

from synthtab_db.privacy.accountant import Gaussian, plan_for, standalone_noise
from synthtab_db.privacy.mechanisms import noisy_counts

RESERVED_SHARE = 0.1


def reserve(epsilon: float, delta: float | None, rows: int) -> Gaussian:
    """The counts release's mechanism, spending RESERVED_SHARE of epsilon on its own."""
    plan = plan_for(epsilon, delta, rows)
    return Gaussian(standalone_noise(RESERVED_SHARE * plan.epsilon, plan.rdp_delta))


def release_counts(counts: np.ndarray, null_rows: int, cap: int, mechanism: Gaussian,
                   rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(counts per released parent, NULL rate) from the noisy histogram of counts capped at ``cap``.

    A bin whose noisy count stays under twice the noise is taken as empty (post-processing:
    spurious bins would otherwise dominate a small table); if none clears it, the noisiest-
    largest bin keeps one parent."""
    histogram = np.bincount(np.minimum(counts, cap), minlength=cap + 1).astype(np.float64)
    sigma = mechanism.noise_multiplier
    noisy = np.rint(noisy_counts(np.append(histogram, null_rows), sigma, rng))
    kept = np.where(noisy >= 2.0 * sigma, noisy, 0.0)
    if not kept[:-1].any():
        kept[int(np.argmax(noisy[:-1]))] = 1.0
    parents = np.repeat(np.arange(cap + 1), kept[:-1].astype(np.int64))
    children = float(parents.sum())
    null_rate = float(kept[-1] / (kept[-1] + children)) if kept[-1] + children > 0 else 0.0
    return parents.astype(np.int64), null_rate
