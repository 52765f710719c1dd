"""The budget of a table's side statistics under DP, and its two smallest releases.

Besides its model, a table's generation learns a few numbers from the source:
its row count, a NULL rate per self-reference, the share of rows that copy a key
from their main parent, the counts of its other FKs, the gaps of a sequence.
Under DP each is one Gaussian mechanism on counts.  Together they get noise that
alone would spend ``SIDE_SHARE`` of the table's epsilon: one Gaussian of noise
multiplier z split into k releases by weight (the row count, which every table
has and its children's sizes follow, weighs more; Rényi DP adds up to that of the
single one), reserved before the model calibrates its own
noise, so the statement still spends exactly what it asked.

A release's noise std is its mechanism's noise multiplier times its L2
sensitivity: what one privacy unit (a row, or a main parent with at most
``max_rows_per_parent`` rows) can change.
"""

from __future__ import annotations

import math

import numpy as np

from synthtab_db.privacy.accountant import Gaussian, plan_for, standalone_noise
from synthtab_db.privacy.mechanisms import noisy_counts

SIDE_SHARE = 0.1


def reserve(epsilon: float, delta: float | None, rows: int, weights: list[float]) -> list[Gaussian]:
    """One mechanism per release, together spending SIDE_SHARE of epsilon alone: release j of
    weight w_j gets noise z * sqrt(W / w_j) (W the weights' sum), so sum_j 1/z_j^2 = 1/z^2."""
    if not weights:
        return []
    plan = plan_for(epsilon, delta, rows)
    noise = standalone_noise(SIDE_SHARE * plan.epsilon, plan.rdp_delta)
    total = float(sum(weights))
    return [Gaussian(noise * math.sqrt(total / w)) for w in weights]


def release_count(count: int, contribution: int, mechanism: Gaussian, rng: np.random.Generator) -> int:
    """A row count (a unit adds up to ``contribution`` rows), rounded, at least 1."""
    noisy = noisy_counts(np.array([count]), mechanism.noise_multiplier * contribution, rng)[0]
    return max(1, int(round(float(noisy))))


def release_share(hits: int, misses: int, contribution: int, mechanism: Gaussian,
                  rng: np.random.Generator) -> float | None:
    """hits / (hits + misses) from the two noisy counts (a unit's rows fall in either, so the
    pair moves by at most ``contribution`` in L2); None when the noise swamps them both."""
    sigma = mechanism.noise_multiplier * contribution
    noisy = np.maximum(noisy_counts(np.array([hits, misses]), sigma, rng), 0.0)
    if noisy.sum() < 2.0 * sigma:
        return None
    return float(noisy[0] / noisy.sum())
