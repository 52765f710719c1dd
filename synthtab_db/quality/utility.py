"""Machine-learning utility: does a model trained on synthetic rows work on real ones?

TSTR (train synthetic, test real) beside TRTR (train real, test real) on the same
real test rows, plus TRTS (train real, test synthetic); HistGradientBoosting,
because it takes NULLs and categories natively and is quick on a few 10k rows.
Feature-importance agreement (Spearman of permutation importances) says whether
the synthetic model relies on the same columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.stats import spearmanr
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

from synthtab_db.quality.encode import Encoding
from synthtab_db.quality.report import MetricRow
from synthtab_db.quality.sample import Frame

IMPORTANCE_ROWS = 1000
#: real-on-real must beat the trivial baseline by this much for a utility ratio to mean anything
MIN_MARGIN = 0.05


@dataclass(frozen=True)
class Task:
    """What the target asks for: a model, how labels are read, and the scores (first = headline)."""

    name: str
    model: Callable[..., object]
    labels: Callable[[Encoding, Frame, str], np.ndarray]
    scores: dict[str, Callable[[object, np.ndarray, np.ndarray], float | None]]


def _class_labels(enc: Encoding, frame: Frame, target: str) -> np.ndarray:
    codes = enc.codes(frame, target).astype(float)
    return np.where(codes == enc.n_codes(target) - 1, np.nan, codes)  # NULL target: row dropped


def _numeric_labels(enc: Encoding, frame: Frame, target: str) -> np.ndarray:
    return frame.columns[target]


def roc_auc(model, x: np.ndarray, y: np.ndarray) -> float | None:
    """Binary or one-vs-rest AUC over the classes present in ``y``; None if only one is."""
    present = np.unique(y)
    if present.size < 2:
        return None
    proba = model.predict_proba(x)
    aligned = np.column_stack([_class_column(model, proba, c) for c in present])
    if present.size == 2:
        return float(roc_auc_score(y == present[1], aligned[:, 1]))
    # a model that never saw some present classes gives rows summing to less than 1 (or to 0):
    # a little mass on every class keeps them probabilities (sklearn refuses anything else)
    aligned = aligned + 1e-9
    aligned = aligned / aligned.sum(1, keepdims=True)
    return float(roc_auc_score(y, aligned, labels=present, multi_class="ovr"))


def _class_column(model, proba: np.ndarray, label) -> np.ndarray:
    where = np.flatnonzero(model.classes_ == label)
    return proba[:, where[0]] if where.size else np.zeros(len(proba))


TASKS = {
    "classification": Task(
        "classification",
        HistGradientBoostingClassifier,
        _class_labels,
        {"roc_auc": roc_auc, "accuracy": lambda m, x, y: float(accuracy_score(y, m.predict(x)))},
    ),
    "regression": Task(
        "regression",
        HistGradientBoostingRegressor,
        _numeric_labels,
        {"r2": lambda m, x, y: float(r2_score(y, m.predict(x)))},
    ),
}


@dataclass(frozen=True)
class Split:
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def of(cls, enc: Encoding, task: Task, frame: Frame, target: str) -> Split:
        x, _ = enc.model_features(frame, exclude=(target,))
        y = task.labels(enc, frame, target)
        keep = ~np.isnan(y)
        return cls(x[keep], y[keep])

    def limit(self, rows: int, seed: int) -> Split:
        """At most ``rows`` rows, picked at random (a sample's order is not random)."""
        if len(self.y) <= rows:
            return self
        pick = np.sort(np.random.default_rng(seed).choice(len(self.y), rows, replace=False))
        return Split(self.x[pick], self.y[pick])


def utility_metrics(
    enc: Encoding, target: str, train: Frame, test: Frame, synthetic: Frame, seed: int, test_source: str
) -> list[MetricRow]:
    task = TASKS["regression" if enc.spec(target).role == "numeric" else "classification"]
    _, mask = enc.model_features(train, exclude=(target,))
    real, held, syn = (Split.of(enc, task, f, target) for f in (train, test, synthetic))
    syn = syn.limit(len(real.y), seed)  # the same training size on both sides: a fair comparison
    models = {name: _fit(task, mask, data, seed) for name, data in (("real", real), ("synthetic", syn))}
    detail = {
        "task": task.name,
        "train_rows": len(real.y),
        "synthetic_train_rows": len(syn.y),
        "test_rows": len(held.y),
        "test": test_source,
    }
    rows = _scores(
        task, models, {"trtr": ("real", held), "tstr": ("synthetic", held), "trts": ("real", syn)}, target, detail
    )
    rows += baseline_rows(task, real, held, target)
    rows.append(_ratio(task, rows, target))
    return rows + [importance_agreement(models, held, enc.names((target,)), target, seed)]


def _fit(task: Task, mask: np.ndarray, data: Split, seed: int):
    """A fitted model, or the reason it could not be fitted (e.g. one class only)."""
    try:
        return task.model(categorical_features=mask, random_state=seed).fit(data.x, data.y)
    except ValueError as err:
        return str(err)


def _scores(task: Task, models: dict, plan: dict, target: str, detail: dict) -> list[MetricRow]:
    rows = []
    for scenario, (trained_on, data) in plan.items():
        model = models[trained_on]
        for score, fn in task.scores.items():
            failed = isinstance(model, str) or len(data.y) == 0
            value = None if failed else fn(model, data.x, data.y)
            rows.append(
                MetricRow(
                    "utility",
                    f"{scenario}_{score}",
                    value,
                    target,
                    {**detail, **({"error": model} if isinstance(model, str) else {})},
                )
            )
    return rows


def baseline_rows(task: Task, real: Split, held: Split, target: str) -> list[MetricRow]:
    """What a model that ignores every feature scores: chance AUC, the majority class, the mean."""
    if task.name == "regression":
        return [MetricRow("utility", "baseline_r2", 0.0, target, {"model": "the training mean"})]
    if len(real.y) == 0 or len(held.y) == 0:
        return []
    values, counts = np.unique(real.y, return_counts=True)
    majority = float(np.mean(held.y == values[np.argmax(counts)]))
    return [MetricRow("utility", "baseline_roc_auc", 0.5, target, {"model": "chance"}),
            MetricRow("utility", "baseline_accuracy", majority, target, {"model": "the majority class"})]


def _ratio(task: Task, rows: list[MetricRow], target: str) -> MetricRow:
    """TSTR over TRTR on the headline score, each measured above the trivial baseline; not
    measurable (None, with the reason) where real-on-real does not beat the baseline by
    MIN_MARGIN on every score: a ratio over a near-zero margin says nothing."""
    headline = next(iter(task.scores))
    values = {r.metric: r.finite() for r in rows}
    trtr, tstr = values.get(f"trtr_{headline}"), values.get(f"tstr_{headline}")
    weak = [f"real-on-real {s} {values[f'trtr_{s}']:.3f} vs baseline {values[f'baseline_{s}']:.3f}"
            for s in task.scores if values.get(f"trtr_{s}") is not None and values.get(f"baseline_{s}") is not None
            and values[f"trtr_{s}"] - values[f"baseline_{s}"] < MIN_MARGIN]
    if trtr is None or tstr is None or weak:
        reason = "; ".join(weak) or "a score is missing"
        return MetricRow("utility", "utility_ratio", None, target,
                         {"score": headline, "not_measurable": f"{reason}: the target is not learnable from "
                          "the other columns of the real rows, so no ratio is reported"})
    floor = values[f"baseline_{headline}"]
    value = max(0.0, min(1.0, (tstr - floor) / (trtr - floor)))
    return MetricRow("utility", "utility_ratio", value, target, {"score": headline, "trtr": trtr, "tstr": tstr})


def importance_agreement(models: dict, held: Split, features: list[str], target: str, seed: int) -> MetricRow:
    """Spearman correlation of permutation importances (real-trained vs synthetic-trained)."""
    if any(isinstance(m, str) for m in models.values()) or len(held.y) == 0 or len(features) < 2:
        return MetricRow("utility", "importance_rank_corr", None, target)
    held = held.limit(IMPORTANCE_ROWS, seed)
    x, y = held.x, held.y
    found = {
        k: permutation_importance(m, x, y, n_repeats=3, random_state=seed).importances_mean for k, m in models.items()
    }
    rho = spearmanr(found["real"], found["synthetic"]).statistic
    detail = {"features": features, **{k: np.round(v, 5).tolist() for k, v in found.items()}}
    return MetricRow("utility", "importance_rank_corr", None if np.isnan(rho) else float(rho), target, detail)
