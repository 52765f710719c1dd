"""Ordered kinds (numbers, dates, times, timestamps) through their empirical quantiles.

Up to ``max_quantiles`` quantiles are stored with their normal-score levels;
reverse is one ``np.interp`` in normal space, so sampling reproduces the
marginal, never leaves [min, max], and needs no CDF.  Ties (zero-inflated
columns, small integer ranges) are spread uniformly across the levels they
occupy when going forward, which keeps the normal scores exactly normal for
the model's correlation estimate and maps back onto the tied value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from synthtab_db.planner.schema import Kind
from synthtab_db.transforms.base import ColumnTransform, as_array
from synthtab_db.transforms.codecs import NUMBER_CODECS, NumberCodec, NumberDomain, number_domain
from synthtab_db.transforms.normal import ndtri


class QuantileTransform(ColumnTransform):
    """Empirical quantile function <-> standard normal."""

    name = "quantile"
    kinds = tuple(NUMBER_CODECS)
    categorical = False
    defaults = {"max_quantiles": 1000}

    @property
    def codec(self) -> NumberCodec:
        return NUMBER_CODECS[self.column.type.kind]

    def _fit(self, present: pa.Array) -> None:
        numbers = self.codec.to_numbers(present)
        self._set_grid(_quantile_grid(numbers[np.isfinite(numbers)], int(self.options["max_quantiles"])))

    def _set_grid(self, quantiles: np.ndarray) -> None:
        self.quantiles = quantiles
        self.probabilities = (np.arange(quantiles.size) + 0.5) / quantiles.size
        self.levels = ndtri(self.probabilities)
        self.domain: NumberDomain = number_domain(self.column.type, self.bounds)

    def forward(self, values: pa.Array | pa.ChunkedArray, rng: np.random.Generator | None = None) -> np.ndarray:
        array = as_array(values)
        numbers = np.full(len(array), np.nan)
        numbers[array.is_valid().to_numpy(zero_copy_only=False)] = self.codec.to_numbers(array.drop_null())
        z = _to_normal(numbers, self.quantiles, self.probabilities, self.levels, self._rng(rng))
        return np.where(np.isnan(numbers), np.nan, z)

    def reverse(self, data: np.ndarray, rng: np.random.Generator | None = None,
                nulls: np.ndarray | None = None) -> pa.Array:
        numbers = np.interp(data, self.levels, self.quantiles)
        return self.codec.from_numbers(self._finish(numbers), nulls)

    def _finish(self, numbers: np.ndarray) -> np.ndarray:
        """Onto the column's grid (integers, decimal scale), then into its domain."""
        if self.codec.integral:
            numbers = np.rint(numbers)
        elif self.column.type.kind is Kind.DECIMAL:
            numbers = np.round(numbers, self.column.type.scale or 0)
        return self.domain.clip(numbers)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"quantiles": self.quantiles}

    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        self._set_grid(np.asarray(arrays["quantiles"], dtype=np.float64))


def _quantile_grid(numbers: np.ndarray, max_quantiles: int) -> np.ndarray:
    """All sorted values when few, else quantiles at the levels' probabilities with exact ends.

    At least two points, so interpolation always has a segment (a constant column repeats its value).
    """
    ordered = np.sort(numbers) if numbers.size else np.zeros(1)
    if ordered.size <= max_quantiles:
        return ordered if ordered.size > 1 else np.repeat(ordered, 2)
    grid = np.quantile(ordered, (np.arange(max_quantiles) + 0.5) / max_quantiles)
    grid[0], grid[-1] = ordered[0], ordered[-1]
    return grid


def _to_normal(x: np.ndarray, q: np.ndarray, p: np.ndarray, levels: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """Interpolate between quantiles in normal space (the exact inverse of ``reverse``);
    a value tied over several quantiles gets a uniform draw among their probabilities."""
    last = q.size - 1
    left, right = np.searchsorted(q, x, "left"), np.searchsorted(q, x, "right")
    k = np.clip(left, 1, last)
    span = q[k] - q[k - 1]
    frac = np.clip(np.divide(x - q[k - 1], span, out=np.zeros_like(x), where=span > 0), 0.0, 1.0)
    z = levels[k - 1] + frac * (levels[k] - levels[k - 1])
    tied = np.flatnonzero(right > left)
    low, high = p[np.minimum(left[tied], last)], p[np.clip(right[tied] - 1, 0, last)]
    z[tied] = ndtri(low + rng.random(tied.size) * (high - low))
    return z
