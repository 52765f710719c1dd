"""Ordered kinds (numbers, dates, times, timestamps) through their empirical distribution.

A continuous column keeps up to ``max_quantiles`` quantiles with their
normal-score levels; reverse is one ``np.interp`` in normal space, so
sampling reproduces the marginal, never leaves [min, max], and needs no CDF.
Values tied over several quantiles (zero-inflated columns) get a uniform draw
among those levels going forward, which keeps the scores exactly normal and
maps back onto the tied value.

A column with few distinct values (prices, ages, counts) is *discrete*: each
value owns a slice of [0, 1] sized by its frequency, in value order, like an
ordered category.  Reverse then never invents a price of 1.98 between 0.99
and 2.99, and every observed value, however rare, can come back.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa

from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms.base import ColumnTransform, as_array
from synthtab_db.transforms.bounds import Bounds
from synthtab_db.transforms.codecs import NUMBER_CODECS, NumberCodec, NumberDomain, number_domain
from synthtab_db.transforms.normal import CategoryIntervals, ndtri


class QuantileTransform(ColumnTransform):
    """Empirical distribution <-> standard normal, for every ordered kind."""

    name = "quantile"
    kinds = tuple(NUMBER_CODECS)
    categorical = False
    defaults = {"max_quantiles": 1000, "clip_extremes": 0}

    @property
    def codec(self) -> NumberCodec:
        return NUMBER_CODECS[self.column.type.kind]

    def _fit(self, present: pa.Array) -> None:
        numbers = self.codec.to_numbers(present)
        numbers = np.sort(numbers[np.isfinite(numbers)]) if numbers.size else np.zeros(1)
        skip = int(self.options.get("clip_extremes") or 0)
        numbers = _clip_extremes(numbers, skip)
        ends = self._table_ends(skip)
        if ends is not None:
            numbers = numbers[(numbers >= ends[0]) & (numbers <= ends[1])]
        limit = int(self.options["max_quantiles"])
        distinct, counts = np.unique(numbers, return_counts=True)
        discrete = distinct.size <= limit and 2 * distinct.size <= numbers.size
        if ends is None:
            self._set_grid(_DiscreteGrid(distinct, counts) if discrete else _ContinuousGrid(numbers, limit))
        elif discrete:  # an end the sample missed joins with the weight one record has in a sample this size
            weight = numbers.size / max(1, self.exact.rows - self.exact.nulls)
            missing = np.setdiff1d(ends, distinct)
            values = np.concatenate([distinct, missing])
            weights = np.concatenate([counts.astype(np.float64), np.full(missing.size, weight)])
            order = np.argsort(values, kind="stable")
            self._set_grid(_DiscreteGrid(values[order], weights[order]))
        else:
            self._set_grid(_ContinuousGrid(np.concatenate([ends[:1], numbers, ends[1:]]), limit))

    def _table_ends(self, skip: int) -> np.ndarray | None:
        """The whole table's smallest and largest value past the ``skip`` protected records at
        each end, when the rows are a sample of it: the output spans the table's range."""
        ends = None if self.exact is None or self.schema_only else self.exact.ends(skip)
        return None if ends is None else self.codec.to_numbers(ends)

    @classmethod
    def from_release(cls, column: Column, bounds: Bounds, values: np.ndarray, counts: np.ndarray | None,
                     **options: object) -> "QuantileTransform":
        """Built from released statistics, never from rows (differential privacy): sorted
        ``values`` with their ``counts`` (a discrete grid), or quantiles (``counts`` None)."""
        transform = cls(**options)
        transform.column, transform.bounds, transform.schema_only = column, bounds, False
        values = np.asarray(values, dtype=np.float64)
        grid = _DiscreteGrid(values, np.asarray(counts)) if counts is not None else _ContinuousGrid(values, values.size)
        transform._set_grid(grid)
        return transform

    def _set_grid(self, grid: "_ContinuousGrid | _DiscreteGrid") -> None:
        self.grid = grid
        self.domain: NumberDomain = number_domain(self.column.type, self.bounds)

    def forward(self, values: pa.Array | pa.ChunkedArray, rng: np.random.Generator | None = None) -> np.ndarray:
        array = as_array(values)
        numbers = np.full(len(array), np.nan)
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        numbers[valid] = self.grid.to_normal(self.codec.to_numbers(array.drop_null()), self._rng(rng))
        return numbers

    def reverse(self, data: np.ndarray, rng: np.random.Generator | None = None,
                nulls: np.ndarray | None = None) -> pa.Array:
        return self.codec.from_numbers(self._finish(self.grid.from_normal(np.asarray(data))), nulls)

    def _finish(self, numbers: np.ndarray) -> np.ndarray:
        """Onto the column's grid (integers, decimal scale), then into its domain."""
        if self.codec.integral:
            numbers = np.rint(numbers)
        elif self.column.type.kind is Kind.DECIMAL:
            numbers = np.round(numbers, self.column.type.scale or 0)
        return self.domain.clip(numbers)

    def _arrays(self) -> dict[str, np.ndarray]:
        return self.grid.arrays()

    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        grid = _DiscreteGrid.load(arrays) if "counts" in arrays else _ContinuousGrid.load(arrays)
        self._set_grid(grid)


class _ContinuousGrid:
    """Quantiles at probabilities (k + 0.5) / K, interpolated in normal space."""

    discrete: ClassVar[bool] = False  # no distinct values (and counts) to reach into

    def __init__(self, ordered: np.ndarray, limit: int) -> None:
        self.quantiles = _quantiles(ordered, limit)
        self.probabilities = (np.arange(self.quantiles.size) + 0.5) / self.quantiles.size
        self.levels = ndtri(self.probabilities)

    @classmethod
    def load(cls, arrays: dict[str, np.ndarray]) -> "_ContinuousGrid":
        quantiles = np.asarray(arrays["quantiles"], dtype=np.float64)
        return cls(quantiles, quantiles.size)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"quantiles": self.quantiles}

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        return np.interp(z, self.levels, self.quantiles)

    def to_normal(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Interpolate between quantiles in normal space (the exact inverse of ``from_normal``);
        a value tied over several quantiles gets a uniform draw among their probabilities."""
        q, p, last = self.quantiles, self.probabilities, self.quantiles.size - 1
        left, right = np.searchsorted(q, x, "left"), np.searchsorted(q, x, "right")
        k = np.clip(left, 1, last)
        span = q[k] - q[k - 1]
        frac = np.clip(np.divide(x - q[k - 1], span, out=np.zeros_like(x), where=span > 0), 0.0, 1.0)
        z = self.levels[k - 1] + frac * (self.levels[k] - self.levels[k - 1])
        tied = np.flatnonzero(right > left)
        low, high = p[np.minimum(left[tied], last)], p[np.clip(right[tied] - 1, 0, last)]
        z[tied] = ndtri(low + rng.random(tied.size) * (high - low))
        return z


class _DiscreteGrid:
    """Distinct values in order, each owning a slice of [0, 1] sized by its count."""

    discrete: ClassVar[bool] = True  # ``values`` and ``counts`` are there

    def __init__(self, values: np.ndarray, counts: np.ndarray) -> None:
        self.values, self.counts = values, counts
        self.intervals = CategoryIntervals(counts)

    @classmethod
    def load(cls, arrays: dict[str, np.ndarray]) -> "_DiscreteGrid":
        return cls(np.asarray(arrays["values"], dtype=np.float64), np.asarray(arrays["counts"]))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"values": self.values, "counts": self.counts}

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        return self.values[self.intervals.from_normal(z)]

    def to_normal(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A uniform point in the value's slice (an unseen value uses its nearest neighbour above)."""
        codes = np.minimum(np.searchsorted(self.values, x), self.values.size - 1)
        return self.intervals.to_normal(codes, rng)


def _clip_extremes(ordered: np.ndarray, k: int) -> np.ndarray:
    """The k smallest and k largest values moved onto the next ones inward, so no value held by
    k or fewer records at either end reaches the output (extreme-value capping without DP)."""
    if k <= 0 or ordered.size <= 2 * k:
        return ordered
    return np.clip(ordered, ordered[k], ordered[-k - 1])


def _quantiles(ordered: np.ndarray, limit: int) -> np.ndarray:
    """All values when few, else observed quantiles at the levels' probabilities with exact ends.

    At least two points, so interpolation always has a segment (a constant column repeats its value).
    """
    if ordered.size <= limit:
        return ordered if ordered.size > 1 else np.repeat(ordered, 2)
    grid = np.quantile(ordered, (np.arange(limit) + 0.5) / limit, method="inverted_cdf")
    grid[0], grid[-1] = ordered[0], ordered[-1]
    return grid
