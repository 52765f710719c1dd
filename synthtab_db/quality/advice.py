"""A sentence on what to do about a weak column or pair, chosen by rules in order.

Each rule reads the column's metric values (metric -> value, plus details) and
either returns its advice or None; the first that speaks wins.
"""

from __future__ import annotations

from typing import Callable

from synthtab_db.quality.report import MetricRow, Report

Facts = dict[str, MetricRow]
Rule = Callable[[str, Facts], str | None]


def _value(facts: Facts, metric: str) -> float | None:
    row = facts.get(metric)
    return None if row is None else row.finite()


def nulls(column: str, facts: Facts) -> str | None:
    gap = _value(facts, "null_rate_diff")
    if gap is None or gap < 0.02:
        return None
    d = facts["null_rate_diff"].detail
    return (
        f"NULLs are {d['real']:.1%} of real {column} but {d['synthetic']:.1%} of synthetic: "
        "missingness is not reproduced; check how the model's transforms handle NULL for this column."
    )


def range_clipped(column: str, facts: Facts) -> str | None:
    coverage = _value(facts, "range_coverage")
    if coverage is None or coverage >= 0.9:
        return None
    return (
        f"only {coverage:.0%} of the real range of {column} is covered: extremes are clipped "
        "(rare-value protection or DP bounds do this); relax protect_rare/min_count if the extremes matter."
    )


def categories_lost(column: str, facts: Facts) -> str | None:
    coverage = _value(facts, "category_coverage")
    if coverage is None or coverage >= 0.9:
        return None
    return (
        f"only {coverage:.0%} of the real categories of {column} appear: rare ones were pooled or dropped; "
        "raise max_categories or lower min_count if they matter."
    )


def _model(facts: Facts) -> str | None:
    """The model that made the synthetic table, when GENERATE recorded it (engine/provenance.py)."""
    made = facts.get("generated_by")
    return None if made is None else made.detail.get("model")


#: what to try next, by the model that produced the data (None: not known)
NEXT_STEP = {
    "copula": "spikes (e.g. many zeros), heavy tails or several modes are hard for the copula; "
              "try USING argn (or ctgan / tvae)",
    "argn": "train longer (a higher epochs or max_seconds) or raise max_bins for a numeric column",
    None: "spikes, heavy tails or several modes are hard for the copula; try a neural model "
          "(USING argn / ctgan / tvae) or more epochs",
}


def shape(column: str, facts: Facts) -> str | None:
    ks, tvd = _value(facts, "ks"), _value(facts, "tvd")
    step = NEXT_STEP.get(_model(facts), "train longer (more epochs) or try another model (USING argn)")
    if ks is not None and ks >= 0.05:
        return f"the distribution of {column} differs (KS {ks:.2f}): {step}."
    if tvd is not None and tvd >= 0.05:
        learns = "train longer" if _model(facts) == "argn" else "use a model that learns categories jointly (USING argn)"
        return f"the category frequencies of {column} differ (TVD {tvd:.2f}): {learns}."
    return None


RULES: list[Rule] = [nulls, range_clipped, categories_lost, shape]


def column_advice(report: Report, column: str) -> str:
    facts = {r.metric: r for r in report.rows if r.group == "column" and r.columns == column}
    facts.update({r.metric: r for r in report.of_group("overall", "generated_by")})
    for rule in RULES:
        said = rule(column, facts)
        if said:
            return said
    return f"{column} is close to the real data; nothing to do."


def pair_advice(row: MetricRow) -> str:
    d = row.detail
    a, b = row.columns.split(", ", 1)
    direction = "weaker" if abs(d["synthetic"]) < abs(d["real"]) else "stronger"
    return (
        f"the link between {a} and {b} is {direction} in the synthetic data ({d['measure']} {d['real']:.2f} real vs "
        f"{d['synthetic']:.2f}): a model that learns the joint structure (argn, ctgan) keeps such relations better."
    )
