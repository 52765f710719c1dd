"""The standard normal scale every copula-style model works on, in numpy only.

numpy has no ``ndtri``; Acklam's rational approximation (relative error about
1e-9) plus one Halley step against an exact ``erfc`` gives double precision
without making scipy a dependency.  Only fitting calls these: sampling stays in
normal space and compares against precomputed thresholds, so it needs no CDF.
"""

from __future__ import annotations

import math

import numpy as np

_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01, 1.0)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00, 1.0)
_P_LOW = 0.02425
_ERFC = np.frompyfunc(math.erfc, 1, 1)

#: Probabilities are kept this far from 0 and 1 so scores stay finite (|z| < 8.3).
EPS = 1e-16


def ndtr(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (exact, via ``math.erfc``; fitting-time use only)."""
    z = np.asarray(z, dtype=np.float64)
    return 0.5 * _ERFC(-z / math.sqrt(2.0)).astype(np.float64)


def ndtri(p: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF, vectorised; ``p`` is clipped into (0, 1)."""
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1.0 - EPS)
    lower = np.minimum(p, 1.0 - p)  # refine in the lower half, where p keeps its precision
    x = _halley(_acklam(lower), lower)
    return np.where(p > 0.5, -x, x)


def _acklam(p: np.ndarray) -> np.ndarray:
    """Three-piece rational approximation: central region and the two tails."""
    tail = np.minimum(p, 1.0 - p)
    q = np.sqrt(-2.0 * np.log(np.maximum(tail, EPS)))
    tails = np.polyval(_C, q) / np.polyval(_D, q)
    tails = np.where(p < 0.5, tails, -tails)
    r = (p - 0.5) ** 2
    central = (p - 0.5) * np.polyval(_A, r) / np.polyval(_B, r)
    return np.where(tail < _P_LOW, tails, central)


def _halley(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """One Halley step against the exact CDF (Acklam's own refinement)."""
    e = ndtr(x) - p
    u = e * math.sqrt(2.0 * math.pi) * np.exp(x * x / 2.0)
    return x - u / (1.0 + x * u / 2.0)


class CategoryIntervals:
    """Codes <-> normal scores: each code owns a slice of [0, 1] sized by its frequency.

    The standard Gaussian-copula trick for discrete columns: forward draws a
    point uniformly inside the code's slice (so the scores are exactly standard
    normal), reverse finds the slice a score lands in with one ``searchsorted``
    over precomputed normal-space thresholds.  Codes should be ordered by
    frequency so neighbouring slices hold similar mass.
    """

    def __init__(self, probabilities: np.ndarray) -> None:
        probs = np.asarray(probabilities, dtype=np.float64)
        self.probabilities = probs / probs.sum()
        self.cumulative = np.concatenate([[0.0], np.cumsum(self.probabilities)])
        self.cumulative[-1] = 1.0
        self.thresholds = ndtri(self.cumulative[1:-1])
        self._lookup: BinnedSearch | None = None  # built on the first batch big enough to pay for it

    def to_normal(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A seeded uniform point inside each code's slice, as a normal score; -1 -> NaN."""
        codes = np.asarray(codes)
        known = codes >= 0
        safe = np.where(known, codes, 0)
        u = self.cumulative[safe] + rng.random(codes.shape) * self.probabilities[safe]
        return np.where(known, ndtri(u), np.nan)

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        """The code whose slice contains ``Phi(z)``: exactly ``searchsorted``'s answer."""
        z = np.asarray(z)
        if z.dtype.kind != "f":
            z = z.astype(np.float64)
        if z.size < _LOOKUP_MIN_ROWS:
            return np.searchsorted(self.thresholds, z, side="right")
        if self.thresholds.size < _LOOKUP_MIN_THRESHOLDS:
            return _counted(self.thresholds, z)
        if self._lookup is None:
            self._lookup = BinnedSearch(self.thresholds)
        return self._lookup(z)


_LOOKUP_MIN_ROWS = 1 << 14  # below this, building the table costs more than it saves
_LOOKUP_MIN_THRESHOLDS = 8  # a search over fewer is as fast as the table
_Z_SPAN = 8.5  # scores beyond +-8.5 (p < 1e-16) land in the two end bins


def _counted(thresholds: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``searchsorted`` over a handful of thresholds as that many comparisons (NaN sorts last)."""
    codes = np.zeros(z.shape, dtype=np.intp)
    for t in thresholds:
        codes += z >= t
    codes[np.isnan(z)] = thresholds.size
    return codes


class BinnedSearch:
    """``searchsorted(thresholds, z, side="right")`` through a table over fine bins of z.

    A binary search per value costs ~15 ns in branch misses and was the copula's
    largest sampling cost; a bin's code is one multiply and one gather.  A bin is
    trusted only when no threshold lies within one bin of it (so rounding ``z`` into
    the wrong neighbour can't change the answer); values in the few other bins, and
    NaN, fall back to ``searchsorted``.  The answer is identical, not approximate.
    """

    def __init__(self, thresholds: np.ndarray) -> None:
        self.thresholds = thresholds
        self.bins = int(np.clip(64 * (thresholds.size + 1), 4096, 1 << 20))
        self.scale = self.bins / (2 * _Z_SPAN)
        edges = np.linspace(-_Z_SPAN, _Z_SPAN, self.bins + 1)
        widened = np.concatenate([[-np.inf], edges, [np.inf]])  # bin i spans edges i-1 .. i+2, widened
        low = np.searchsorted(thresholds, widened[:-3], side="right")
        high = np.searchsorted(thresholds, widened[3:], side="right")
        self.table = np.where(low == high, low, -1).astype(np.intp)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        position = np.clip((z + _Z_SPAN) * self.scale, 0, self.bins - 1)
        missing = np.isnan(z)
        position[missing] = 0
        codes = self.table[position.astype(np.intp)]
        unsure = np.flatnonzero((codes < 0) | missing)
        if unsure.size:
            codes[unsure] = np.searchsorted(self.thresholds, z[unsure], side="right")
        return codes
