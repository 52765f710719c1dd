"""Data-independent grids for released histograms: which buckets exist never depends on the rows.

A bucket survives only when its noisy count clears ``grid_threshold`` (one privacy
unit's rows alone almost never do), so a lone extreme value - a parent with a
thousand children, a ten-year gap - never reaches the output; drawing from the
surviving buckets is post-processing.
"""

from __future__ import annotations

import numpy as np

from synthtab_db.privacy.mechanisms import grid_threshold, noisy_counts


def log_edges(top: float) -> np.ndarray:
    """Bucket edges 0, 1, 2, 3, 4, 5, 6, 8, 9, 11, ... (quarter octaves) up to ``top``: a released
    count or gap comes back within a fifth of its size, however skewed; larger values are
    counted in the last bucket."""
    steps = np.arange(0.0, np.log2(max(top, 2.0)) + 0.25, 0.25)
    return np.concatenate([[0.0], np.unique(np.floor(2.0 ** steps))]).astype(np.int64)


def histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bucket [edges[i], edges[i+1]); values outside are clipped into the end buckets."""
    index = np.clip(np.searchsorted(edges, np.asarray(values), side="right") - 1, 0, edges.size - 2)
    return np.bincount(index, minlength=edges.size - 1).astype(np.float64)


def released(counts: np.ndarray, sigma: float, contribution: int, rng: np.random.Generator) -> np.ndarray:
    """The Gaussian mechanism on ``counts``; buckets under the grid threshold become 0."""
    noisy = np.rint(noisy_counts(counts, sigma, rng))
    return np.where(noisy >= grid_threshold(sigma, contribution), noisy, 0.0)


def draw(edges: np.ndarray, weights: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` integers: a bucket by its weight, then uniformly inside it."""
    bucket = rng.choice(weights.size, size=size, p=weights / weights.sum())
    low, high = edges[bucket], np.maximum(edges[bucket + 1], edges[bucket] + 1)
    return low + np.floor(rng.random(size) * (high - low)).astype(np.int64)
