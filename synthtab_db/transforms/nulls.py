"""Missingness as a variable of its own.

Every nullable column learns its NULL rate; a model treats "is NULL" as one
more binary column (codes 0 = NULL, 1 = present), so what goes missing
together (Adult's workclass and occupation) or with other values stays
together in the output.  NOT NULL columns never produce NULLs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from synthtab_db.planner.schema import Column
from synthtab_db.transforms.base import as_array
from synthtab_db.transforms.marginals import ExactMarginal
from synthtab_db.transforms.normal import CategoryIntervals
from synthtab_db.transforms.schema_only import schema_null_rate


class NullIndicator:
    """A column's NULL rate, and NULL flags <-> normal scores."""

    def __init__(self, rate: float = 0.0) -> None:
        self.rate = float(rate)
        self.intervals = CategoryIntervals(np.array([self.rate, 1.0 - self.rate]))

    @classmethod
    def fit(cls, values: pa.Array | pa.ChunkedArray, column: Column, exact: ExactMarginal | None = None
            ) -> "NullIndicator":
        """The observed NULL rate (the whole table's when ``exact`` is given); the schema default
        when there are no rows; 0 for NOT NULL."""
        array = as_array(values)
        if not column.nullable:
            return cls(0.0)
        if exact is not None and exact.rows:
            return cls(exact.null_rate)
        return cls(array.null_count / len(array) if len(array) else schema_null_rate(column))

    @property
    def active(self) -> bool:
        """Whether NULLs can occur at all (else the model needs no dimension for it)."""
        return 0.0 < self.rate

    def forward(self, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Codes: 0 where NULL, 1 where present."""
        return as_array(values).is_valid().to_numpy(zero_copy_only=False).astype(np.int64)

    def to_normal(self, values: pa.Array | pa.ChunkedArray, rng: np.random.Generator) -> np.ndarray:
        return self.intervals.to_normal(self.forward(values), rng)

    def from_normal(self, z: np.ndarray) -> np.ndarray:
        """The NULL mask: True where the score falls in the NULL slice."""
        return self.intervals.from_normal(z) == 0

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """An independent NULL mask, for models that do not learn missingness jointly."""
        return rng.random(n) < self.rate

    def to_dict(self) -> dict[str, Any]:
        return {"rate": self.rate}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NullIndicator":
        return cls(data["rate"])
