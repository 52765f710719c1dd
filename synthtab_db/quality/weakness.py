"""What a report says is weakest: the columns and pairs that cost the fidelity score most.

The feedback loop of GENERATE … WITH (target_quality = …) reads this to choose what to
change in the generator; each weak column carries the facts a knob answers to (shape,
lost categories), each weak pair its association in both tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthtab_db.quality.report import Report
from synthtab_db.quality.scores import MIN_WEIGHT

WORST = 3  # columns and pairs named per round
NOISE = 0.01  # a loss below this is sampling noise, not a weakness


@dataclass(frozen=True)
class WeakColumn:
    name: str
    role: str  # 'numeric' or 'categorical'
    score: float
    lost_categories: bool  # real categories missing from the synthetic column


@dataclass(frozen=True)
class WeakPair:
    columns: tuple[str, str]
    score: float
    real: float  # association (Spearman or Cramér's V) in the real table
    synthetic: float

    @property
    def too_weak(self) -> bool:
        """The synthetic link is weaker than the real one (the usual failure)."""
        return abs(self.synthetic) < abs(self.real)


@dataclass(frozen=True)
class Weakness:
    columns: tuple[WeakColumn, ...] = ()
    pairs: tuple[WeakPair, ...] = ()

    def of_role(self, role: str) -> list[str]:
        return [c.name for c in self.columns if c.role == role]

    def describe(self) -> str:
        names = [c.name for c in self.columns] + [" × ".join(p.columns) for p in self.pairs]
        return ", ".join(names) or "none"


def weaknesses(report: Report) -> Weakness:
    """The WORST columns by 1 − score, and the WORST pairs by their weighted loss (the
    pair-trend weight, as in the overall score, times 1 − score); noise-level ones left out."""
    return Weakness(tuple(_columns(report)), tuple(_pairs(report)))


def _columns(report: Report) -> list[WeakColumn]:
    scored = [r for r in report.of_group("column", "column_score") if r.finite() is not None]
    weak = sorted((r for r in scored if 1 - r.finite() > NOISE), key=lambda r: r.finite())[:WORST]
    return [
        WeakColumn(r.columns, r.detail.get("role", "numeric"), r.finite(), _lost(report, r.columns)) for r in weak
    ]


def _lost(report: Report, column: str) -> bool:
    coverage = report.value("category_coverage", column)
    return coverage is not None and coverage < 1


def _pairs(report: Report) -> list[WeakPair]:
    links = {r.columns: r.detail for r in report.of_group("pairwise", "correlation_diff")}
    found = []
    for row in report.of_group("pairwise", "pair_score"):
        if row.finite() is None or row.columns not in links:
            continue
        link = links[row.columns]
        weight = max(abs(link["real"]), abs(link["synthetic"]), MIN_WEIGHT)
        a, b = row.columns.split(", ", 1)
        found.append((weight * (1 - row.finite()), WeakPair((a, b), row.finite(), link["real"], link["synthetic"])))
    worst = sorted((f for f in found if f[1].score < 1 - NOISE), key=lambda f: -f[0])[:WORST]
    return [pair for _, pair in worst]
