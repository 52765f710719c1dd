"""Pairwise and whole-table fidelity on the samples.

Every pair of columns is compared two ways: the joint distribution of their codes
(contingency similarity = 1 - TVD), and their association (Spearman for two
numbers, Cramér's V otherwise). The association matrices give the Frobenius
distance and the heatmaps; PCA spectra compare the overall shape.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.stats import rankdata
from sklearn.decomposition import PCA

from synthtab_db.association import cramers_v
from synthtab_db.quality.encode import Encoding
from synthtab_db.quality.report import MetricRow
from synthtab_db.quality.sample import Frame


def pairwise_metrics(enc: Encoding, real: Frame, synthetic: Frame) -> list[MetricRow]:
    names = enc.names()
    if len(names) < 2:
        return []
    codes_real, codes_syn = enc.code_matrix(real, names), enc.code_matrix(synthetic, names)
    assoc_real, assoc_syn = np.eye(len(names)), np.eye(len(names))
    rows: list[MetricRow] = []
    for i, j in combinations(range(len(names)), 2):
        sizes = (enc.n_codes(names[i]), enc.n_codes(names[j]))
        joint_real, joint_syn = _joint(codes_real[:, [i, j]], sizes), _joint(codes_syn[:, [i, j]], sizes)
        measure = _measure(enc, names[i], names[j])
        a_real = _association(measure, real, names[i], names[j], joint_real)
        a_syn = _association(measure, synthetic, names[i], names[j], joint_syn)
        assoc_real[i, j] = assoc_real[j, i] = a_real
        assoc_syn[i, j] = assoc_syn[j, i] = a_syn
        rows += _pair_rows(f"{names[i]}, {names[j]}", joint_real, joint_syn, measure, a_real, a_syn)
    return rows + [frobenius(names, assoc_real, assoc_syn)]


def _joint(codes: np.ndarray, sizes: tuple[int, int]) -> np.ndarray:
    flat = codes[:, 0] * sizes[1] + codes[:, 1]
    return np.bincount(flat, minlength=sizes[0] * sizes[1]).reshape(sizes).astype(float)


def _measure(enc: Encoding, a: str, b: str) -> str:
    both_numeric = a in enc.edges and b in enc.edges
    return "spearman" if both_numeric else "cramers_v"


def _association(measure: str, frame: Frame, a: str, b: str, joint: np.ndarray) -> float:
    return spearman(frame.columns[a], frame.columns[b]) if measure == "spearman" else cramers_v(joint)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Rank correlation over rows where both are present; 0 when undefined (constant)."""
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        return 0.0
    rx, ry = rankdata(x[keep]), rankdata(y[keep])
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _pair_rows(pair: str, joint_real, joint_syn, measure: str, a_real: float, a_syn: float) -> list[MetricRow]:
    """Contingency similarity, the association gap, and the pair's score (their mean)."""
    p, q = joint_real / max(joint_real.sum(), 1), joint_syn / max(joint_syn.sum(), 1)
    contingency = 1 - 0.5 * float(np.abs(p - q).sum())
    gap = abs(a_real - a_syn)
    correlation = 1 - gap / (2 if measure == "spearman" else 1)
    return [
        MetricRow("pairwise", "contingency_similarity", contingency, pair),
        MetricRow("pairwise", "correlation_diff", gap, pair, {"measure": measure, "real": a_real, "synthetic": a_syn}),
        MetricRow("pairwise", "pair_score", (contingency + correlation) / 2, pair),
    ]


def frobenius(names: list[str], real: np.ndarray, synthetic: np.ndarray) -> MetricRow:
    """‖A_real − A_synthetic‖_F; the detail keeps both matrices for the heatmaps."""
    value = float(np.linalg.norm(real - synthetic))
    pairs = max(1, len(names) * (len(names) - 1))
    detail = {
        "columns": names,
        "real": real.round(4).tolist(),
        "synthetic": synthetic.round(4).tolist(),
        "rms_gap": value / np.sqrt(pairs),
    }
    return MetricRow("table", "correlation_frobenius", value, None, detail)


def pca_similarity(enc: Encoding, real: Frame, synthetic: Frame, seed: int) -> list[MetricRow]:
    """1 − ½·Σ|Δ explained-variance ratio| over the leading components of each sample."""
    x_real, x_syn = enc.distance_features(real), enc.distance_features(synthetic)
    k = min(10, x_real.shape[1], real.rows, synthetic.rows)
    if k < 2:
        return []
    ratios = [PCA(n_components=k, random_state=seed).fit(x).explained_variance_ratio_ for x in (x_real, x_syn)]
    value = 1 - 0.5 * float(np.abs(ratios[0] - ratios[1]).sum())
    detail = {"components": k, "real": ratios[0].round(4).tolist(), "synthetic": ratios[1].round(4).tolist()}
    return [MetricRow("table", "pca_similarity", value, None, detail)]
