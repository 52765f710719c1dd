"""A GENERATE statement end to end: plan (``engine/planning.py`` reads the facts, the pure
``planner/`` resolves every form into a ``GeneratePlan``), then execute the plan in one
transaction.

Everything that can be refused (unknown table, model or option, existing target)
is refused before the transaction starts; anything that fails inside it rolls
the whole statement back, so all target tables appear or none do.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pyarrow as pa

from synthtab_db import runs, store
from synthtab_db.duck import run_sql
from synthtab_db.engine import provenance
from synthtab_db.engine.deferred import fill_deferred
from synthtab_db.engine.disk import refuse_beyond_disk
from synthtab_db.engine.learn import epoch_callback
from synthtab_db.engine.memory import bounded_buffer_pool, checkpoint_if_beyond
from synthtab_db.engine.planning import plan_statement
from synthtab_db.engine.preflight import check_jobs
from synthtab_db.engine.table_job import ProgressFn, TableJob, TableResult, generate_table
from synthtab_db.models import auto, get_model
from synthtab_db.planner.schema import ForeignKey, Schema, TableRef
from synthtab_db.planner.steps import GeneratePlan, GenerateStep
from synthtab_db.privacy import budget
from synthtab_db.sqlbuild import create_table_sql, table_sql
from synthtab_db.statements import GenerateStatement

RESULT_SCHEMA = pa.schema(
    [
        ("table", pa.string()),
        ("source", pa.string()),
        ("rows", pa.int64()),
        ("model", pa.string()),
        ("seconds", pa.float64()),
        ("rounds", pa.int64()),
        ("rejected_rows", pa.int64()),
        ("rejected", pa.map_(pa.string(), pa.int64())),
        ("children_ks", pa.map_(pa.string(), pa.float64())),
        ("note", pa.string()),
        ("epsilon", pa.float64()),  # DP runs: spent on this table (its share of the statement's budget)
        ("delta", pa.float64()),
        ("noise_multiplier", pa.float64()),
        ("max_grad_norm", pa.float64()),
    ]
)


def run_generate(
    con: duckdb.DuckDBPyConnection,
    statement: GenerateStatement,
    progress: ProgressFn | None = None,
    schema: Schema | None = None,
) -> pa.Table:
    """``schema`` replaces the DuckDB catalog's (the PostgreSQL bridge passes the source's own)."""
    plan, statement = plan_statement(con, statement, schema)
    with bounded_buffer_pool(con, statement.options.memory_limit):
        return _run_plan_of(con, plan, statement, progress)


def _run_plan_of(con, plan: GeneratePlan, statement: GenerateStatement, progress) -> pa.Table:
    requests = budget.check_steps(con, plan.steps, plan.allow_non_private)
    jobs = [resolve_auto(job) for job in plan_jobs(con, plan)]
    check_jobs(jobs)
    written = refuse_beyond_disk(con, jobs)  # before anything is learned or written
    if plan.target_quality is not None:
        from synthtab_db.engine.feedback import run_feedback  # noqa: PLC0415 (it imports this module)

        return run_feedback(con, jobs[0], statement, progress)
    result = run_plan(con, plan, jobs, progress, requests)
    checkpoint_if_beyond(con, written)
    return result


def plan_jobs(con: duckdb.DuckDBPyConnection, plan: GeneratePlan) -> list[TableJob]:
    """Each step with its model class, and a stored synthesizer's learned state loaded."""
    generated = plan.generated_map()
    return [TableJob(step=step, model=get_model(step.model), learned=_stored_learned(con, step),
                     schema=plan.source_schema, generated=generated) for step in plan.steps]


def resolve_auto(job: TableJob) -> TableJob:
    """USING auto (models/auto.py): the model for this table, and why, in the result's note."""
    rows = job.step.source_rows if job.learned is None else 0
    model, options, why = auto.resolve(job.model, job.model_options, rows, job.table)
    if why is None:
        return job
    note = "; ".join(n for n in (job.note, why) if n)
    return replace(job, model=model, step=job.step.model_copy(update={"model": model.name, "model_options": options,
                                                                      "note": note}))


def _stored_learned(con: duckdb.DuckDBPyConnection, step: GenerateStep):
    if step.synthesizer is None:
        return None
    return store.load_learned(con, step.synthesizer)


def run_plan(con: duckdb.DuckDBPyConnection, plan: GeneratePlan, jobs: list[TableJob], progress,
             requests=()) -> pa.Table:
    """Execute a plan: every target table in one transaction; a DP plan's cap check and
    ledger rows are one serialised step with it (``budget.spend_atomically``)."""
    results = budget.spend_atomically(con, list(requests), lambda: _execute(con, plan, jobs, progress),
                                      plan.allow_non_private, "GENERATE")
    return result_table(results)


def _execute(con, plan: GeneratePlan, jobs: list[TableJob], progress) -> list[TableResult]:
    _prepare_targets(con, jobs, plan.replace)
    results = [
        generate_table(
            con,
            job,
            seed=_seed(job.step),
            max_rounds=plan.max_rounds,
            batch_size=job.step.batch_size,
            progress=progress,
            learned=job.learned,
            on_epoch=epoch_callback(progress, str(job.source)),
        )
        for job in jobs
    ]
    for job, result in zip(jobs, results):
        if job.deferred:
            fill_deferred(con, job.table, job.source, job.target, job.deferred, _seed(job.step, 1),
                          result.deferred_samplers)
    budget.record_results(con, jobs, results, "GENERATE SYNTHETIC FROM")  # same transaction as the tables
    for result in results:
        runs.note_written(str(result.table), result.rows)
    for job, result in zip(jobs, results):  # what made each table, for EVALUATE's report
        provenance.record(con, job.target, {"source": str(job.source), "model": result.model,
                                            "seed": job.step.seed[0] if job.step.seed else None,
                                            "options": job.model_options, "note": result.note})
    return results


def _seed(step: GenerateStep, *more: int) -> list[int] | None:
    """The step's own stream (statement seed, position), or a sub-stream of it."""
    return None if step.seed is None else [*step.seed, *more]


def _prepare_targets(con, jobs: list[TableJob], replace: bool) -> None:
    for schema in {j.target.schema for j in jobs if j.target.schema}:
        run_sql(con, f"CREATE SCHEMA IF NOT EXISTS {table_sql(TableRef(name=schema))}")
    if replace:
        for job in reversed(jobs):
            run_sql(con, f"DROP TABLE IF EXISTS {table_sql(job.target)}")
    updated_later = {job.target.key() for job in jobs if job.deferred}
    for job in jobs:
        if not job.append:
            run_sql(con, create_table_sql(job.table, job.target, declared_parent(job, updated_later)))


def declared_parent(job: TableJob, updated_later: set = frozenset()):
    """DuckDB refuses FKs across schemas, and an UPDATE of a table that a declared FK
    references (a cycle's deferred key is filled by one): those FKs are still checked
    in SQL, just not declared."""

    def parent_of(fk: ForeignKey) -> TableRef | None:
        parent = job.parents.get(fk.columns)
        if parent is None or (parent.schema or "").lower() != (job.target.schema or "").lower():
            return None
        if parent.key() in updated_later:
            return None
        return parent

    return parent_of


def result_table(results: list[TableResult]) -> pa.Table:
    rows = [
        {
            "table": r.table,
            "source": r.source,
            "rows": r.rows,
            "model": r.model,
            "seconds": round(r.seconds, 3),
            "rounds": r.rounds,
            "rejected_rows": sum(r.rejected.values()),
            "rejected": list(r.rejected.items()),
            "children_ks": [(k, round(v, 4)) for k, v in r.children_ks.items()],
            "note": r.note,
            **budget.result_columns(r.privacy),
        }
        for r in results
    ]
    return pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
