"""Numbers, dates, times and timestamps as quantile-bin tokens plus a value drawn inside the bin.

The shared QuantileTransform learns the column's empirical distribution; its
CDF value ``u`` (through the normal score it produces) places each row in one
of up to ``max_bins`` equal-mass bins, so every bin is learned from as many
rows and the tails get the same resolution as the bulk.  Decoding draws ``u``
uniformly inside the sampled bin and reverses it through the transform, which
interpolates between its 1,000 quantiles: the within-bin distribution is the
empirical one, and values never leave the observed range.

A column with few distinct values (ages, counts, prices) gets a token per value
(or, past ``max_bins`` values, per run of neighbouring values holding about
1/``max_bins`` of the mass, a value never split across tokens), so the network
learns exact values: education_num stays tied to education.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import torch

from synthtab_db.conditions import Condition
from synthtab_db.errors import SynthError
from synthtab_db.models.argn.restriction import Restriction, listing
from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms import Bounds, NullIndicator, QuantileTransform, as_array
from synthtab_db.transforms.marginals import ExactMarginal

_INSIDE = 1e-6  # draws stay this share of a bin's width away from its edges


class NumberEncoder:
    """Bins 0..K-1 over the CDF, then NULL as token K."""

    def __init__(self, column: Column, transform: QuantileTransform, nulls: NullIndicator, edges: np.ndarray) -> None:
        self.column, self.transform, self.nulls = column, transform, nulls
        self.edges = np.asarray(edges, dtype=np.float64)
        self.size = self.edges.size - 1
        self.vocabulary = self.size + int(nulls.active)
        self.discrete = transform.grid.discrete
        if self.discrete:  # each distinct value: its CDF slice, its bin, a normal score inside it
            self.cumulative = transform.grid.intervals.cumulative
            self.value_bins = np.searchsorted(self.edges, self.cumulative[:-1], side="right") - 1
            self.value_scores = ndtri((self.cumulative[:-1] + self.cumulative[1:]) / 2)

    @classmethod
    def fit(cls, values: pa.ChunkedArray, column: Column, bounds: Bounds, options: dict[str, Any],
            exact: ExactMarginal | None = None) -> "NumberEncoder":
        """``exact``: the whole table's NULL rate and ends (min/max) when ``values`` are a sample."""
        transform = QuantileTransform(seed=options.get("seed"), clip_extremes=options.get("clip_extremes", 0)).fit(
            values, column, bounds, exact)
        present = len(values) - values.null_count
        bins = int(np.clip(present // 20, 2, options["max_bins"]))
        return cls(column, transform, NullIndicator.fit(values, column, exact), _edges(transform, bins))

    @classmethod
    def from_release(cls, column: Column, release, options: dict[str, Any]) -> "NumberEncoder":
        """From DP-released statistics (``privacy.columns.ColumnRelease``): the bin count follows
        the released count of values, not the rows."""
        bins = int(np.clip(release.present // 20, 2, options["max_bins"]))
        return cls(column, release.transform, release.nulls, _edges(release.transform, bins))

    def encode(self, values: pa.ChunkedArray, rng: np.random.Generator) -> np.ndarray:
        array = as_array(values)
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        tokens = np.full(len(array), self.size, dtype=np.int64)
        if self.discrete:
            numbers = self.transform.codec.to_numbers(array.drop_null())
            index = np.clip(np.searchsorted(self.transform.grid.values, numbers), 0, self.value_bins.size - 1)
            tokens[valid] = self.value_bins[index]
        else:
            u = ndtr(self.transform.forward(array, rng)[valid])
            tokens[valid] = np.clip((u * self.size).astype(np.int64), 0, self.size - 1)
        return tokens

    def decode(self, tokens: np.ndarray, rng: np.random.Generator, restriction: Restriction | None = None) -> pa.Array:
        nulls = tokens >= self.size
        bins = np.where(nulls, 0, tokens)
        low, high = self.edges[bins], self.edges[bins + 1]
        if restriction is not None:
            low, high = np.maximum(low, restriction.u_low), np.minimum(high, restriction.u_high)
            high = np.maximum(low, high)
        u = low + (high - low) * rng.uniform(_INSIDE, 1.0 - _INSIDE, size=bins.size)
        scores = self._scores(u)
        values = self.transform.reverse(scores, rng, nulls if nulls.any() else None)
        return values if restriction is None else self._finish(values, restriction, nulls)

    def _scores(self, u: np.ndarray) -> np.ndarray:
        """Normal scores for CDF values: a discrete column's scores sit mid-slice, so a value is exact."""
        if not self.discrete:
            return ndtri(u)
        index = np.clip(np.searchsorted(self.cumulative, u, side="right") - 1, 0, self.value_scores.size - 1)
        return self.value_scores[index]

    def prior(self) -> np.ndarray:
        present = np.diff(self.edges) * (1.0 - self.nulls.rate)
        return np.append(present, self.nulls.rate) if self.nulls.active else present

    # -- conditions ---------------------------------------------------------------------
    def restrict(self, condition: Condition) -> Restriction:
        if condition.is_null:
            if not self.nulls.active:
                raise SynthError(f"column {self.column.name!r} is never NULL in the data the model learned")
            return Restriction.tokens(self.vocabulary, [self.size])
        if condition.values is not None:
            return self._restrict_values(np.array([self._number(v) for v in condition.values]))
        return self._restrict_range(condition)

    def _restrict_values(self, numbers: np.ndarray) -> Restriction:
        """= / IN: the bins holding the values (weighted by their mass when bins hold several)."""
        if self.discrete:
            known = np.isin(numbers, self.transform.grid.values)
            if not known.all():
                raise SynthError(f"column {self.column.name!r}: {listing(self._typed(numbers[~known]), 5)} never "
                                 f"occurs in the learned data; learned values: {listing(self._learned_values())}")
            index = np.searchsorted(self.transform.grid.values, numbers)
            mass = np.bincount(self.value_bins[index], np.diff(self.cumulative)[index], minlength=self.size)
            bins = np.flatnonzero(mass)
            weights = mass[bins] / np.diff(self.edges)[bins]
        else:
            for number in numbers:
                self._check_inside(number, number)
            u = ndtr(self.transform.grid.to_normal(numbers, np.random.default_rng(0)))
            bins, weights = np.unique(np.clip((u * self.size).astype(np.int64), 0, self.size - 1)), None
        return Restriction.tokens(self.vocabulary, bins, weights, values=np.unique(numbers))

    def _restrict_range(self, condition: Condition) -> Restriction:
        """A range: the bins it overlaps, each weighted by the share of its mass inside."""
        low = None if condition.low is None else self._number(condition.low)
        high = None if condition.high is None else self._number(condition.high)
        low = None if low is None else self._inside(low, condition.low_inclusive, +1)
        high = None if high is None else self._inside(high, condition.high_inclusive, -1)
        u_low, u_high = self._cdf_range(low, high)
        overlap = np.minimum(self.edges[1:], u_high) - np.maximum(self.edges[:-1], u_low)
        share = np.clip(overlap, 0.0, None) / np.maximum(np.diff(self.edges), 1e-300)
        bins = np.flatnonzero(share > 0)
        return Restriction.tokens(self.vocabulary, bins, share[bins], u_low=u_low, u_high=u_high, low=low, high=high)

    def _cdf_range(self, low: float | None, high: float | None) -> tuple[float, float]:
        """The slice of the CDF whose values lie in [low, high]; SynthError when it is empty."""
        if self.discrete:
            values = self.transform.grid.values
            inside = np.flatnonzero((values >= (-np.inf if low is None else low)) &
                                    (values <= (np.inf if high is None else high)))
            if not inside.size:
                raise SynthError(f"column {self.column.name!r}: no learned value lies in the condition's range; "
                                 f"learned values: {listing(self._learned_values())}")
            return float(self.cumulative[inside[0]]), float(self.cumulative[inside[-1] + 1])
        self._check_inside(low, high)
        return self._cdf(low, 0.0), self._cdf(high, 1.0)

    def _cdf(self, bound: float | None, default: float) -> float:
        """The CDF at a bound: 0 or 1 outside the learned range, the transform's inside it."""
        quantiles = self.transform.grid.quantiles
        if bound is None:
            return default
        if not quantiles[0] < bound < quantiles[-1]:
            return 0.0 if bound <= quantiles[0] else 1.0
        return float(ndtr(self.transform.grid.to_normal(np.array([bound]), np.random.default_rng(0)))[0])

    def _check_inside(self, low: float | None, high: float | None) -> None:
        first, last = self.transform.grid.quantiles[0], self.transform.grid.quantiles[-1]
        if (low is not None and low > last) or (high is not None and high < first) or \
                (low is not None and high is not None and low > high):
            raise SynthError(f"column {self.column.name!r}: the condition lies outside the learned range "
                             f"{listing(self._typed(np.array([first, last])))}")

    def _finish(self, values: pa.Array, restriction: Restriction, nulls: np.ndarray) -> pa.Array:
        """Snap onto the = / IN values, or clip into the range (a bin's edge may stray by rounding)."""
        if restriction.values is None and restriction.low is None and restriction.high is None:
            return values
        codec = self.transform.codec
        numbers = codec.to_numbers(values)
        if restriction.values is not None:
            numbers = _snap(numbers, restriction.values)
        numbers = np.clip(numbers, -np.inf if restriction.low is None else restriction.low,
                          np.inf if restriction.high is None else restriction.high)
        return codec.from_numbers(numbers, nulls if nulls.any() else None)

    def _number(self, value: Any) -> float:
        try:
            return float(self.transform.codec.parse(value))
        except (TypeError, ValueError):
            raise SynthError(f"column {self.column.name!r}: {value!r} is not a {self.column.type.sql} value") from None

    def _inside(self, bound: float, inclusive: bool, direction: int) -> float:
        """An exclusive bound as the nearest representable value inside it."""
        if inclusive:
            return bound
        if self.transform.codec.integral:
            return bound + direction
        if self.column.type.kind is Kind.DECIMAL:
            return bound + direction * 10.0 ** -(self.column.type.scale or 0)
        return float(np.nextafter(bound, direction * np.inf))

    def _learned_values(self) -> list:
        return self._typed(self.transform.grid.values)

    def _typed(self, numbers: np.ndarray) -> list:
        return self.transform.codec.from_numbers(np.asarray(numbers, dtype=np.float64)).to_pylist()

    # -- persistence --------------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self.transform.to_state()
        return {"encoder": "number", "transform": meta, "nulls": self.nulls.to_dict()}, {**arrays, "edges": self.edges}

    @classmethod
    def from_state(cls, column: Column, bounds: Bounds, meta: dict[str, Any], arrays: dict[str, np.ndarray]):
        arrays = dict(arrays)
        edges = arrays.pop("edges")
        transform = QuantileTransform.from_state(column, bounds, meta["transform"], arrays)
        return cls(column, transform, NullIndicator.from_dict(meta["nulls"]), edges)


def _edges(transform: QuantileTransform, bins: int) -> np.ndarray:
    """Equal-mass bin edges on the CDF; for discrete values, edges only between values."""
    if not transform.grid.discrete:
        return np.linspace(0.0, 1.0, bins + 1)
    cumulative = transform.grid.intervals.cumulative
    if cumulative.size - 1 <= bins:
        return cumulative.copy()
    middles = (cumulative[:-1] + cumulative[1:]) / 2
    group = np.floor(middles * bins)
    starts = np.flatnonzero(np.diff(group, prepend=-1.0) > 0)
    return np.append(cumulative[starts], 1.0)


def _snap(numbers: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Each number onto the nearest allowed value (``allowed`` sorted)."""
    right = np.clip(np.searchsorted(allowed, numbers), 0, allowed.size - 1)
    left = np.clip(right - 1, 0, allowed.size - 1)
    return np.where(np.abs(numbers - allowed[left]) <= np.abs(allowed[right] - numbers), allowed[left], allowed[right])


def ndtr(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (torch's, vectorised and exact enough in float64)."""
    return torch.special.ndtr(torch.from_numpy(np.ascontiguousarray(z, dtype=np.float64))).numpy()


def ndtri(u: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF; fast where ``transforms.ndtri`` (pure numpy) is exact but slow."""
    u = np.clip(np.asarray(u, dtype=np.float64), 1e-16, 1.0 - 1e-16)
    return torch.special.ndtri(torch.from_numpy(np.ascontiguousarray(u))).numpy()
