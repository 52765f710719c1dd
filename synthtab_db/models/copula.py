"""Gaussian copula: the fast baseline synthesizer, numpy only.

Every column goes to standard-normal scores through its shared transform
(quantiles for ordered kinds; frequency-ordered category slices of [0, 1] for
the rest), and every nullable column adds one more dimension for "is NULL",
so missingness correlates with the other columns like any variable.  The
model is then just the correlation matrix of those scores.  Sampling draws
N(0, R) through its Cholesky factor and reverses each column with one
``np.interp`` or ``np.searchsorted`` plus an Arrow ``take``: no Python loop
over rows, about a million Adult rows a second.

Persistence is ``np.savez`` of plain arrays plus a JSON header (no pickle).
"""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import Field

from synthtab_db.errors import SynthError
from synthtab_db.models.base import Synthesizer
from synthtab_db.models.context import joint, require_context
from synthtab_db.models.copula_private import STATISTICS_SHARE, fit_private
from synthtab_db.models.fit_context import FitContext
from synthtab_db.models.options import ModelOptions
from synthtab_db.models.registry import register
from synthtab_db.models.serialize import json_default
from synthtab_db.planner.schema import Column, Table
from synthtab_db.privacy.options import PrivacyOptions
from synthtab_db.privacy.units import bounded
from synthtab_db.transforms import (
    CategoryIntervals,
    ColumnTransform,
    NullIndicator,
    column_bounds,
    default_transform,
    get_transform,
)

_FORMAT = 1
_CHUNK_ROWS = 1 << 18  # rows per block: bounds memory, keeps the caches warm
_THREADS = 2  # blocks run in parallel: numpy's RNG, matmul, interp, searchsorted and Arrow take release the GIL


class _ColumnCodec:
    """One column's path between Arrow values and its normal-score dimensions."""

    def __init__(self, transform: ColumnTransform, nulls: NullIndicator) -> None:
        self.transform, self.nulls = transform, nulls
        self.intervals = CategoryIntervals(transform.probabilities) if transform.categorical else None
        self.width = 1 + nulls.active

    def to_normal(self, values: pa.ChunkedArray, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
        """(scores, what they encode) per dimension: the values (NaN where NULL), then the NULL flag.

        What the scores encode (codes, numbers, flags) tells which scores were
        drawn at random inside one value's slice; see ``_attenuation``.
        """
        forward = self.transform.forward(values, rng)
        main = forward if self.intervals is None else self.intervals.to_normal(forward, rng)
        dims = [(main, forward), (self.nulls.to_normal(values, rng), self.nulls.forward(values))]
        return dims[: self.width]

    def from_normal(self, scores: np.ndarray, rng: np.random.Generator, encoded: bool = False) -> pa.Array:
        mask = self.nulls.from_normal(scores[1]) if self.nulls.active else None
        if self.intervals is None:
            return self.transform.reverse(scores[0], rng, mask)
        return self.transform.reverse(self.intervals.from_normal(scores[0]), rng, mask, encoded=encoded)


class CopulaOptions(ModelOptions, PrivacyOptions):
    """WITH options of USING copula (seed comes from the statement's common options)."""

    shrinkage: float = Field(0.01, ge=0.0, le=1.0, description="pull of the correlations toward independence")
    max_categories: int = Field(1000, ge=2, description="categories kept per column; the rest are pooled")


@register
class GaussianCopula(Synthesizer):
    """Per-column marginals joined by one correlation matrix of normal scores."""

    name = "copula"
    preference = 10
    options_model = CopulaOptions
    dp_mechanism = "noisy column statistics + noisy correlations"
    dp_statistics_share = STATISTICS_SHARE
    dp_min_rows = 2  # fewer rows: a schema-only fit, nothing released from rows
    supports_encoded = True

    def fit(self, data: pa.Table, table: Table, context: pa.Table | None = None,
            run: FitContext | None = None) -> "GaussianCopula":
        """Learn marginals and correlations; zero rows means schema-only (independent columns).

        ``context`` (parent columns, described in ``table``) joins the correlation
        matrix; sampling then draws from the Gaussian conditional on it.
        """
        data, self.context_names = joint(data, context)
        self.table, self._cond = table, None
        self.columns = [table.column(name) for name in data.column_names]
        bounds = column_bounds(table)
        rng = np.random.default_rng(self._seed())
        run = self.fit_context(run, data.num_rows)
        self.privacy = run.privacy  # set up by the engine (privacy/setup.py), None below dp_min_rows
        data, _ = bounded(run.units, data, self.privacy, int(self.options.get("max_rows_per_parent", 8)), self._seed())
        if self.privacy is not None:  # noisy statistics only: models/copula_private.py
            corr, observed = fit_private(self, data, table, self.privacy)
        else:
            self.codecs = [self._codec(data.column(c.name), c, bounds[c.name], run.exact(c.name)) for c in self.columns]
            corr, observed = self._latent_correlation(data, rng) if data.num_rows > 1 else (np.eye(self._width()),) * 2
        self.factor = _cholesky(corr, self._shrinkage())
        if self.context_names:
            self._cond = _conditional(self.factor @ self.factor.T, observed, self._context_width())
        return self

    def _codec(self, values: pa.ChunkedArray, column: Column, bounds, exact=None) -> _ColumnCodec:
        """``exact``: the whole table's marginal when ``values`` are a sample (engine/marginals.py)."""
        transform = default_transform(column, **self._transform_options())
        return _ColumnCodec(transform.fit(values, column, bounds, exact), NullIndicator.fit(values, column, exact))

    def _latent_correlation(self, data: pa.Table, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Correlation of the normal scores corrected for the noise that discrete values add;
        and as observed (what a regression on given scores must use)."""
        dims = [d for codec, c in zip(self.codecs, self.columns) for d in codec.to_normal(data.column(c.name), rng)]
        scores = np.vstack([score for score, _ in dims]) if dims else np.zeros((0, data.num_rows))
        corr, counts = _correlation(scores)
        return _disattenuate(corr, counts, np.array([_attenuation(score, key) for score, key in dims])), corr

    def _context_width(self) -> int:
        return sum(codec.width for codec in self.codecs[: len(self.context_names)])

    def _width(self) -> int:
        return sum(codec.width for codec in self.codecs)

    def sample(self, n: int, *, seed: int | None = None, context: pa.Table | None = None,
               encoded: bool = False) -> pa.Table:
        """``n`` rows; the same ``n``, seed (and context) give the same rows (blocks run on two threads).
        ``encoded`` (``supports_encoded``): string categories as dictionary arrays."""
        given = require_context(self.context_names, context, n)
        blocks = np.random.SeedSequence(seed).spawn(max(1, -(-n // _CHUNK_ROWS)))
        sizes = [min(_CHUNK_ROWS, n - i * _CHUNK_ROWS) for i in range(len(blocks))]
        contexts = [None if given is None else given.slice(i * _CHUNK_ROWS, size) for i, size in enumerate(sizes)]
        with ThreadPoolExecutor(_THREADS) as pool:
            parts = list(pool.map(self._sample_block, sizes, blocks, contexts, [encoded] * len(sizes)))
        first = len(self.context_names)
        columns = self.columns[first:]
        arrays = [pa.chunked_array([p[j] for p in parts], type=parts[0][j].type) for j in range(len(columns))]
        return pa.table(arrays, names=[c.name for c in columns])

    def _sample_block(self, n: int, seed: np.random.SeedSequence, context: pa.Table | None = None,
                      encoded: bool = False) -> list[pa.Array]:
        noise_seed, *column_seeds = seed.spawn(1 + len(self.codecs))
        noise = np.random.default_rng(noise_seed)
        first = len(self.context_names)
        if context is None:  # float32: a third faster to draw and multiply; scores need no more precision
            scores = self.factor.astype(np.float32) @ noise.standard_normal((self._width(), n), dtype=np.float32)
        else:
            scores = self._conditional_scores(context, noise)
        starts = np.cumsum([0] + [codec.width for codec in self.codecs])
        return [codec.from_normal(scores[a:a + codec.width], np.random.default_rng(s), encoded)
                for codec, a, s in list(zip(self.codecs, starts, column_seeds))[first:]]

    def _conditional_scores(self, context: pa.Table, noise: np.random.Generator) -> np.ndarray:
        """All dimensions: the context's own scores, the rest drawn from N(A z_c, S)."""
        codecs = self.codecs[: len(self.context_names)]
        dims = [score for codec, name in zip(codecs, self.context_names)
                for score, _ in codec.to_normal(context.column(name), noise)]
        given = np.nan_to_num(np.vstack(dims)) if dims else np.zeros((0, context.num_rows))
        gain, factor = self._cond
        rest = gain @ given + factor @ noise.standard_normal((factor.shape[0], context.num_rows))
        return np.vstack([given, rest])

    def _seed(self) -> int:
        return int(self.options.get("seed") or 0)

    def _shrinkage(self) -> float:
        return float(self.options.get("shrinkage", 0.01))

    def _transform_options(self) -> dict[str, Any]:
        return {**self.options, "seed": self._seed()}

    def to_bytes(self) -> bytes:
        header = {"format": _FORMAT, "model": self.name, "options": self.options,
                  "table": self.table.model_dump(mode="json"), "columns": [c.name for c in self.columns],
                  "context": self.context_names, "transforms": [], "nulls": [codec.nulls.to_dict() for codec in self.codecs]}
        arrays = {"factor": self.factor}
        if self.context_names:
            arrays.update({"gain": self._cond[0], "residual": self._cond[1]})
        for i, codec in enumerate(self.codecs):
            meta, state = codec.transform.to_state()
            header["transforms"].append(meta)
            arrays.update({f"t{i}.{key}": value for key, value in state.items()})
        return _pack(header, arrays)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "GaussianCopula":
        header, arrays = _unpack(blob)
        model = cls(**header["options"])
        model.table = Table.model_validate(header["table"])
        model.columns = [model.table.column(name) for name in header["columns"]]
        bounds = column_bounds(model.table)
        model.codecs = [_load_codec(i, c, bounds[c.name], header, arrays) for i, c in enumerate(model.columns)]
        model.factor = arrays["factor"]
        model.context_names = list(header.get("context", []))
        model._cond = (arrays["gain"], arrays["residual"]) if model.context_names else None
        return model


def _load_codec(i: int, column: Column, bounds, header: dict, arrays: dict[str, np.ndarray]) -> _ColumnCodec:
    meta, prefix = header["transforms"][i], f"t{i}."
    state = {key[len(prefix):]: value for key, value in arrays.items() if key.startswith(prefix)}
    transform = get_transform(meta["name"]).from_state(column, bounds, meta, state)
    return _ColumnCodec(transform, NullIndicator.from_dict(header["nulls"][i]))


def _conditional(latent: np.ndarray, observed: np.ndarray, c: int, ridge: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Regression of the table's dimensions on the context's, and a factor of the residual.

    The gain comes from the *observed* correlations: a given context score carries
    its discrete values' in-slice noise, and the latent (disattenuated) matrix would
    weight that noise as signal (on pagila it lost the payment amount's tie to the
    film's rental rate entirely).  The residual keeps the table's latent structure.
    """
    gain = observed[c:, :c] @ np.linalg.inv(observed[:c, :c] + ridge * np.eye(c))
    residual = latent[c:, c:] - gain @ observed[:c, c:]
    values, vectors = np.linalg.eigh((residual + residual.T) / 2)
    return gain, vectors * np.sqrt(np.maximum(values, 1e-6))


def _correlation(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation over pairwise-complete rows (NaN = NULL), 0 for constant pairs; and the row counts."""
    present = ~np.isnan(scores)
    x, m = np.where(present, scores, 0.0), present.astype(np.float64)
    counts = m @ m.T
    count = np.maximum(counts, 1.0)
    sums, squares = x @ m.T, (x * x) @ m.T  # [i, j]: sum of x_i (x_i^2) where both i and j are present
    mean_i, mean_j = sums / count, sums.T / count
    cov = x @ x.T / count - mean_i * mean_j
    var_i, var_j = squares / count - mean_i**2, squares.T / count - mean_j**2
    scale = np.sqrt(np.clip(var_i * var_j, 0.0, None))
    corr = np.divide(cov, scale, out=np.zeros_like(cov), where=scale > 1e-12)
    return np.clip(corr, -1.0, 1.0), counts


def _attenuation(scores: np.ndarray, keys: np.ndarray) -> float:
    """Share of a dimension's score variance that its values explain (1 for distinct numbers).

    Scores of a category (or of a tied number) are drawn at random inside its
    slice; that noise shrinks every correlation by this factor (exactly against
    a continuous column, to first order between two discrete ones).
    """
    present = ~np.isnan(scores)
    score, key = scores[present], keys[present]
    if score.size < 2:
        return 1.0
    _, group = np.unique(key, return_inverse=True)
    means = np.bincount(group, score) / np.bincount(group)
    total = np.sum((score - score.mean()) ** 2)
    return float(np.clip(np.sum((means[group] - score.mean()) ** 2) / total, 1e-3, 1.0)) if total > 0 else 1.0


def _disattenuate(corr: np.ndarray, counts: np.ndarray, explained: np.ndarray) -> np.ndarray:
    """Latent correlation estimate: undo the attenuation, then shrink estimates that are mostly noise.

    Dividing by small factors (rare categories, rare NULLs) amplifies sampling
    noise, whose standard error is about 1/sqrt(n * a_i * a_j); each estimate
    is weighted by its signal-to-noise ratio r^2 / (r^2 + se^2).
    """
    factor = np.outer(explained, explained)
    latent = np.clip(corr / factor, -1.0, 1.0)
    noise = 1.0 / np.maximum(counts * factor, 1.0)
    latent = latent * latent**2 / (latent**2 + noise)
    np.fill_diagonal(latent, 1.0)
    return latent


def _cholesky(corr: np.ndarray, shrinkage: float) -> np.ndarray:
    """Lower Cholesky factor of the correlation shrunk toward I and repaired to positive definite."""
    shrunk = (1.0 - shrinkage) * corr + shrinkage * np.eye(corr.shape[0])
    values, vectors = np.linalg.eigh(shrunk)
    repaired = (vectors * np.maximum(values, 1e-6)) @ vectors.T
    scale = np.sqrt(np.diag(repaired))
    return np.linalg.cholesky(repaired / np.outer(scale, scale))


def _pack(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    text = json.dumps(header, default=json_default).encode()
    buffer = io.BytesIO()
    np.savez(buffer, header=np.frombuffer(text, dtype=np.uint8), **arrays)
    return buffer.getvalue()


def _unpack(blob: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        header = json.loads(arrays.pop("header").tobytes())
    except (ValueError, OSError, KeyError) as exc:
        raise SynthError(f"not a saved copula synthesizer: {exc}") from None
    if header.get("format") != _FORMAT:
        raise SynthError(f"saved copula has format {header.get('format')}, this version reads {_FORMAT}")
    return header, arrays


