"""One encoding of sampled rows, fitted on the real sample, shared by the pairwise,
utility and privacy parts so they all see the columns the same way:

- codes: small integers per column (quantile bins for numbers, top categories plus
  'other' for text; NULL its own code) for contingency tables;
- distance features: numbers as their real ECDF rank in [0, 1], categories one-hot
  scaled so a mismatch costs 1, NULL as an indicator — a mixed-type metric where
  no column dominates by its units;
- model features: raw numbers (NaN kept) and category codes for gradient boosting;
  a text column with more values than TOP is its value's rank among the real sample's
  sorted values instead (a code keeps its order, so 'A123' -> 'A' stays learnable:
  top-30 codes alone lumped all but 30 values into 'other').
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthtab_db.quality.columns import ColumnSpec
from synthtab_db.quality.sample import RAW_TEXT, Frame

BINS = 10
TOP = 30


@dataclass(frozen=True)
class Encoding:
    specs: tuple[ColumnSpec, ...]
    edges: dict[str, np.ndarray]
    sorted_real: dict[str, np.ndarray]
    categories: dict[str, list[str]]
    ordinal: dict[str, np.ndarray] = field(default_factory=dict)  # many-valued text: sorted real values

    def spec(self, name: str) -> ColumnSpec:
        return next(s for s in self.specs if s.name == name)

    def names(self, exclude: tuple[str, ...] = ()) -> list[str]:
        return [s.name for s in self.specs if s.name not in exclude]

    def n_codes(self, name: str) -> int:
        """Bins or categories, plus 'other' (text) and NULL."""
        return len(self.edges[name]) + 2 if name in self.edges else len(self.categories[name]) + 2

    def codes(self, frame: Frame, name: str) -> np.ndarray:
        values = frame.columns[name]
        if name in self.edges:
            out = np.searchsorted(self.edges[name], values, side="left")
            return np.where(np.isnan(values), len(self.edges[name]) + 1, out)
        return _category_codes(values, self.categories[name])

    def code_matrix(self, frame: Frame, names: list[str]) -> np.ndarray:
        return np.column_stack([self.codes(frame, n) for n in names]) if names else np.zeros((frame.rows, 0), int)

    def distance_features(self, frame: Frame, exclude: tuple[str, ...] = ()) -> np.ndarray:
        blocks = [self._distance_block(frame, n) for n in self.names(exclude)]
        return np.hstack(blocks) if blocks else np.zeros((frame.rows, 0))

    def _distance_block(self, frame: Frame, name: str) -> np.ndarray:
        if name in self.sorted_real:
            values = frame.columns[name]
            rank = _ecdf(self.sorted_real[name], values)
            return np.column_stack([np.nan_to_num(rank), np.isnan(values)])
        onehot = np.eye(self.n_codes(name))[self.codes(frame, name)]
        return onehot / np.sqrt(2)

    def model_features(self, frame: Frame, exclude: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
        """(X, categorical mask) for HistGradientBoosting: NaN marks NULL in both kinds."""
        names = self.names(exclude)
        columns = [self._model_column(frame, n) for n in names]
        mask = np.array([n not in self.edges and n not in self.ordinal for n in names], dtype=bool)
        return (np.column_stack(columns) if columns else np.zeros((frame.rows, 0))), mask

    def _model_column(self, frame: Frame, name: str) -> np.ndarray:
        if name in self.ordinal:
            return _ordinal(self.ordinal[name], frame.columns.get(name + RAW_TEXT, frame.columns[name]))
        if name in self.edges:
            return frame.columns[name]
        codes = self.codes(frame, name).astype(float)
        return np.where(codes == self.n_codes(name) - 1, np.nan, codes)


def fit(frame: Frame, specs: list[ColumnSpec]) -> Encoding:
    """Bins, ranks and category lists from the real sample only."""
    numeric = [s.name for s in specs if s.role == "numeric"]
    text = [s.name for s in specs if s.role != "numeric"]
    return Encoding(
        specs=tuple(specs),
        edges={n: _quantile_edges(frame.columns[n]) for n in numeric},
        sorted_real={n: np.sort(frame.columns[n][~np.isnan(frame.columns[n])]) for n in numeric},
        categories={n: _top_categories(frame.columns[n]) for n in text},
        ordinal={**{n: v for n in text if (v := _sorted_values(frame.columns[n])).size > TOP},
                 **{s.name: _sorted_values(frame.columns[s.name + RAW_TEXT]) for s in specs
                    if s.name + RAW_TEXT in frame.columns}},
    )


def _sorted_values(values: np.ndarray) -> np.ndarray:
    return np.unique(values[values != None].astype(str))  # noqa: E711 (elementwise over an object array)


def _ordinal(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's position among the sorted real values (between neighbours when unseen); NaN for NULL."""
    missing = values == None  # noqa: E711
    at = np.searchsorted(sorted_values, np.where(missing, "", values).astype(str)).astype(float)
    return np.where(missing, np.nan, at)


def _quantile_edges(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([])
    return np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1)[1:-1]))


def _top_categories(values: np.ndarray) -> list[str]:
    present = values[values != None]  # noqa: E711 (elementwise over an object array)
    labels, counts = np.unique(present.astype(str), return_counts=True)
    order = np.lexsort((labels, -counts))
    return labels[order][:TOP].tolist()


def _category_codes(values: np.ndarray, categories: list[str]) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(categories)}
    other, null = len(categories), len(categories) + 1
    return np.fromiter((null if v is None else lookup.get(v, other) for v in values), dtype=np.int64, count=len(values))


def _ecdf(sorted_real: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank of each value in the real sample, in [0, 1]; NaN stays NaN."""
    if sorted_real.size == 0:
        return np.zeros_like(values)
    left = np.searchsorted(sorted_real, values, side="left")
    right = np.searchsorted(sorted_real, values, side="right")
    rank = (left + right) / (2 * sorted_real.size)
    return np.where(np.isnan(values), np.nan, rank)
