"""Per-column fidelity, computed in DuckDB over the full tables.

Metrics are registered per column role (name -> function); a function takes the
two value queries of one column and returns its metric rows. Adding a metric is
one function and one registry entry.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from synthtab_db.planner.schema import TableRef
from synthtab_db.quality import distributions as dist
from synthtab_db.quality.columns import ColumnSpec
from synthtab_db.quality.report import MetricRow
from synthtab_db.quality.sql import table_sql

ColumnMetric = Callable[[object, str, str, str], list[MetricRow]]


def _row(metric: str, value, column: str, **detail) -> MetricRow:
    return MetricRow("column", metric, None if value is None else float(value), column, detail)


def ks_and_wasserstein(con, column: str, real: str, synthetic: str) -> list[MetricRow]:
    ks, w1 = dist.ks_wasserstein(con, real, synthetic)
    return [_row("ks", ks, column), _row("wasserstein", w1, column, normalised_by="real range")]


def numeric_js(con, column: str, real: str, synthetic: str) -> list[MetricRow]:
    """JS distance over the histogram that is also the column's plot."""
    hist = dist.histogram(con, real, synthetic)
    js = dist.js_distance(np.array(hist["real"]), np.array(hist["synthetic"]))
    return [_row("jensen_shannon", js, column, plot={"kind": "histogram", **hist})]


def null_rate_diff(con, column: str, real: str, synthetic: str) -> list[MetricRow]:
    real_rate, synthetic_rate = dist.null_rates(con, real, synthetic)
    return [_row("null_rate_diff", abs(real_rate - synthetic_rate), column, real=real_rate, synthetic=synthetic_rate)]


def range_coverage(con, column: str, real: str, synthetic: str) -> list[MetricRow]:
    """Share of the real [min, max] that the synthetic range overlaps."""
    lo, hi, s_lo, s_hi = dist.ranges(con, real, synthetic)
    detail = {"real_min": lo, "real_max": hi, "synthetic_min": s_lo, "synthetic_max": s_hi}
    if lo is None or s_lo is None:
        return [_row("range_coverage", None, column, **detail)]
    overlap = min(hi, s_hi) - max(lo, s_lo)
    value = max(0.0, min(1.0, overlap / (hi - lo))) if hi > lo else float(s_lo <= lo <= s_hi)
    return [_row("range_coverage", value, column, **detail)]


def categories(con, column: str, real: str, synthetic: str) -> list[MetricRow]:
    stats = dist.category_stats(con, real, synthetic)
    plot = {"kind": "categories", **stats["top"]}
    return [
        _row("tvd", stats["tvd"], column),
        _row("jensen_shannon", stats["js"], column, plot=plot),
        _row("category_coverage", stats["coverage"], column, unseen_share=stats["unseen_share"]),
    ]


NUMERIC: dict[str, ColumnMetric] = {
    "ks_wasserstein": ks_and_wasserstein,
    "jensen_shannon": numeric_js,
    "null_rate_diff": null_rate_diff,
    "range_coverage": range_coverage,
}
CATEGORICAL: dict[str, ColumnMetric] = {"categories": categories, "null_rate_diff": null_rate_diff}
BY_ROLE: dict[str, dict[str, ColumnMetric]] = {"numeric": NUMERIC, "categorical": CATEGORICAL}
SHAPE_METRIC = {"numeric": "ks", "categorical": "tvd"}


def column_metrics(con, specs: list[ColumnSpec], real: TableRef, synthetic: TableRef) -> list[MetricRow]:
    """Every registered metric of every compared column, then each column's score."""
    rows: list[MetricRow] = []
    for spec in specs:
        real_sql = f"SELECT {spec.expr('real')} AS x FROM {table_sql(real)}"
        synthetic_sql = f"SELECT {spec.expr('synthetic')} AS x FROM {table_sql(synthetic)}"
        for metric in BY_ROLE[spec.role].values():
            rows += metric(con, spec.name, real_sql, synthetic_sql)
    return rows + [column_score(rows, spec) for spec in specs]


def column_score(rows: list[MetricRow], spec: ColumnSpec) -> MetricRow:
    """(1 - KS or TVD) x (1 - null-rate gap): 1 only when both shape and missingness match."""
    found = {r.metric: r.finite() for r in rows if r.columns == spec.name}
    shape, nulls = found.get(SHAPE_METRIC[spec.role]), found.get("null_rate_diff") or 0.0
    value = None if shape is None else (1 - shape) * (1 - nulls)
    return _row("column_score", value, spec.name, role=spec.role, kind=spec.kind, shape=SHAPE_METRIC[spec.role])
