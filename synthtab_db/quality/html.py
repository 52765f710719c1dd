"""One self-contained HTML page per evaluation: inline CSS and base64 PNG figures,
no scripts, no network. Overall scores come first, then the weakest columns with
what to do, per-column plots, heatmaps, utility and privacy."""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Callable, Sequence

from synthtab_db.quality import plots
from synthtab_db.quality.advice import column_advice, pair_advice
from synthtab_db.quality.report import MetricRow, Report

WORST = 3

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:24px auto;max-width:1160px;color:#222}
h1{font-size:26px;margin-bottom:4px} h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px} h3{margin-top:24px}
table{border-collapse:collapse;margin:8px 0 16px} td,th{border:1px solid #ddd;padding:4px 10px;font-size:14px;text-align:left}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bar{display:inline-block;height:12px;background:#4c9a2a;vertical-align:middle;margin-right:8px}
.bar.mid{background:#e0a800} .bar.low{background:#c0392b}
.worst{background:#fff4e5;border-left:5px solid #e67e22;padding:8px 14px;margin:8px 0}
.grid{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start} .grid img{border:1px solid #eee;width:376px;height:auto}
.note{color:#555;font-size:13px} td.flag{background:#fde2c8;font-weight:bold}
"""


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _bar(score: float | None) -> str:
    if score is None:
        return ""
    level = "" if score >= 0.9 else " mid" if score >= 0.75 else " low"
    return f'<span class="bar{level}" style="width:{max(2, int(160 * score))}px"></span>'


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(rows_cell(c) for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


class Raw(str):
    """A cell of pre-built markup (a number with its bar), right-aligned."""


class Flagged(str):
    """A text cell to highlight (a weak column)."""


def rows_cell(cell: str) -> str:
    if isinstance(cell, Raw):
        return f'<td class="num">{cell}</td>'
    if isinstance(cell, Flagged):
        return f'<td class="flag">{escape(cell)}</td>'
    return f"<td>{escape(cell)}</td>"


def _score_cell(value: float | None) -> str:
    return Raw(_bar(value) + _fmt(value))


def overall_section(report: Report) -> str:
    names = ["fidelity_score", "column_shapes", "pair_trends", "utility_score", "cardinality_score", "integrity_score"]
    rows = [
        [name.replace("_", " "), _score_cell(report.value(name))] for name in names if report.value(name) is not None
    ]
    sample = report.of_group("overall", "sample_rows")
    note = ""
    if sample:
        d = sample[0].detail
        note = f'<p class="note">Samples for pairwise, model and distance parts: {escape(_sizes(d))}. Per-column metrics use every row.</p>'
    return "<h2>Overall scores</h2>" + _table(["score (1 = identical)", "value"], rows) + note


def _sizes(detail: dict) -> str:
    parts = [
        f"{k} {detail[k + '_sampled']:,} of {detail[k + '_rows']:,} rows"
        for k in ("real", "synthetic", "holdout")
        if k + "_sampled" in detail
    ]
    return "; ".join(parts)


def _worst_columns(report: Report) -> list[MetricRow]:
    scored = [r for r in report.of_group("column", "column_score") if r.finite() is not None]
    return sorted(scored, key=lambda r: r.value)[:WORST]


def worst_section(report: Report) -> str:
    """The weakest columns and pairs, each with what to do; quiet when nothing needs doing."""
    items = [
        _item(r.columns, f"score {_fmt(r.value)}", column_advice(report, r.columns)) for r in _worst_columns(report)
    ]
    items = [i for i in items if "nothing to do" not in i] or items[:1]
    pairs = sorted(report.of_group("pairwise", "correlation_diff"), key=lambda r: -(r.finite() or 0))[:WORST]
    items += [
        _item(r.columns, f"association gap {_fmt(r.value)}", pair_advice(r)) for r in pairs if (r.finite() or 0) >= 0.1
    ]
    return "<h2>Weakest columns and pairs</h2>" + "".join(items) if items else ""


def _item(name: str, score: str, advice: str) -> str:
    return f'<div class="worst"><b>{escape(name)}</b> — {score}: {escape(advice)}</div>'


COLUMN_METRICS = [
    "column_score",
    "ks",
    "tvd",
    "jensen_shannon",
    "wasserstein",
    "null_rate_diff",
    "range_coverage",
    "category_coverage",
]


def columns_section(report: Report) -> str:
    metrics = COLUMN_METRICS
    names = [r.columns for r in report.of_group("column", "column_score")]
    if not names:
        return ""
    worst = {r.columns for r in _worst_columns(report) if (r.finite() or 1) < 0.97}
    rows = [
        [Flagged(name) if name in worst else name] + [_metric_cell(report, m, name) for m in metrics] for name in names
    ]
    lengths = {r.columns for r in report.of_group("column", "column_score") if r.detail.get("kind") == "text_length"}
    plotted = [r for r in report.of_group("column", "jensen_shannon") if r.detail.get("plot")]
    kinds = {r.columns: r.detail.get("kind") for r in report.of_group("column", "column_score")}
    images = [_distribution(r, " (length)" if r.columns in lengths else "", kinds.get(r.columns)) for r in plotted]
    grid = (
        '<div class="grid">'
        + "".join(f'<img alt="distribution of {escape(c)}" src="{uri}">' for c, uri in images)
        + "</div>"
    )
    return "<h2>Columns: real vs synthetic</h2>" + _table(["column"] + metrics, rows) + grid


def _metric_cell(report: Report, metric: str, column: str) -> str:
    value = report.value(metric, column)
    return _score_cell(value) if metric == "column_score" else Raw(_fmt(value))


TEMPORAL_KINDS = ("date", "timestamp", "timestamptz")


def _distribution(row: MetricRow, suffix: str, kind: str | None = None) -> tuple[str, str]:
    plot = row.detail["plot"]
    return row.columns, plots.DISTRIBUTION_PLOTS[plot["kind"]](row.columns + suffix, plot, kind in TEMPORAL_KINDS)


def pairwise_section(report: Report) -> str:
    frob = report.of_group("table", "correlation_frobenius")
    if not frob:
        return ""
    d = frob[0].detail
    pca = report.value("pca_similarity")
    text = (
        f"<p>Correlation-matrix distance (Frobenius) {_fmt(frob[0].value)} (RMS gap per pair {_fmt(d['rms_gap'])}); "
        f"PCA explained-variance similarity {_fmt(pca)}. Numbers pairs use Spearman, other pairs Cramér's V.</p>"
    )
    image = (
        f'<img alt="association heatmaps" style="max-width:100%" src="{plots.heatmaps(d["columns"], d["real"], d["synthetic"])}">'
        if len(d["columns"]) > 1
        else ""
    )
    return "<h2>Pairs: associations</h2>" + text + image


def utility_section(report: Report) -> str:
    rows = report.of_group("utility")
    if not rows:
        return ""
    detail = rows[0].detail
    table = _table(["metric", "value", "note"], [[r.metric, Raw(_fmt(r.value)), r.detail.get("not_measurable", "")]
                                                 for r in rows])
    note = (
        f'<p class="note">Target {escape(str(report.target))} ({escape(str(detail.get("task")))}); TRTR = train real, test real; '
        f"TSTR = train synthetic, test real; TRTS = train real, test synthetic. Test rows: {escape(str(detail.get('test')))}.</p>"
    )
    return "<h2>Utility</h2>" + table + note


PRIVACY_NOTES = {
    "dcr_share": "share of synthetic rows closer to training than to holdout rows; 0.5 is ideal",
    "membership_inference_auc": "telling training rows from holdout rows by distance to synthetic rows; 0.5 is ideal",
    "exact_copies": "synthetic rows equal to a training row (matched one to one)",
    "nndr_median": "nearest / second-nearest distance ratio; near 0 means rows sit on single real rows",
    "dcr_median": "median distance to the closest training row",
    "attribute_inference_accuracy": "guessing the sensitive column from the nearest synthetic row",
    "verbatim_rare_copies": "synthetic rows holding a value that fewer than 5 real rows hold (0 expected for "
                            "personal columns: names, emails, free text)",
}


def privacy_section(report: Report) -> str:
    rows = report.of_group("privacy")
    if not rows:
        return ""
    table = _table(
        ["metric", "value", "meaning", "detail"],
        [[r.metric + (f" ({r.columns})" if r.columns else ""), Raw(_fmt(r.value)), PRIVACY_NOTES.get(r.metric, ""),
          _brief(r.detail)] for r in rows],
    )
    dcr = report.of_group("privacy", "dcr_median")
    image = f'<img alt="DCR histogram" src="{plots.dcr_histogram(dcr[0].detail["plot"])}">' if dcr else ""
    return "<h2>Privacy risk</h2>" + table + image


def _brief(detail: dict) -> str:
    keep = {k: v for k, v in detail.items() if k != "plot" and not isinstance(v, (list, dict))}
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in keep.items())


def schema_section(report: Report) -> str:
    rows = [r for r in report.rows if r.group in ("cardinality", "integrity")]
    if not rows:
        return ""
    return "<h2>Foreign keys</h2>" + _table(
        ["edge", "metric", "value", "detail"],
        [[r.columns or "", r.metric, Raw(_fmt(r.value)), _brief(r.detail)] for r in rows],
    )


SECTIONS: list[Callable[[Report], str]] = [
    overall_section,
    schema_section,
    worst_section,
    columns_section,
    pairwise_section,
    utility_section,
    privacy_section,
]


def report_html(report: Report) -> str:
    title = f"{escape(report.synthetic)} vs {escape(report.real)}"
    holdout = f" · holdout {escape(report.holdout)}" if report.holdout else ""
    target = f" · target {escape(report.target)}" if report.target else ""
    at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<section><h1>{title}</h1><p class='note'>EVALUATE SYNTHETIC {escape(report.synthetic)} AGAINST "
        f"{escape(report.real)}{holdout}{target} · evaluated {at}</p>{_made_by(report)}"
        + "".join(s(report) for s in SECTIONS)
        + "</section>"
    )


def _made_by(report: Report) -> str:
    """Source, model, options, seed and time of the GENERATE that made the table (its comment)."""
    made = report.of_group("overall", "generated_by")
    if not made:
        return "<p class='note'>Not made by GENERATE (or its comment was changed): model unknown.</p>"
    d = made[0].detail
    options = ", ".join(f"{k} = {v}" for k, v in (d.get("options") or {}).items()) or "defaults"
    return (f"<p class='note'>Generated from {escape(str(d.get('source')))} by USING {escape(str(d.get('model')))}, "
            f"seed {escape(str(d.get('seed')))}, options: {escape(options)}, at {escape(str(d.get('at')))}"
            + (f"; {escape(str(d['note']))}" if d.get("note") else "") + ".</p>")


def write_html_report(reports: Report | Sequence[Report], path: str | Path) -> Path:
    """Write one self-contained HTML file for one or more reports; returns its path."""
    reports = [reports] if isinstance(reports, Report) else list(reports)
    page = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Synthetic data quality</title>"
        f"<style>{CSS}</style></head><body>{''.join(report_html(r) for r in reports)}</body></html>"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
