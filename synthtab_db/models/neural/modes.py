"""Mode-specific normalisation of numbers (CTGAN's encoding), with a small numpy EM.

A numeric column is modelled as a mixture of up to ``max_modes`` Gaussians.
Each value becomes (alpha, mode): the mode drawn from its posterior, and
alpha = (x - mean_k) / (4 std_k) in [-1, 1], which a network produces with a
tanh and a softmax.  Multi-modal and spiky columns (capital gains that are
mostly 0) then need no heavy-tailed outputs.

CTGAN fits a variational Bayesian GMM (scikit-learn); a plain EM started from
evenly spaced quantiles, then pruning modes below ``MIN_WEIGHT``, gives the
same encoding without that dependency.  Numbers are standardised first, so
dates (days) and timestamps (microseconds) are as easy as ages.
"""

from __future__ import annotations

import numpy as np

MIN_WEIGHT = 0.005  # modes lighter than this are dropped (CTGAN's threshold)
MIN_STD = 1e-3  # in standardised units: a spike of one value is a mode, not a singularity
_FIT_ROWS = 20_000  # EM runs on at most this many values
_ITERATIONS = 100
_LOG_2PI = np.log(2.0 * np.pi)


class ModeNormalizer:
    """Numbers <-> (alpha, mode one-hot) for one column."""

    def __init__(self, center: float, scale: float, means: np.ndarray, stds: np.ndarray, weights: np.ndarray) -> None:
        self.center, self.scale = float(center), float(scale)
        self.means, self.stds, self.weights = (np.asarray(a, dtype=np.float64) for a in (means, stds, weights))

    @property
    def modes(self) -> int:
        return int(self.means.size)

    @classmethod
    def fit(cls, numbers: np.ndarray, max_modes: int, rng: np.random.Generator) -> "ModeNormalizer":
        """EM on the standardised finite values; no values gives one standard mode."""
        x = np.asarray(numbers, dtype=np.float64)
        x = x[np.isfinite(x)]
        if x.size == 0:
            return cls(0.0, 1.0, np.zeros(1), np.ones(1), np.ones(1))
        center, scale = float(x.mean()), float(x.std())
        scale = scale if scale > 0 else 1.0
        z = (x - center) / scale
        if z.size > _FIT_ROWS:
            z = rng.choice(z, _FIT_ROWS, replace=False)
        means, stds, weights = _em(z, max_modes)
        return cls(center, scale, means, stds, weights)

    def encode(self, numbers: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(alpha, mode index) per value; non-finite values sit at the heaviest mode's centre."""
        x = np.asarray(numbers, dtype=np.float64)
        finite = np.isfinite(x)
        z = np.where(finite, (x - self.center) / self.scale, self.means[np.argmax(self.weights)])
        posterior = np.exp(_log_joint(z, self.means, self.stds, self.weights, normalise=True))
        cumulative = np.cumsum(posterior, axis=1)
        u = rng.random(z.size)[:, None] * cumulative[:, -1:]
        mode = np.minimum((u > cumulative).sum(axis=1), self.modes - 1)
        alpha = (z - self.means[mode]) / (4.0 * self.stds[mode])
        return np.clip(alpha, -0.99, 0.99), mode

    def decode(self, alpha: np.ndarray, mode: np.ndarray) -> np.ndarray:
        z = np.clip(alpha, -1.0, 1.0) * 4.0 * self.stds[mode] + self.means[mode]
        return z * self.scale + self.center

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {"center": self.center, "scale": self.scale}
        return meta, {"means": self.means, "stds": self.stds, "weights": self.weights}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> "ModeNormalizer":
        return cls(meta["center"], meta["scale"], arrays["means"], arrays["stds"], arrays["weights"])


def _em(z: np.ndarray, max_modes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit, prune light modes, refit the survivors."""
    means = _initial_means(z, max_modes)
    stds = np.full(means.size, max(z.std() / means.size, MIN_STD))
    weights = np.full(means.size, 1.0 / means.size)
    for _ in range(2):
        means, stds, weights = _iterate(z, means, stds, weights)
        keep = weights >= MIN_WEIGHT
        if keep.all():
            break
        means, stds, weights = means[keep], stds[keep], weights[keep] / weights[keep].sum()
    return means, stds, weights


def _initial_means(z: np.ndarray, max_modes: int) -> np.ndarray:
    """Quantiles of the values and of the distinct values: a spike (95% zeros) takes
    one start, and the rest of the range still gets starts of its own."""
    levels = (np.arange(max_modes) + 0.5) / max_modes
    by_mass = np.quantile(z, levels[::2])
    by_range = np.quantile(np.unique(z), levels[1::2])
    return np.unique(np.concatenate([by_mass, by_range]))


def _iterate(
    z: np.ndarray, means: np.ndarray, stds: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    previous = -np.inf
    for _ in range(_ITERATIONS):
        log_joint = _log_joint(z, means, stds, weights, normalise=False)
        top = log_joint.max(axis=1, keepdims=True)
        log_total = top + np.log(np.exp(log_joint - top).sum(axis=1, keepdims=True))
        responsibility = np.exp(log_joint - log_total)
        mass = responsibility.sum(axis=0) + 1e-12
        weights = mass / z.size
        means = (responsibility * z[:, None]).sum(axis=0) / mass
        variance = (responsibility * (z[:, None] - means) ** 2).sum(axis=0) / mass
        stds = np.sqrt(np.maximum(variance, MIN_STD**2))
        likelihood = float(log_total.mean())
        if likelihood - previous < 1e-6:
            break
        previous = likelihood
    return means, stds, weights


def _log_joint(z: np.ndarray, means: np.ndarray, stds: np.ndarray, weights: np.ndarray, normalise: bool) -> np.ndarray:
    """log(weight_k N(z; mean_k, std_k)) per value and mode; with ``normalise``, the log posterior."""
    d = (z[:, None] - means) / stds
    log_joint = np.log(weights + 1e-300) - np.log(stds) - 0.5 * (d * d + _LOG_2PI)
    if normalise:
        log_joint = log_joint - log_joint.max(axis=1, keepdims=True)
        log_joint = log_joint - np.log(np.exp(log_joint).sum(axis=1, keepdims=True))
    return log_joint
