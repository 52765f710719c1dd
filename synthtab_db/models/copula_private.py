"""The Gaussian copula under differential privacy: noisy statistics, nothing else.

Two Gaussian mechanisms, composed by the RDP accountant:

* the column statistics (``privacy.columns``: category sets, NULL rates, numeric
  bounds and quantiles), whose noise alone would spend ``STATISTICS_SHARE`` (half)
  of epsilon;
* the correlation matrix: each row's normal scores (NULL as 0, the mean) are
  clipped to L2 norm ``B = sqrt(1.5 d)`` for d dimensions, so a row changes
  the sum of outer products by at most B^2 (Frobenius); that sum gets Gaussian
  noise calibrated so the composition reaches the requested epsilon, and is
  normalised to a correlation matrix (its diagonal is the noisy row count).

The attenuation a discrete column's random in-slice scores cause is computed
from its released probabilities (the mean score of each normal slice), not
from the rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from synthtab_db.planner.schema import Table
from synthtab_db.privacy.accountant import Gaussian, PrivacyPlan
from synthtab_db.privacy.columns import release_columns
from synthtab_db.privacy.mechanisms import clip_rows, noisy_matrix
from synthtab_db.privacy.plan import noise_seed
from synthtab_db.transforms import ndtri

STATISTICS_SHARE = 0.5
CLIP_SCALE = 1.5  # rows clipped to norm sqrt(CLIP_SCALE * d): a few standard rows' worth of slack


def fit_private(model, data: pa.Table, table: Table, plan: PrivacyPlan) -> tuple[np.ndarray, np.ndarray]:
    """Set ``model.codecs`` from released statistics; the latent and the observed DP correlation."""
    rng = np.random.default_rng(noise_seed(model.options))
    model.codecs = private_codecs(model, data, table, plan, rng)
    return private_correlation(model, data, plan, rng)


def private_codecs(model, data: pa.Table, table: Table, plan: PrivacyPlan, rng: np.random.Generator) -> list:
    """The copula's column codecs from DP-released statistics."""
    from synthtab_db.models.copula import _ColumnCodec

    released = release_columns(data, table, model._transform_options(), plan, rng)
    return [_ColumnCodec(released[c.name].transform, released[c.name].nulls) for c in model.columns]


def private_correlation(model, data: pa.Table, plan: PrivacyPlan,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """DP correlation matrices of the codecs' normal scores: latent (disattenuated) and observed."""
    from synthtab_db.models.copula import _disattenuate

    dims = [d for codec, c in zip(model.codecs, model.columns) for d in codec.to_normal(data.column(c.name), rng)]
    if not dims:
        return np.eye(0), np.eye(0)
    scores = np.nan_to_num(np.vstack([score for score, _ in dims]).T)
    bound = float(np.sqrt(CLIP_SCALE * scores.shape[1]))
    noise = plan.calibrate(1.0, 1)
    plan.mechanisms.append(Gaussian(noise))
    plan.noise_multiplier, plan.max_grad_norm = noise, bound * bound
    clipped = clip_rows(scores, bound)
    total = noisy_matrix(clipped.T @ clipped, noise * bound * bound * plan.contribution, rng)
    rows = max(float(np.mean(np.diag(total))), 1.0)
    scale = np.sqrt(np.clip(np.diag(total), 1e-9, None))
    corr = np.clip(total / np.outer(scale, scale), -1.0, 1.0)
    explained = np.array([a for codec in model.codecs for a in _explained(codec)])
    return _disattenuate(corr, np.full(corr.shape, rows), explained), corr


def _explained(codec) -> list[float]:
    """Per dimension of a codec: the share of score variance its values explain, from released
    probabilities (1 for a continuous column)."""
    transform = codec.transform
    if transform.categorical:
        main = _slice_variance(transform.probabilities)
    elif transform.grid.discrete:
        main = _slice_variance(np.asarray(transform.grid.counts, dtype=np.float64))
    else:
        main = 1.0
    shares = [main, _slice_variance(np.array([codec.nulls.rate, 1.0 - codec.nulls.rate]))]
    return shares[: codec.width]


def _slice_variance(weights: np.ndarray) -> float:
    """Variance of the slice means when N(0, 1) is cut into consecutive slices of these masses."""
    p = np.clip(weights / max(weights.sum(), 1e-12), 0.0, 1.0)
    edges = ndtri(np.clip(np.concatenate([[0.0], np.cumsum(p)]), 1e-12, 1 - 1e-12))
    density = np.exp(-edges**2 / 2) / np.sqrt(2 * np.pi)
    means = np.divide(density[:-1] - density[1:], p, out=np.zeros_like(p), where=p > 1e-12)
    return float(np.clip(np.sum(p * means**2), 1e-3, 1.0))
