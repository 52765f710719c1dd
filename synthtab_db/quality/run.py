"""EVALUATE SYNTHETIC, end to end: parts registered by name run over one prepared
context per table pair; rows are stored, optionally rendered, and summarised."""

from __future__ import annotations

from typing import Callable

import pyarrow as pa
from threadpoolctl import threadpool_limits

from synthtab_db.catalog import read_schema, table_names
from synthtab_db.engine import provenance
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import TableRef
from synthtab_db.quality import pairwise, privacy, utility
from synthtab_db.quality.cardinality import schema_edges
from synthtab_db.quality.context import Context, prepare
from synthtab_db.quality.fidelity import column_metrics
from synthtab_db.quality.html import write_html_report
from synthtab_db.quality.options import EvaluateOptions, parse_options
from synthtab_db.quality.report import MetricRow, Report
from synthtab_db.quality.report_store import in_own_transaction, new_run_id, save
from synthtab_db.quality.scores import overall_rows, schema_overall, summary_table
from synthtab_db.quality.verbatim import verbatim_copies


def _columns(ctx: Context) -> list[MetricRow]:
    return column_metrics(ctx.con, ctx.specs, ctx.real, ctx.synthetic)


def _pairs(ctx: Context) -> list[MetricRow]:
    rows = pairwise.pairwise_metrics(ctx.enc, ctx.real_sample, ctx.synthetic_sample)
    return rows + pairwise.pca_similarity(ctx.enc, ctx.real_sample, ctx.synthetic_sample, ctx.options.seed)


def _utility(ctx: Context) -> list[MetricRow]:
    if ctx.target is None:
        return []
    train, test, source = ctx.test_set()
    return utility.utility_metrics(ctx.enc, ctx.target, train, test, ctx.synthetic_sample, ctx.options.seed, source)


def _privacy(ctx: Context) -> list[MetricRow]:
    if not ctx.specs:
        return []
    rows = privacy.exact_copies(ctx.con, ctx.specs, ctx.synthetic, ctx.real, ctx.holdout)
    rows += verbatim_copies(ctx.con, ctx.specs, ctx.synthetic, ctx.real)
    train, holdout = privacy.equalise(ctx.real_sample, ctx.holdout_sample, ctx.options.seed)
    inputs = privacy.Inputs(ctx.enc, train, holdout, ctx.synthetic_sample, ctx.options.sensitive, ctx.options.seed)
    return rows + privacy.distance_metrics(inputs)


PARTS: dict[str, Callable[[Context], list[MetricRow]]] = {
    "columns": _columns,
    "pairwise": _pairs,
    "utility": _utility,
    "privacy": _privacy,
}


FIDELITY_PARTS = ("columns", "pairwise")


def evaluate_table(
    con,
    synthetic: TableRef,
    real: TableRef,
    holdout: TableRef | None = None,
    target: str | None = None,
    options: EvaluateOptions | None = None,
) -> Report:
    """Every registered part for one synthetic/real pair, then the overall scores."""
    ctx = prepare(con, synthetic, real, holdout, target, options or EvaluateOptions())
    report = Report(str(synthetic), str(real), str(holdout) if holdout else None, ctx.target)
    made = provenance.read(con, synthetic)
    report.add([MetricRow("overall", "generated_by", None, None, made)] if made else [])
    return _scored(report, ctx, PARTS)


def fidelity_report(
    con, synthetic: TableRef, real: TableRef, options: EvaluateOptions | None = None, exclude: tuple[str, ...] = ()
) -> Report:
    """Only the fidelity parts and the overall scores: what GENERATE … WITH (target_quality = …)
    scores each round by (utility and privacy need a TARGET and cost model fits)."""
    ctx = prepare(con, synthetic, real, None, None, options or EvaluateOptions(), exclude)
    return _scored(Report(str(synthetic), str(real)), ctx, {name: PARTS[name] for name in FIDELITY_PARTS})


def _scored(report: Report, ctx: Context, parts: dict[str, Callable[[Context], list[MetricRow]]]) -> Report:
    with threadpool_limits(1):  # OpenMP/BLAS spin-waits made 2 threads ~20x slower than 1 on shared cores
        for part in parts.values():
            report.add(part(ctx))
    report.add([ctx.sample_row()] + overall_rows(report))
    return report


def evaluate_schema(con, synthetic_schema: str, real_schema: str, options: EvaluateOptions) -> list[Report]:
    """Each real table with a synthetic namesake, plus one report of the FK edges."""
    real_tables = read_schema(con, real_schema).tables
    synthetic = {ref.name.lower() for ref in table_names(con, synthetic_schema)}
    if not real_tables or not synthetic:
        empty = real_schema if not real_tables else synthetic_schema
        raise SynthError(f"EVALUATE SYNTHETIC SCHEMA: schema {empty} has no tables")
    pairs = [t for t in real_tables if t.name.lower() in synthetic]
    reports = [
        evaluate_table(con, TableRef(name=t.name, schema=synthetic_schema), t.ref, options=options) for t in pairs
    ]
    edges = schema_edges(con, list(real_tables), synthetic, synthetic_schema)
    summary = Report(f"schema {synthetic_schema}", f"schema {real_schema}")
    summary.add(edges + schema_overall(reports, edges))
    return [summary, *reports]


def run_evaluate(con, statement) -> pa.Table:
    """The EVALUATE SYNTHETIC handler: a summary result set (one row per score)."""
    options = parse_options(statement.options)
    run_id = new_run_id()
    reports = in_own_transaction(con, lambda: _evaluated_and_saved(con, statement, options, run_id))
    if options.html:
        write_html_report(reports, options.html)
    return summary_table(run_id, reports)


def _evaluated_and_saved(con, statement, options: EvaluateOptions, run_id: str) -> list[Report]:
    reports = _reports(con, statement, options)
    save(con, run_id, reports, statement.into)
    return reports


def _reports(con, statement, options: EvaluateOptions) -> list[Report]:
    if statement.synthetic_schema is None:
        return [evaluate_table(con, statement.synthetic, statement.real, statement.holdout, statement.target, options)]
    if statement.holdout is not None or statement.target is not None:
        raise SynthError(
            "HOLDOUT and TARGET apply to one table: evaluate that table with EVALUATE SYNTHETIC <t> AGAINST <r>"
        )
    return evaluate_schema(con, statement.synthetic_schema, statement.real_schema, options)
