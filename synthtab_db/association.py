"""Cramér's V, shared by the quality report (pair trends) and the models' context matching
(which context columns tell most about a child's own); numpy only, so models need no extras."""

from __future__ import annotations

import numpy as np


def cramers_v(joint: np.ndarray) -> float:
    """Cramér's V of a contingency table (empty rows and columns dropped)."""
    table = joint[joint.sum(1) > 0][:, joint.sum(0) > 0]
    n, k = table.sum(), min(table.shape) - 1
    if n == 0 or k < 1:
        return 0.0
    expected = np.outer(table.sum(1), table.sum(0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(min(1.0, chi2 / (n * k))))


def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counts of each (a, b) pair of two codings of the same rows."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    table = np.zeros((a.max() + 1, b.max() + 1)) if a.size else np.zeros((0, 0))
    np.add.at(table, (a, b), 1.0)
    return table
