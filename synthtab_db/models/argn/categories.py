"""Category columns as tokens: the shared CategoricalTransform's codes plus a NULL token.

The transform already caps the vocabulary and pools rare values into one
bucket code, so an ID-like string column (every value seen once or twice)
becomes a single token the network does not need to model, and a column
with thousands of labels costs at most ``max_categories`` logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.conditions import Condition
from synthtab_db.errors import SynthError
from synthtab_db.models.argn.restriction import Restriction, listing
from synthtab_db.planner.schema import Column
from synthtab_db.transforms import Bounds, CategoricalTransform, NullIndicator
from synthtab_db.transforms.marginals import ExactMarginal


class CategoryEncoder:
    """Codes 0..K-1 by frequency (the rare bucket among them), then NULL as token K."""

    def __init__(self, column: Column, transform: CategoricalTransform, nulls: NullIndicator) -> None:
        self.column, self.transform, self.nulls = column, transform, nulls
        self.size = len(transform.counts)
        self.vocabulary = self.size + int(nulls.active)

    @classmethod
    def fit(cls, values: pa.ChunkedArray, column: Column, bounds: Bounds, options: dict[str, Any],
            exact: ExactMarginal | None = None) -> "CategoryEncoder":
        """``exact``: the whole table's categories, frequencies and NULL rate when ``values`` are a
        sample: a category the sample missed still gets a token (engine/marginals.py)."""
        transform = CategoricalTransform(**options).fit(values, column, bounds, exact)
        return cls(column, transform, NullIndicator.fit(values, column, exact))

    @classmethod
    def from_release(cls, column: Column, release, options: dict[str, Any]) -> "CategoryEncoder":
        """From DP-released statistics (``privacy.columns.ColumnRelease``)."""
        return cls(column, release.transform, release.nulls)

    def encode(self, values: pa.ChunkedArray, rng: np.random.Generator) -> np.ndarray:
        codes = self.transform.forward(values, rng)
        return np.where(codes < 0, self.size, codes)

    def decode(self, tokens: np.ndarray, rng: np.random.Generator, restriction: Restriction | None = None) -> pa.Array:
        nulls = tokens >= self.size
        return self.transform.reverse(np.where(nulls, 0, tokens), rng, nulls)

    def prior(self) -> np.ndarray:
        """Token probabilities with no context: what a schema-only model samples."""
        present = self.transform.probabilities * (1.0 - self.nulls.rate)
        return np.append(present, self.nulls.rate) if self.nulls.active else present

    def restrict(self, condition: Condition) -> Restriction:
        if condition.is_null:
            return Restriction.tokens(self.vocabulary, [self._null_token()])
        kept = np.flatnonzero(self._matches(condition))
        if not kept.size:
            raise SynthError(f"column {self.column.name!r}: no learned value satisfies the condition; "
                             f"learned values: {listing(self._labels())}")
        return Restriction.tokens(self.vocabulary, kept)

    def _matches(self, condition: Condition) -> np.ndarray:
        """Which codes the condition allows (never the rare bucket, whose values are unknown)."""
        labels = self.transform.labels
        if condition.values is not None:
            return self._in_set(labels, condition.values)
        allowed = labels.is_valid().to_numpy(zero_copy_only=False)
        for bound, inclusive, above in ((condition.low, condition.low_inclusive, True),
                                        (condition.high, condition.high_inclusive, False)):
            if bound is not None:
                allowed &= _compare(labels, self._scalar(bound), inclusive, above)
        return allowed

    def _in_set(self, labels: pa.Array, values: tuple) -> np.ndarray:
        wanted = pa.array([self._scalar(v).as_py() for v in values], type=labels.type)
        missing = [v for v, found in zip(values, pc.is_in(wanted, value_set=labels.drop_null()).to_pylist()) if not found]
        if missing:
            raise SynthError(f"column {self.column.name!r}: {listing(missing, 5)} not among the learned values; "
                             f"allowed values: {listing(self._labels())}")
        return pc.fill_null(pc.is_in(labels, value_set=wanted), False).to_numpy(zero_copy_only=False)

    def _scalar(self, value: Any) -> pa.Scalar:
        try:
            return pa.scalar(value).cast(self.transform.labels.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            raise SynthError(f"column {self.column.name!r}: {value!r} is not a {self.column.type.sql} value") from None

    def _labels(self) -> list:
        return [v for v in self.transform.labels.to_pylist() if v is not None]

    def _null_token(self) -> int:
        if not self.nulls.active:
            raise SynthError(f"column {self.column.name!r} is never NULL in the data the model learned")
        return self.size

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = self.transform.to_state()
        return {"encoder": "category", "transform": meta, "nulls": self.nulls.to_dict()}, arrays

    @classmethod
    def from_state(cls, column: Column, bounds: Bounds, meta: dict[str, Any], arrays: dict[str, np.ndarray]):
        transform = CategoricalTransform.from_state(column, bounds, meta["transform"], arrays)
        return cls(column, transform, NullIndicator.from_dict(meta["nulls"]))


def _compare(labels: pa.Array, bound: pa.Scalar, inclusive: bool, above: bool) -> np.ndarray:
    op = {(True, True): pc.greater_equal, (True, False): pc.greater,
          (False, True): pc.less_equal, (False, False): pc.less}[(above, inclusive)]
    return pc.fill_null(op(labels, bound), False).to_numpy(zero_copy_only=False)
