"""A column's whole-table statistics, for a model that learns from a sample.

A model fits on at most ``train_rows`` rows (engine/sample.py), but some things
must not carry the sample's error: the NULL rate, which categories exist and how
often (up to the vocabulary cap), and how far an ordered column reaches.  The
engine computes them by SQL over the whole table (engine/marginals.py) and hands
them to the fit in its ``FitContext``; a transform that gets one uses it instead
of what the sample shows.  Nothing here reads a database.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

#: the ends are fetched this deep, so extreme-value protection (``clip_extremes`` = k) can skip k
ENDS = 64


@dataclass(frozen=True)
class ExactMarginal:
    rows: int  # the whole table's rows
    nulls: int
    values: pa.Array | None = None  # a categorical column's values, most frequent first (up to a cap)
    counts: np.ndarray | None = None  # ... and their counts
    beyond: int = 0  # rows whose value is past the cap: they join the rare bucket
    smallest: pa.Array | None = None  # an ordered column's ENDS + 1 smallest values, ascending
    largest: pa.Array | None = None  # ... and largest, descending

    @property
    def null_rate(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0

    def ends(self, skip: int) -> pa.Array | None:
        """[smallest, largest] once ``skip`` records at each end are set aside (the
        extreme-value protection); None when the table is too small to know."""
        if self.smallest is None or self.largest is None or skip >= min(len(self.smallest), len(self.largest)):
            return None
        return pa.concat_arrays([self.smallest.slice(skip, 1), self.largest.slice(skip, 1)])
