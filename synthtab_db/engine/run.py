"""A GENERATE statement end to end: resolve names, plan, then one transaction.

Everything that can be refused (unknown table, model or option, existing target)
is refused before the transaction starts; anything that fails inside it rolls
the whole statement back, so all target tables appear or none do.
"""

from __future__ import annotations

import dataclasses
import json

import duckdb
import pyarrow as pa
from sqlglot import exp

from synthtab_db import catalog, store
from synthtab_db.device import resolve_device
from synthtab_db.duck import atomic, first_row, run_sql
from synthtab_db.engine import provenance
from synthtab_db.engine.deferred import fill_deferred
from synthtab_db.engine.learn import epoch_callback, learned_from_state
from synthtab_db.engine.table_job import ProgressFn, TableJob, TableResult, generate_table
from synthtab_db.engine.targets import create_table_sql, table_expr
from synthtab_db.errors import SynthError
from synthtab_db.models import auto, default_model, get_model
from synthtab_db.planner.graph import parent_ref
from synthtab_db.planner.plan import build_plan, close_under_parents
from synthtab_db.planner.schema import ForeignKey, Schema, Table, TableRef
from synthtab_db.privacy import budget
from synthtab_db.statements import GenerateStatement, split_options

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
    if statement.synthesizer:
        return _generate_from_synthesizer(con, statement, progress)
    model = get_model(statement.using or default_model())
    budget.require_support(model, statement.model_options)
    statement = split_options(statement, getattr(model, "options_model", None))
    resolve_device(statement.options.device)
    schema = schema or catalog.read_schema(con)
    jobs = [resolve_auto(con, job) for job in _jobs(con, schema, statement, model)]
    budget.prepare_jobs(con, jobs, statement.options, statement.model_options, _count)
    if statement.options.target_quality is not None:
        from synthtab_db.engine.feedback import run_feedback  # noqa: PLC0415 (it imports this module)

        return run_feedback(con, jobs[0], statement, progress)
    return _run_jobs(con, jobs, statement, progress)


def resolve_auto(con, job: TableJob) -> TableJob:
    """USING auto (models/auto.py): the model for this table, and why, in the result's note."""
    rows = _count(con, job.source) if job.learned is None else 0
    model, options, why = auto.resolve(job.model, job.model_options, rows, job.table)
    if why is None:
        return job
    note = "; ".join(n for n in (job.note, why) if n)
    return dataclasses.replace(job, model=model, model_options=options, note=note)


def _run_jobs(con, jobs: list[TableJob], statement: GenerateStatement, progress) -> pa.Table:
    _refuse_existing_targets(con, jobs, statement)
    results = _in_transaction(con, lambda: _execute(con, jobs, statement, progress))
    return _result_table(results)


def current_schema(con: duckdb.DuckDBPyConnection) -> str:
    return first_row(con, "SELECT current_schema()")[0]


def qualify(con: duckdb.DuckDBPyConnection, ref: TableRef) -> TableRef:
    return ref if ref.schema else TableRef(name=ref.name, schema=current_schema(con))


def _source_table(schema: Schema, ref: TableRef) -> Table:
    try:
        return schema.table(ref)
    except KeyError:
        known = ", ".join(str(t.ref) for t in schema.tables) or "(none)"
        raise SynthError(f"unknown source table {ref}; tables: {known}") from None


def _jobs(con, schema: Schema, statement: GenerateStatement, model) -> list[TableJob]:
    if statement.database:
        return _database_jobs(con, schema, statement, model)
    source = _source_table(schema, qualify(con, statement.source))
    target = _single_target(con, statement, source)
    parent_sources = {
        fk.columns: parent_ref(schema, fk) for fk in source.foreign_keys if not source.is_self_reference(fk)
    }
    parents = _drawn_from(con, schema, statement, parent_sources)
    rows = statement.rows
    if rows is None and statement.scale is not None:
        rows = max(1, round(_count(con, source.ref) * statement.scale))
    job = TableJob(
        table=source,
        source=source.ref,
        target=target,
        rows=rows,
        scale=statement.scale or 1.0,
        parents=parents,
        parent_sources=parent_sources,
        model=model,
        model_options=statement.model_options,
        where=statement.where,
        append=statement.options.append,
        schema=schema,
    )
    _require_rows(con, job)
    return [job]


def _generate_from_synthesizer(con, statement: GenerateStatement, progress) -> pa.Table:
    """A stored synthesizer: no source needed, only the parents its FKs point at."""
    stored = store.load_synthesizer(con, statement.synthesizer)
    statement = split_options(statement, None)
    learned = learned_from_state(json.loads(stored["state"]), stored["weights"])
    table = learned.table
    schema = catalog.read_schema(con)
    parents = {fk.columns: parent_ref(schema, fk) for fk in table.foreign_keys if not table.is_self_reference(fk)}
    drawn = _drawn_from(con, schema, statement, parents)
    for fk in table.foreign_keys:
        if fk.columns in drawn and not schema.has_table(drawn[fk.columns]):
            raise SynthError(
                f"synthesizer {stored['name']}: parent table {fk.ref_table} of FOREIGN KEY ({', '.join(fk.columns)}) does not exist"
            )
    rows = (
        statement.rows
        if statement.rows is not None
        else (max(1, round(learned.source_rows * statement.scale)) if statement.scale else learned.source_rows or None)
    )
    follows_parents = statement.rows is None and statement.scale is None and _main_redirected(learned, parents, drawn)
    target = (
        qualify(con, statement.into)
        if statement.into
        else TableRef(name=f"synth_{table.name}", schema=current_schema(con))
    )
    job = TableJob(
        table=table,
        source=table.ref,
        target=target,
        rows=None if follows_parents else rows,
        scale=1.0,
        parents=drawn,
        parent_sources=parents,
        model=type(learned.model),
        model_options={},
        where=statement.where,
        append=statement.options.append,
        learned=learned,
    )
    if job.rows is None and not follows_parents:
        raise SynthError(f"synthesizer {stored['name']} learned from no rows; give ROWS <n>")
    return _run_jobs(con, [job], statement, progress)


def _main_redirected(learned, parents: dict, drawn: dict) -> bool:
    """Without ROWS, a child whose main parent was generated follows the learned
    children-per-parent counts over those generated parents, as FROM DATABASE does."""
    return learned.main is not None and learned.main in parents and drawn[learned.main] != parents[learned.main]


def _drawn_from(con, schema: Schema, statement: GenerateStatement, sources: dict) -> dict:
    """WITH (parents = {'customers': 'synth_customers'}): FK values come from an already
    generated parent; what is learned (children per parent) still comes from the source's."""
    wanted = {qualify(con, _as_ref(k)).key(): qualify(con, _as_ref(v)) for k, v in statement.options.parents.items()}
    unused = set(wanted) - {ref.key() for ref in sources.values()}
    if unused:
        named = ", ".join(k for k in statement.options.parents if qualify(con, _as_ref(k)).key() in unused)
        known = ", ".join(str(ref) for ref in sources.values()) or "(none)"
        raise SynthError(f"WITH (parents = …) names {named}, not a parent of this table; its FK parents: {known}")
    missing = [str(ref) for ref in wanted.values() if not schema.has_table(ref)]
    if missing:
        raise SynthError(f"WITH (parents = …): table {missing[0]} does not exist")
    return {cols: wanted.get(ref.key(), ref) for cols, ref in sources.items()}


def _as_ref(name: str) -> TableRef:
    table = exp.to_table(name, dialect="duckdb")
    return TableRef(name=table.name, schema=table.db or None)


def _single_target(con, statement: GenerateStatement, source: Table) -> TableRef:
    if statement.into is not None:
        return qualify(con, statement.into)
    schema = statement.into_schema or source.ref.schema
    return TableRef(name=f"synth_{source.name}" if not statement.into_schema else source.name, schema=schema)


def _require_rows(con, job: TableJob) -> None:
    if job.rows is None and not _count(con, job.source):
        raise SynthError(
            f"source table {job.source} has no rows to learn from; give ROWS <n> to generate from its schema alone"
        )


def _count(con, ref: TableRef) -> int:
    return first_row(con, f"SELECT count(*) FROM {table_expr(ref).sql('duckdb')}")[0]


def _members(con, schema: Schema, statement: GenerateStatement) -> tuple[list[Table], dict]:
    """The tables to generate: a whole schema, or a chosen set closed under its FKs
    (parents pulled in, each with a note)."""
    if statement.tables:
        chosen = [_source_table(schema, qualify(con, ref)).ref for ref in statement.tables]
        closed = close_under_parents(schema, chosen)
        notes = {ref.key(): "pulled in: parent of a chosen table" for ref in closed if ref not in chosen}
        return [schema.table(ref) for ref in closed], notes
    source_schema = statement.source_schema or current_schema(con)
    members = [t for t in schema.tables if (t.ref.schema or "").lower() == source_schema.lower()]
    if not members:
        raise SynthError(f"schema {source_schema!r} has no tables to generate from")
    return members, {}


def _database_jobs(con, schema: Schema, statement: GenerateStatement, model) -> list[TableJob]:
    if statement.options.parents:
        raise SynthError("WITH (parents = …) applies to a single-table GENERATE; FROM DATABASE draws from its own targets")
    members, notes = _members(con, schema, statement)
    if any((t.ref.schema or "").lower() == statement.into_schema.lower() for t in members):
        raise SynthError(f"INTO SCHEMA {statement.into_schema} holds a source table; choose another schema")
    unknown = set(statement.options.rows) - {t.name.lower() for t in members}
    if unknown:
        raise SynthError(
            f"WITH (rows = …) names {sorted(unknown)}, not tables of this GENERATE: {[t.name for t in members]}"
        )
    sub = Schema(tables=tuple(members))
    plan = build_plan(sub)
    target = {t.ref.key(): TableRef(name=t.name, schema=statement.into_schema) for t in members}
    jobs = [_database_job(sub, schema, sub.table(step.table), target, statement, model, step.deferred)
            for step in plan.steps]
    for job in jobs:
        job.note = notes.get(job.source.key())
        job.schema, job.generated = schema, target
    return jobs


def _database_job(sub: Schema, schema: Schema, table: Table, target: dict, statement, model,
                  deferred: tuple[ForeignKey, ...] = ()) -> TableJob:
    """A table of the plan; an FK the planner deferred (a cycle) is left out of its parents:
    NULL at insert, filled by ``fill_deferred`` once every table exists."""
    parents, sources, later = {}, {}, {}
    for fk in table.foreign_keys:
        if table.is_self_reference(fk):
            continue
        source = parent_ref(schema, fk)
        if fk in deferred:
            later[fk.columns] = (source, target.get(source.key(), source))
            continue
        sources[fk.columns] = source
        parents[fk.columns] = target.get(source.key(), source)
    return TableJob(
        deferred=later,
        table=table,
        source=table.ref,
        target=target[table.ref.key()],
        rows=statement.options.rows.get(table.name.lower(), statement.rows if _is_root(sub, table) else None),
        scale=statement.scale or 1.0,
        parents=parents,
        parent_sources=sources,
        model=model,
        model_options=statement.model_options,
        append=statement.options.append,
    )


def _is_root(sub: Schema, table: Table) -> bool:
    """No parent among the tables generated (a self-reference doesn't count): ROWS applies here."""
    return not any(sub.has_table(fk.ref_table) and not table.is_self_reference(fk) for fk in table.foreign_keys)


def _exists(con, ref: TableRef) -> bool:
    row = first_row(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE lower(schema_name) = lower($s) AND lower(table_name) = lower($t)",
        {"s": ref.schema, "t": ref.name},
    )
    return bool(row[0])


def _refuse_existing_targets(con, jobs: list[TableJob], statement: GenerateStatement) -> None:
    opts = statement.options
    for job in jobs:
        exists = _exists(con, job.target)
        if exists and not (opts.replace or opts.append):
            raise SynthError(
                f"target table {job.target} already exists; use WITH (replace = true) or WITH (append = true)"
            )
        if opts.append and not exists:
            object.__setattr__(job, "append", False)
        if job.target.key() == job.source.key():
            raise SynthError(f"target table {job.target} is the source table; choose another INTO")


def _execute(con, jobs: list[TableJob], statement: GenerateStatement, progress) -> list[TableResult]:
    _prepare_targets(con, jobs, statement)
    seed = statement.options.seed
    results = [
        generate_table(
            con,
            job,
            seed=None if seed is None else [seed, i],
            max_rounds=statement.options.max_rounds,
            batch_size=statement.options.sample_batch_size,
            progress=progress,
            learned=job.learned,
            on_epoch=epoch_callback(progress, str(job.source)),
        )
        for i, job in enumerate(jobs)
    ]
    for i, job in enumerate(jobs):
        if job.deferred:
            fill_deferred(con, job.table, job.source, job.target, job.deferred, None if seed is None else [seed, i, 1],
                          results[i].deferred_samplers)
    budget.record_results(con, jobs, results, "GENERATE SYNTHETIC FROM")  # same transaction as the tables
    for job, result in zip(jobs, results):  # what made each table, for EVALUATE's report
        provenance.record(con, job.target, {"source": str(job.source), "model": result.model, "seed": seed,
                                            "options": job.model_options, "note": result.note})
    return results


def _prepare_targets(con, jobs: list[TableJob], statement: GenerateStatement) -> None:
    for schema in {j.target.schema for j in jobs if j.target.schema}:
        run_sql(con, f"CREATE SCHEMA IF NOT EXISTS {table_expr(TableRef(name=schema)).sql('duckdb')}")
    if statement.options.replace:
        for job in reversed(jobs):
            run_sql(con, f"DROP TABLE IF EXISTS {table_expr(job.target).sql('duckdb')}")
    updated_later = {job.target.key() for job in jobs if job.deferred}
    for job in jobs:
        if not job.append:
            run_sql(con, create_table_sql(job.table, job.target, _declared_parent(job, updated_later)))


def _declared_parent(job: TableJob, updated_later: set = frozenset()):
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


def _in_transaction(con: duckdb.DuckDBPyConnection, work):
    return atomic(con, work, "GENERATE")


def _result_table(results: list[TableResult]) -> pa.Table:
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
