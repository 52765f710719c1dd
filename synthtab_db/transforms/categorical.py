"""Categories (strings, ENUMs, UUIDs, booleans, whole lists, ...) as frequency-ordered codes.

Code 0 is the most frequent category.  At most ``max_categories`` are kept;
categories seen fewer than ``min_count`` times (and those past the cap) are
pooled into one *rare* bucket that is itself a code, placed by its total
frequency.  Reversing the bucket draws from the pooled values by frequency,
or, with ``protect_rare``, emits values no single record can be traced to: a
protected token for strings, schema-drawn values for other kinds.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms.base import ColumnTransform, as_array
from synthtab_db.transforms.bounds import Bounds
from synthtab_db.transforms.codecs import arrow_type
from synthtab_db.transforms.schema_only import schema_values
from synthtab_db.transforms.state import arrow_from_numpy, arrow_to_numpy

CATEGORY_KINDS = (Kind.STRING, Kind.ENUM, Kind.UUID, Kind.BOOLEAN, Kind.LIST,
                  Kind.JSON, Kind.BLOB, Kind.INTERVAL)


class CategoricalTransform(ColumnTransform):
    """Values <-> codes ordered by frequency, with a pooled rare bucket."""

    name = "categorical"
    kinds = CATEGORY_KINDS
    categorical = True
    defaults = {"max_categories": 1000, "min_count": 5, "protect_rare": False,
                "rare_token": "<other>", "max_rare_values": 10_000}

    def _fit(self, present: pa.Array) -> None:
        exact = self.exact
        if exact is not None and exact.values is not None and not self.schema_only:
            uniques, counts, beyond = self._normalise(exact.values), exact.counts, exact.beyond
        else:
            (uniques, counts), beyond = _value_counts(self._normalise(present)), 0
        keep = self._kept(counts)
        rare = counts[~keep]
        self._set_categories(uniques.filter(pa.array(keep)), counts[keep], uniques.filter(pa.array(~keep)), rare,
                             bucket=float(rare.sum() + beyond) if beyond else None)

    def _kept(self, counts: np.ndarray) -> np.ndarray:
        """The most frequent categories (counts arrive sorted), at least ``min_count`` rows each."""
        min_count = 0 if self.schema_only else int(self.options["min_count"])
        ranks = np.arange(counts.size)
        return (ranks < int(self.options["max_categories"])) & (counts >= min_count)

    @classmethod
    def from_counts(cls, column: Column, bounds: Bounds, labels: pa.Array, counts: np.ndarray,
                    rare_mass: float, **options: Any) -> "CategoricalTransform":
        """Built from released counts, never from rows (differential privacy): the rare bucket
        has a mass but no values, so it always reverses to protected values."""
        transform = cls(**{**options, "protect_rare": True})
        transform.column, transform.bounds, transform.schema_only = column, bounds, False
        transform._set_categories(labels, np.asarray(counts, dtype=np.float64), labels[:0], np.zeros(0),
                                  bucket=rare_mass)
        return transform

    def _set_categories(self, kept: pa.Array, kept_counts: np.ndarray,
                        rare: pa.Array, rare_counts: np.ndarray, bucket: float | None = None) -> None:
        """Codes for the kept labels plus the bucket, all sorted by frequency."""
        limit = int(self.options["max_rare_values"])
        self.rare_values, self.rare_counts = rare[:limit], rare_counts[:limit]
        bucket = float(rare_counts.sum()) if bucket is None else float(bucket)
        counts = np.concatenate([kept_counts, [bucket] if bucket else []]).astype(np.float64)
        order = np.argsort(-counts, kind="stable")
        self.counts = counts[order]
        self.rare_code = int(np.flatnonzero(order == kept_counts.size)[0]) if bucket else -1
        slots = [None if i == kept_counts.size else int(i) for i in order]
        self.labels = kept.take(pa.array(slots, type=pa.int64()))

    @property
    def probabilities(self) -> np.ndarray:
        return self.counts / self.counts.sum()

    def forward(self, values: pa.Array | pa.ChunkedArray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Codes; values outside the vocabulary go to the rare bucket (or the top code); NULL -> -1."""
        array = self._normalise(as_array(values))
        codes = pc.index_in(_keys(array), value_set=_keys(self.labels.drop_null()))
        positions = np.flatnonzero(self.labels.is_valid().to_numpy(zero_copy_only=False))
        lookup = np.append(positions, max(self.rare_code, 0))  # the last entry: "not a kept label"
        found = codes.to_numpy(zero_copy_only=False)
        codes = lookup[np.where(np.isnan(found), positions.size, found).astype(np.int64)]
        return np.where(array.is_null().to_numpy(zero_copy_only=False), -1, codes).astype(np.int64)

    def reverse(self, data: np.ndarray, rng: np.random.Generator | None = None,
                nulls: np.ndarray | None = None, encoded: bool = False) -> pa.Array:
        """``encoded``: string values as a dictionary array (codes + labels), no per-row copy of
        the strings; DuckDB reads it as VARCHAR (the engine's insert path asks for it)."""
        codes = np.asarray(data, dtype=np.int64)
        missing = codes < 0 if nulls is None else (codes < 0) | nulls
        codes = np.where(missing, 0, codes)
        pool, index = self.labels, codes
        if self.rare_code >= 0:
            rare_rows = np.flatnonzero((codes == self.rare_code) & ~missing)
            extra = self._rare_values(rare_rows.size, self._rng(rng))
            pool = pa.concat_arrays([self.labels, extra.cast(self.labels.type)])
            index = codes.copy()
            index[rare_rows] = len(self.labels) + np.arange(rare_rows.size)
        mask = missing if missing.any() else None
        if encoded and pa.types.is_string(pool.type) and len(pool) < 2**31:
            return pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32), mask=mask), pool)
        return pool.take(pa.array(index, mask=mask))

    def _rare_values(self, n: int, rng: np.random.Generator) -> pa.Array:
        if self.options["protect_rare"] and not self.schema_only:
            return _PROTECTED.get(self.column.type.kind, _schema_drawn)(self, n, rng)
        weights = self.rare_counts / self.rare_counts.sum()
        return self.rare_values.take(pa.array(rng.choice(len(self.rare_values), size=n, p=weights)))

    def _normalise(self, values: pa.Array) -> pa.Array:
        """Decode dictionaries and widen types, so labels have the column's output type."""
        try:
            return values.cast(arrow_type(self.column.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return values

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"labels": arrow_to_numpy(self.labels), "counts": self.counts,
                "rare_values": arrow_to_numpy(self.rare_values), "rare_counts": self.rare_counts,
                "rare_code": np.array([self.rare_code])}

    def _load(self, arrays: dict[str, np.ndarray]) -> None:
        self.labels, self.counts = arrow_from_numpy(arrays["labels"]), np.asarray(arrays["counts"])
        self.rare_values = arrow_from_numpy(arrays["rare_values"])
        self.rare_counts = np.asarray(arrays["rare_counts"])
        self.rare_code = int(arrays["rare_code"][0])


def _value_counts(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Distinct values (typed) and their counts, most frequent first (ties: first seen first)."""
    keys = _keys(values)
    counted = pc.value_counts(keys)
    first_seen = pc.index_in(counted.field("values"), value_set=keys)
    counts = counted.field("counts").to_numpy(zero_copy_only=False)
    order = np.argsort(-counts, kind="stable")
    return values.take(first_seen.take(pa.array(order))), counts[order]


def _keys(values: pa.Array) -> pa.Array:
    """Something Arrow can hash: the values themselves, or canonical JSON for nested types."""
    if pa.types.is_nested(values.type) or pa.types.is_interval(values.type):
        return pa.array([None if v is None else json.dumps(v, default=str) for v in values.to_pylist()],
                        type=pa.string())
    return values


def _protected_token(transform: CategoricalTransform, n: int, rng: np.random.Generator) -> pa.Array:
    """One token for every rare string (an IN-set value when the column has one)."""
    if transform.bounds.values:
        return _schema_drawn(transform, n, rng)
    token = str(transform.options["rare_token"])[: transform.bounds.max_length]
    return pa.array(np.full(n, token, dtype=object), type=pa.string())


def _schema_drawn(transform: CategoricalTransform, n: int, rng: np.random.Generator) -> pa.Array:
    """Values drawn from the type alone (fresh UUIDs, ENUM labels, ...): nothing from the data."""
    return schema_values(transform.column.type, transform.bounds, n, rng)


_PROTECTED: dict[Kind, Callable[[CategoricalTransform, int, np.random.Generator], pa.Array]] = {
    Kind.STRING: _protected_token,
}
