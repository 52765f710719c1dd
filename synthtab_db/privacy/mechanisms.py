"""DP mechanisms as small pure functions: the noise scale is always an explicit argument.

Every release here is a Gaussian mechanism on counts; the accounting of the
scale (which noise multiplier, for which sensitivity) lives in ``accountant``.
"""

from __future__ import annotations

import math

import numpy as np

from synthtab_db.transforms import ndtri

#: An empty bucket of a data-independent grid is kept with probability below this.
SPURIOUS_RATE = 1e-6


def noisy_counts(counts: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian mechanism on counts (each row adds 1 to one count of this histogram)."""
    counts = np.asarray(counts, dtype=np.float64)
    return counts + rng.normal(0.0, sigma, size=counts.shape)


def key_threshold(sigma: float, delta: float, histograms: int, contribution: int = 1) -> float:
    """Noisy-count threshold for releasing keys from a data-dependent domain.

    A key seen in one row (one unit's ``contribution`` rows) has that count; across ``histograms`` columns it passes
    with probability at most ``delta`` (union bound), which is the extra delta
    the release costs on top of the Gaussian mechanism's.
    """
    tail = max(delta / max(histograms, 1), 1e-300)
    return float(contribution) + sigma * float(-ndtri(np.array([tail]))[0])


def grid_threshold(sigma: float, contribution: int = 1) -> float:
    """Noisy-count threshold for a data-independent grid: empty buckets almost never pass,
    and a bucket holding one record passes as rarely (no privacy cost, only accuracy)."""
    return float(contribution) + sigma * float(-ndtri(np.array([SPURIOUS_RATE]))[0])


def gaussian_sigma_for(noise_multiplier: float, sensitivity: float) -> float:
    return noise_multiplier * sensitivity


def l2_sensitivity(counts_per_row: int) -> float:
    """A row adds 1 to ``counts_per_row`` counts across all histograms of a release."""
    return math.sqrt(max(counts_per_row, 1))


def noisy_matrix(total: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian mechanism on a symmetric matrix (noise drawn once per upper-triangle entry)."""
    noise = rng.normal(0.0, sigma, size=total.shape)
    upper = np.triu(noise)
    return total + upper + np.triu(upper, 1).T


def clip_rows(rows: np.ndarray, bound: float) -> np.ndarray:
    """Rows (n x d) scaled to L2 norm at most ``bound``."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows * np.minimum(1.0, bound / np.maximum(norms, 1e-12))
