"""A sequential child's starts and gaps under DP (readings per station, payments per rental).

Per main parent (the privacy unit) the first value is one start, and its first m
rows (m = ``max_rows_per_parent``, in time order) give at most m - 1 gaps: one
Gaussian mechanism over both histograms with L2 sensitivity sqrt(1 + (m - 1)^2).
Starts are counted in weeks from 1900 to 2100, gaps on ``grids.log_edges`` up to a century; both
grids are fixed in advance, so a planted ten-year gap or a lone start in 1950 sits
in a bucket of its own and is dropped.  Values are epoch days (dates) or
microseconds (timestamps): ``day`` is how many units make a day.
"""

from __future__ import annotations

import math

import numpy as np

from synthtab_db.privacy import grids
from synthtab_db.privacy.accountant import Gaussian

FIRST_DAY, LAST_DAY, WEEK = -25_567, 47_482, 7  # 1900-01-01 .. 2100-01-01 in days since 1970
DEFAULT_START_DAY = 10_957  # 2000-01-01: the start when no bucket survives
MAX_GAP_DAYS = 36_525  # a century: the gap grid's last bucket (a longer gap counts there)
DRAWS = 20_000  # released starts / gaps kept to sample from


def sensitivity(contribution: int) -> float:
    return math.sqrt(1.0 + max(contribution - 1, 0) ** 2)


def release_sequence(starts: np.ndarray, gaps: np.ndarray, day: int, contribution: int, mechanism: Gaussian,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(starts, gaps) to draw from; a day from 2000-01-01 where nothing survives the noise."""
    sigma = mechanism.noise_multiplier * sensitivity(contribution)
    start_edges = np.arange(FIRST_DAY, LAST_DAY + WEEK, WEEK, dtype=np.int64) * day
    released_starts = _released(starts, start_edges, sigma, contribution, rng)
    released_gaps = _released(np.maximum(gaps, 0), grids.log_edges(MAX_GAP_DAYS * day), sigma, contribution, rng)
    if released_starts is None:
        released_starts = np.array([DEFAULT_START_DAY * day], dtype=np.int64)
    if released_gaps is None:
        released_gaps = np.array([day], dtype=np.int64)
    return released_starts, released_gaps


def _released(values: np.ndarray, edges: np.ndarray, sigma: float, contribution: int,
              rng: np.random.Generator) -> np.ndarray | None:
    kept = grids.released(grids.histogram(values, edges), sigma, contribution, rng)
    if not kept.any():
        return None
    return grids.draw(edges, kept, int(min(kept.sum(), DRAWS)), rng)
