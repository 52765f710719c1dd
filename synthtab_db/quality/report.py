"""What an evaluation produces: metric rows (stored and returned) plus the plot data
the HTML page needs. Plain dataclasses so metrics, storage and rendering stay apart."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MetricRow:
    """One metric value; ``columns`` is a column, a 'a, b' pair, an FK edge or None."""

    group: str
    metric: str
    value: float | None
    columns: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def finite(self) -> float | None:
        """The value, or None where it is missing or NaN (JSON and SQL have no NaN)."""
        if self.value is None or not math.isfinite(self.value):
            return None
        return float(self.value)


@dataclass
class Report:
    """Everything one table pair's evaluation found."""

    synthetic: str
    real: str
    holdout: str | None = None
    target: str | None = None
    rows: list[MetricRow] = field(default_factory=list)
    plots: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, rows: list[MetricRow]) -> None:
        self.rows.extend(rows)

    def value(self, metric: str, columns: str | None = None) -> float | None:
        """The first value of ``metric`` (for ``columns`` if given); None if absent."""
        for row in self.rows:
            if row.metric == metric and (columns is None or row.columns == columns):
                return row.finite()
        return None

    def of_group(self, group: str, metric: str | None = None) -> list[MetricRow]:
        return [r for r in self.rows if r.group == group and (metric is None or r.metric == metric)]
