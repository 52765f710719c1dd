"""Column statistics released with differential privacy: what the models' transforms learn
from, so nothing outside a mechanism touches the rows.

One Gaussian mechanism over all columns at once (a row adds 1 to one count of
each histogram below, so the L2 sensitivity is the square root of how many
counts a row touches):

* the row count;
* categories: a count per value and one for NULL.  A schema that lists the
  values (ENUM, BOOLEAN, ``CHECK (c IN ...)``) fixes the keys; otherwise only
  values whose noisy count clears a DP threshold are kept (``key_threshold``:
  a value of a single record survives with probability below the delta share
  set aside for it), and the rest of the mass becomes the protected rare
  bucket (``rare_token``, default ``_RARE_``);
* numbers, dates, times: a histogram on a fixed signed power-of-two grid (plus
  NULL) whose outermost buckets above a threshold are the DP bounds, then a
  fine histogram inside those bounds (values clipped to them) whose noisy CDF
  gives the quantiles (or, for integers over a short range, the values and
  their counts).  A single extreme record lands in a bucket that the threshold
  drops, so it never reaches the output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.planner.schema import Column, Kind, Table
from synthtab_db.privacy.accountant import Gaussian, PrivacyPlan
from synthtab_db.privacy.mechanisms import grid_threshold, key_threshold, noisy_counts
from synthtab_db.transforms import (
    Bounds,
    CategoricalTransform,
    ColumnTransform,
    NullIndicator,
    QuantileTransform,
    arrow_type,
    as_array,
    column_bounds,
)
from synthtab_db.transforms.codecs import NUMBER_CODECS, number_domain

RARE_TOKEN = "_RARE_"
_MAGNITUDES = 2.0 ** np.arange(-16, 63)  # the coarse grid: [2^k, 2^(k+1)) on each side of 0
_FINE_BINS = 512  # bins of the fine histogram of a continuous column
_SHORT_RANGE = 2000  # an integer column over at most this many values gets a bin per value
_QUANTILES = 1000


@dataclass
class ColumnRelease:
    """A column's DP-fitted transform and NULL rate, and its released count of non-NULL values."""

    transform: ColumnTransform
    nulls: NullIndicator
    present: float


#: Share of the release's precision each query gets (a query's noise std is
#: ``noise * sqrt(total weight / weight)``): category counts and the fine
#: histogram matter most, the coarse bounds histogram only needs to find the range.
WEIGHTS = {"total": 0.5, "category": 2.0, "coarse": 0.25, "fine": 1.5}


def query_weights(columns: list[Column]) -> list[str]:
    """The queries a row touches once each: the total, one per category column, two per ordered column."""
    return ["total"] + [q for c in columns
                        for q in (("coarse", "fine") if c.type.kind in NUMBER_CODECS else ("category",))]


def release_columns(data: pa.Table, table: Table, options: dict[str, Any], plan: PrivacyPlan,
                    rng: np.random.Generator) -> dict[str, ColumnRelease]:
    """Every column of ``data`` fitted from noisy statistics; the mechanism is recorded in ``plan``.

    The queries together are one Gaussian mechanism with noise multiplier ``noise``: a row
    changes each of its queries by 1, and sum(1 / sigma_i^2) over them is 1 / noise^2.
    """
    columns = [table.column(name) for name in data.column_names]
    if not columns:
        return {}
    bounds = column_bounds(table)
    noise = plan.statistics_noise()
    plan.mechanisms.append(Gaussian(noise))
    total_weight = sum(WEIGHTS[q] for q in query_weights(columns))
    unit = plan.contribution  # a privacy unit (a parent) moves each count by up to this many rows
    sigmas = {q: unit * noise * float(np.sqrt(total_weight / w)) for q, w in WEIGHTS.items()}
    open_domains = sum(1 for c in columns if c.type.kind not in NUMBER_CODECS and _domain(c, bounds[c.name]) is None)
    if open_domains:
        plan.key_delta = plan.threshold_delta
    token = options.get("rare_token")
    options = {**options, "rare_token": RARE_TOKEN if token in (None, "<other>") else token}
    release = _Release(sigmas, key_threshold(sigmas["category"], plan.threshold_delta, open_domains, unit),
                       options, rng, unit)
    release.total = max(float(noisy_counts(np.array([data.num_rows]), sigmas["total"], rng)[0]), 1.0)
    return {c.name: release.column(data.column(c.name), c, bounds[c.name]) for c in columns}


def _kept(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """Post-processing inside known keys: a count lost in its noise (under 2 sigma) is zero."""
    return np.where(noisy >= 2.0 * sigma, noisy, 0.0)


class _Release:
    def __init__(self, sigmas: dict[str, float], key_tau: float, options: dict[str, Any],
                 rng: np.random.Generator, unit: int = 1) -> None:
        self.sigmas, self.key_tau, self.options, self.rng, self.unit = sigmas, key_tau, options, rng, unit
        self.total = 1.0

    def column(self, values: pa.ChunkedArray, column: Column, bounds: Bounds) -> ColumnRelease:
        array = as_array(values)
        numeric = column.type.kind in NUMBER_CODECS
        nulls = self._nulls(array, column, self.sigmas["fine" if numeric else "category"])
        if numeric:
            transform, present = self._numbers(array.drop_null(), column, bounds)
        else:
            transform, present = self._categories(array.drop_null(), column, bounds, nulls)
        return ColumnRelease(transform, NullIndicator(nulls / max(nulls + present, 1.0)), present)

    def _nulls(self, array: pa.Array, column: Column, sigma: float) -> float:
        """NULL is one more key of the column's histogram (a row holds a value or a NULL)."""
        if not column.nullable:
            return 0.0
        return float(_kept(noisy_counts(np.array([array.null_count]), sigma, self.rng), sigma)[0])

    # -- categories -------------------------------------------------------------------
    def _categories(self, present: pa.Array, column: Column, bounds: Bounds,
                    nulls: float) -> tuple[ColumnTransform, float]:
        values, sigma = _typed(present, column), self.sigmas["category"]
        domain = _domain(column, bounds)
        if domain is not None:
            labels, counts = domain, _counts_of(values, domain)
            noisy = _kept(noisy_counts(counts, sigma, self.rng), sigma)
            keep = noisy > 0
        else:
            labels, counts = _value_counts(values)
            noisy = noisy_counts(counts, sigma, self.rng)
            keep = noisy >= max(self.key_tau, float(self.options.get("min_count", 1)))
        labels, noisy = labels.filter(pa.array(keep)), noisy[keep]
        order = np.argsort(-noisy, kind="stable")[: int(self.options.get("max_categories", 1000))]
        labels, noisy = labels.take(pa.array(order, type=pa.int64())), noisy[order]
        rare = 0.0 if domain is not None else self.total - nulls - float(noisy.sum())
        rare = rare if rare >= 2.0 * sigma * np.sqrt(2.0 + noisy.size) else 0.0  # its noise: the total's and each count's
        if not noisy.size and rare <= 0:
            rare = 1.0  # nothing survived: every value is protected
        options = {k: v for k, v in self.options.items() if k in CategoricalTransform.defaults}
        transform = CategoricalTransform.from_counts(column, bounds, labels, noisy, rare, seed=self.options.get("seed"),
                                                     **options)
        return transform, float(noisy.sum() + rare)

    # -- numbers ----------------------------------------------------------------------
    def _numbers(self, present: pa.Array, column: Column, bounds: Bounds) -> tuple[ColumnTransform, float]:
        codec = NUMBER_CODECS[column.type.kind]
        numbers = codec.to_numbers(present) if len(present) else np.zeros(0)
        numbers = numbers[np.isfinite(numbers)]
        domain = number_domain(column.type, bounds)
        low, high = self._bounds(numbers, domain.low, domain.high)
        clipped = np.clip(numbers, low, high)
        seed = self.options.get("seed")
        if codec.integral and high - low <= _SHORT_RANGE:
            values, counts = self._integers(clipped, low, high)
            return QuantileTransform.from_release(column, bounds, values, counts, seed=seed), float(counts.sum())
        quantiles, mass = self._quantiles(clipped, low, high, codec.integral)
        return QuantileTransform.from_release(column, bounds, quantiles, None, seed=seed), mass

    def _bounds(self, numbers: np.ndarray, low: float, high: float) -> tuple[float, float]:
        """DP bounds: the outermost coarse buckets whose noisy counts clear the grid threshold,
        within the schema's domain (CHECK ranges, type limits)."""
        lows, highs = _coarse_buckets()
        counts = np.bincount(_coarse_index(numbers), minlength=lows.size)
        sigma = self.sigmas["coarse"]
        kept = np.flatnonzero(noisy_counts(counts, sigma, self.rng) >= grid_threshold(sigma, self.unit))
        if not kept.size:
            found_low, found_high = (0.0, 1.0)
        else:
            found_low, found_high = lows[kept[0]], highs[kept[-1]]
        found_low, found_high = max(found_low, low), min(found_high, high)
        return (found_low, found_high) if found_low <= found_high else (low, low)

    def _integers(self, numbers: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
        """A bin per integer value; values whose noisy count stays under the threshold are dropped."""
        start, stop = np.ceil(low), np.floor(high)
        values = np.arange(start, max(stop, start) + 1)
        counts = np.bincount((np.rint(numbers) - start).astype(np.int64).clip(0, values.size - 1),
                             minlength=values.size)
        noisy = _kept(noisy_counts(counts, self.sigmas["fine"], self.rng), self.sigmas["fine"])
        keep = noisy > 0
        if not keep.any():
            keep[np.argmax(noisy)] = True
        return values[keep], np.maximum(noisy[keep], 1e-9)

    def _quantiles(self, numbers: np.ndarray, low: float, high: float, integral: bool) -> tuple[np.ndarray, float]:
        """Quantiles from a noisy fine histogram on an asinh scale (log-like far from 0, linear near it)."""
        sigma = self.sigmas["fine"]
        bins = int(np.clip(self.total / (8.0 * sigma), 16, _FINE_BINS))  # bins well above their noise
        edges = np.sinh(np.linspace(np.arcsinh(low), np.arcsinh(high), bins + 1))
        edges[0], edges[-1] = low, high
        if integral:
            edges = np.unique(np.rint(edges))
        if edges.size < 2:
            return np.array([low, high]), 0.0
        counts = np.bincount(np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0, edges.size - 2),
                             minlength=edges.size - 1)
        noisy = _kept(noisy_counts(counts, sigma, self.rng), sigma)
        if noisy.sum() <= 0:
            return np.array([low, high]), 0.0
        return _quantiles_of(edges, noisy, integral), float(noisy.sum())


def _quantiles_of(edges: np.ndarray, counts: np.ndarray, integral: bool) -> np.ndarray:
    """Quantiles at (k + 0.5) / K of a histogram, linear inside a bin; an integer bin one wide is
    one value (so a point mass at 0 stays exactly 0)."""
    cumulative = np.concatenate([[0.0], np.cumsum(counts)])
    targets = (np.arange(_QUANTILES) + 0.5) / _QUANTILES * cumulative[-1]
    bins = np.clip(np.searchsorted(cumulative, targets, side="right") - 1, 0, counts.size - 1)
    share = (targets - cumulative[bins]) / np.maximum(counts[bins], 1e-12)
    left, right = edges[bins], edges[bins + 1]
    values = left + np.clip(share, 0.0, 1.0) * (right - left)
    if integral:
        values = np.where(right - left <= 1.0, left, values)
    return np.sort(values)


def _coarse_buckets() -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of each coarse bucket: negatives from most negative, then 0, then positives."""
    negative_low, negative_high = -_MAGNITUDES[::-1] * 2.0, -_MAGNITUDES[::-1]
    lows = np.concatenate([negative_low, [0.0], _MAGNITUDES])
    highs = np.concatenate([negative_high, [0.0], _MAGNITUDES * 2.0])
    return lows, highs


def _coarse_index(numbers: np.ndarray) -> np.ndarray:
    size = _MAGNITUDES.size
    magnitude = np.abs(numbers)
    k = np.clip(np.floor(np.log2(np.maximum(magnitude, 1e-300))) + 16, 0, size - 1).astype(np.int64)
    return np.where(magnitude < _MAGNITUDES[0], size, np.where(numbers > 0, size + 1 + k, size - 1 - k))


def _typed(values: pa.Array, column: Column) -> pa.Array:
    try:
        return values.cast(arrow_type(column.type))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return values


def _domain(column: Column, bounds: Bounds) -> pa.Array | None:
    """The values the schema allows (ENUM labels, IN lists, TRUE/FALSE): keys that cost no delta."""
    kind_type = arrow_type(column.type)
    if column.type.kind is Kind.BOOLEAN:
        return pa.array([True, False], type=kind_type)
    if bounds.values:
        try:
            return pa.array([str(v) if pa.types.is_string(kind_type) else v for v in bounds.values]).cast(kind_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
    return None


def _counts_of(values: pa.Array, domain: pa.Array) -> np.ndarray:
    index = pc.index_in(values, value_set=domain).to_numpy(zero_copy_only=False)
    index = index[~np.isnan(index)].astype(np.int64) if index.dtype.kind == "f" else index.astype(np.int64)
    return np.bincount(index, minlength=len(domain)).astype(np.float64)


def _value_counts(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    if not len(values):
        return values, np.zeros(0)
    if pa.types.is_nested(values.type):
        values = pa.array([str(v) for v in values.to_pylist()])
    counted = pc.value_counts(values)
    return counted.field("values"), counted.field("counts").to_numpy(zero_copy_only=False).astype(np.float64)
