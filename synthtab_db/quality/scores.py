"""Overall scores and the statement's summary result set.

The fidelity score is the mean of two averages, as the field usually reports it:
column shapes (per-column scores) and pair trends (per-pair scores). Both are 1
for identical data, so the overall score is too.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from synthtab_db.quality.report import MetricRow, Report


def _mean(rows: list[MetricRow]) -> float | None:
    values = [r.finite() for r in rows if r.finite() is not None]
    return float(np.mean(values)) if values else None


def pair_trends(report: Report) -> float | None:
    """Pair scores averaged with weight = the stronger association of the pair in either table.

    Most pairs of a wide table are nearly independent, and any generator - even one that
    ignores every relation - keeps those; weighting by association makes the score about
    the relations there are to keep (or that a generator invents). 1 for identical data.
    """
    scores = {r.columns: r.finite() for r in report.of_group("pairwise", "pair_score") if r.finite() is not None}
    if not scores:
        return None
    weights = {
        r.columns: max(abs(r.detail["real"]), abs(r.detail["synthetic"]), MIN_WEIGHT)
        for r in report.of_group("pairwise", "correlation_diff")
    }
    pairs = list(scores)
    return float(np.average([scores[p] for p in pairs], weights=[weights.get(p, MIN_WEIGHT) for p in pairs]))


MIN_WEIGHT = 0.05


def overall_rows(report: Report) -> list[MetricRow]:
    columns = _mean(report.of_group("column", "column_score"))
    pairs = pair_trends(report)
    parts = [v for v in (columns, pairs) if v is not None]
    rows = [
        MetricRow(
            "overall",
            "fidelity_score",
            float(np.mean(parts)) if parts else None,
            None,
            {"column_shapes": columns, "pair_trends": pairs},
        ),
        MetricRow("overall", "column_shapes", columns),
        MetricRow(
            "overall",
            "pair_trends",
            pairs,
            detail={"weighted_by": "association", "unweighted": _mean(report.of_group("pairwise", "pair_score"))},
        ),
    ]
    return rows + _worst_column(report) + _utility(report)


def _worst_column(report: Report) -> list[MetricRow]:
    scored = [r for r in report.of_group("column", "column_score") if r.finite() is not None]
    if not scored:
        return []
    worst = min(scored, key=lambda r: r.finite())
    return [MetricRow("overall", "worst_column_score", worst.value, worst.columns)]


def _utility(report: Report) -> list[MetricRow]:
    ratio = report.of_group("utility", "utility_ratio")
    return [MetricRow("overall", "utility_score", ratio[0].value, ratio[0].columns, ratio[0].detail)] if ratio else []


def schema_overall(tables: list[Report], edges: list[MetricRow]) -> list[MetricRow]:
    """A schema's fidelity: table scores and children-per-parent fidelity (1 − KS), averaged."""
    table_scores = [t.value("fidelity_score") for t in tables]
    edge_scores = [1 - r.finite() for r in edges if r.metric == "children_per_parent_ks" and r.finite() is not None]
    orphan_shares = [r.detail["share"] for r in edges if r.metric == "fk_orphans"]
    parts = [v for v in table_scores + edge_scores if v is not None]
    return [
        MetricRow(
            "overall",
            "fidelity_score",
            float(np.mean(parts)) if parts else None,
            None,
            {"tables": len(tables), "edges": len(edge_scores)},
        ),
        MetricRow("overall", "cardinality_score", float(np.mean(edge_scores)) if edge_scores else None),
        MetricRow("overall", "integrity_score", 1 - float(np.mean(orphan_shares)) if orphan_shares else None),
    ]


# Per-column and per-pair rows go to the stored report; the summary keeps the rest.
SUMMARY_GROUPS = ("overall", "table", "utility", "privacy", "cardinality", "integrity")

SUMMARY_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("synthetic", pa.string()),
        ("real", pa.string()),
        ("metric_group", pa.string()),
        ("metric", pa.string()),
        ("columns", pa.string()),
        ("value", pa.float64()),
        ("detail", pa.string()),
    ]
)


def summary_table(run_id: str, reports: list[Report]) -> pa.Table:
    rows = [(report, row) for report in reports for row in report.rows if row.group in SUMMARY_GROUPS]
    return pa.Table.from_pylist([_summary(run_id, report, row) for report, row in rows], schema=SUMMARY_SCHEMA)


def _summary(run_id: str, report: Report, row: MetricRow) -> dict:
    brief = {k: v for k, v in row.detail.items() if k != "plot" and not isinstance(v, (list, dict))}
    return {
        "run_id": run_id,
        "synthetic": report.synthetic,
        "real": report.real,
        "metric_group": row.group,
        "metric": row.metric,
        "columns": row.columns,
        "value": row.finite(),
        "detail": json.dumps(jsonable(brief)),
    }


def jsonable(value):
    """Plain JSON: numpy scalars and arrays as Python, NaN and infinity as null."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
