"""What a WHERE condition leaves of one column, in token terms.

Conditional sampling is not rejection: the conditioned columns are generated
first, each from the network's distribution with ``log_weights`` added to its
logits (``-inf`` for tokens the condition excludes, ``log(share)`` for a bin the
range cuts through), and the value inside a bin is drawn only from the part
the condition allows.  Every later column then follows the model's conditional.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthtab_db.errors import SynthError


@dataclass(frozen=True)
class Restriction:
    """Per-token log weights plus how to finish a value inside its bin."""

    log_weights: np.ndarray  # (vocabulary,), -inf where the condition excludes the token
    u_low: float = 0.0  # numeric range: the allowed slice of the column's CDF
    u_high: float = 1.0
    values: np.ndarray | None = None  # numeric = / IN: values snapped onto these numbers
    low: float | None = None  # numeric range: final clip (steps inside exclusive bounds)
    high: float | None = None

    @classmethod
    def tokens(cls, vocabulary: int, allowed: np.ndarray, weights: np.ndarray | None = None, **extra) -> "Restriction":
        """Only ``allowed`` tokens, optionally weighted (a bin's share inside a range)."""
        log_weights = np.full(vocabulary, -np.inf)
        share = np.ones(len(allowed)) if weights is None else np.asarray(weights, dtype=np.float64)
        with np.errstate(divide="ignore"):
            log_weights[np.asarray(allowed, dtype=np.int64)] = np.log(share)
        if not np.isfinite(log_weights).any():
            raise SynthError("the condition leaves no value the model has learned")
        return cls(log_weights=log_weights, **extra)


def listing(values: list, limit: int = 20) -> str:
    """Up to ``limit`` values for an error message, then how many more there are."""
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f", ... ({len(values) - limit} more)" if len(values) > limit else "")
