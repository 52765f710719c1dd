"""GENERATE … WITH (target_quality = q[, max_rounds = r]): the quality feedback loop.

The source is split once, by a seeded permutation, into rows to learn from and a
holdout the model never sees.  Each round fits the model on the first part,
generates the requested rows into a table of its own, and scores them with the
fidelity part of EVALUATE SYNTHETIC against the holdout, so a model that copies
its training rows gains nothing.  The report's weakest columns and pairs pick the
next round's options (``adjustments.py``, per model).  The loop stops at the
target, after ``max_rounds``, or when the model has nothing left to adjust; the
best round's table becomes the target, the others are dropped.  It all runs in
one transaction: a failure leaves the database as it was.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from synthtab_db.duck import atomic, first_row, run_sql
from synthtab_db.engine.adjustments import ADJUSTERS, adjust
from synthtab_db.engine.learn import epoch_callback
from synthtab_db.engine.table_job import TableJob, TableResult, generate_table
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Table, TableRef
from synthtab_db.planner.steps import RowRule
from synthtab_db.sqlbuild import count_rows, create_table_sql, scratch_table_sql, table_expr
from synthtab_db.statements import GenerateStatement

HOLDOUT_SHARE = 0.2
MAX_HOLDOUT_ROWS = 20_000  # the evaluation samples at most this many rows anyway
MIN_HOLDOUT_ROWS = 20
SCRATCH_SCHEMA = "temp"

QUALITY_COLUMNS = [
    ("quality_rounds", pa.list_(pa.float64())),  # fidelity score of each round, against the holdout
    ("quality_changes", pa.list_(pa.string())),  # what each round changed in the model's options
    ("kept_round", pa.int64()),  # the round whose rows are in the target (1-based)
]


@dataclass
class Round:
    number: int
    options: dict
    changes: tuple[str, ...]
    score: float | None = None
    table: TableRef | None = None
    result: TableResult | None = None
    report: object = None


def run_feedback(con: duckdb.DuckDBPyConnection, job: TableJob, statement: GenerateStatement, progress) -> pa.Table:
    """The loop for one table; refusals first, then one transaction."""
    _refuse(job, statement)
    quality = _quality_functions()
    loop = _Loop(con, job, statement, progress, quality)
    return atomic(con, loop.run, "GENERATE")


def _quality_functions():
    """The scoring lives in synthtab_db.quality (scikit-learn): imported only when asked for."""
    try:
        from synthtab_db.quality import EvaluateOptions, fidelity_report  # noqa: PLC0415
        from synthtab_db.quality.report_store import new_run_id, save  # noqa: PLC0415
        from synthtab_db.quality.weakness import weaknesses  # noqa: PLC0415
    except ImportError as err:
        raise SynthError(f"target_quality needs the quality extra: pip install 'synthtab-db[quality]' ({err})") from None
    return EvaluateOptions, fidelity_report, weaknesses, new_run_id, save


def _refuse(job: TableJob, statement: GenerateStatement) -> None:
    options = statement.options
    if options.append:
        raise SynthError("target_quality writes a new target (or replaces one); it does not append")
    if job.model_options.get("epsilon") is not None:
        raise SynthError(
            "target_quality fits the model once per round and scores every round against real rows, which "
            "spends privacy budget outside the ledger; drop epsilon or target_quality"
        )


def holdout_split(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows to learn from, holdout rows): a fifth of the source, at most MAX_HOLDOUT_ROWS,
    chosen by a seeded permutation; both sorted, so each keeps the source's row order."""
    size = min(MAX_HOLDOUT_ROWS, int(round(rows * HOLDOUT_SHARE)))
    order = np.random.default_rng(seed).permutation(rows)
    return np.sort(order[size:]), np.sort(order[:size])


def split_source(con, table: Table, source: TableRef, seed: int, where: str | None = None) -> tuple[TableRef, TableRef]:
    """Scratch tables (TEMP: private to this connection) with the rows to learn from and the
    holdout; with a WHERE, the holdout keeps only the rows that satisfy it."""
    data = con.sql(f"SELECT * FROM {table_expr(source).sql('duckdb')}").to_arrow_table()
    fit_rows, holdout_rows = holdout_split(data.num_rows, seed)
    token = uuid.uuid4().hex[:12]
    fit = _scratch(con, table, f"__synthtab_fit_{token}", data.take(pa.array(fit_rows, pa.int64())))
    holdout = _scratch(con, table, f"__synthtab_holdout_{token}", data.take(pa.array(holdout_rows, pa.int64())))
    if where:
        run_sql(con, f"DELETE FROM {table_expr(holdout).sql('duckdb')} WHERE NOT coalesce(({where}), FALSE)")
    kept = first_row(con, f"SELECT count(*) FROM {table_expr(holdout).sql('duckdb')}")[0]
    if kept < MIN_HOLDOUT_ROWS:
        matching = " matching the WHERE" if where else f" (a source of at least {MIN_HOLDOUT_ROWS * 5} rows)"
        raise SynthError(
            f"target_quality: source table {source} leaves {kept} holdout rows to score against; "
            f"it needs {MIN_HOLDOUT_ROWS}{matching}"
        )
    return fit, holdout


def _scratch(con, table: Table, name: str, rows: pa.Table) -> TableRef:
    """Columns spelled out and one INSERT (a CREATE TABLE AS inside a transaction can lose rows)."""
    run_sql(con, scratch_table_sql(table, name, {}))
    view = f"__synthtab_rows_{name}"
    con.register(view, rows)
    try:
        columns = ", ".join(table_expr(TableRef(name=c.name)).sql("duckdb") for c in table.columns)
        run_sql(con, f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {view}")
    finally:
        con.unregister(view)
    return TableRef(name=name, schema=SCRATCH_SCHEMA)


class _Loop:
    def __init__(self, con, job: TableJob, statement: GenerateStatement, progress, quality) -> None:
        self.con, self.job, self.statement, self.progress = con, job, statement, progress
        self.EvaluateOptions, self.fidelity_report, self.weaknesses, self.new_run_id, self.save = quality
        self.options = statement.options
        self.seed = self.options.seed if self.options.seed is not None else 0
        self.rounds: list[Round] = []
        self.stopped = ""

    def run(self) -> pa.Table:
        started = time.perf_counter()
        fit, holdout = split_source(self.con, self.job.table, self.job.source, self.seed, self.job.where)
        rows = self.job.rows.rows_for(self.job.step.source_rows) or self.job.step.source_rows
        self._create_schema()
        current = Round(1, _every_option(self.job.model, self.job.model_options), ("as given",))
        while current is not None:
            self._play(current, fit, holdout, rows)
            current = self._next(current)
        best = self._keep_best()
        run_id = self._save_report(best, holdout)
        for scratch in (fit, holdout):
            run_sql(self.con, f"DROP TABLE {table_expr(scratch).sql('duckdb')}")
        return self._result(best, run_id, time.perf_counter() - started)

    def _create_schema(self) -> None:
        if self.job.target.schema:
            run_sql(self.con, f"CREATE SCHEMA IF NOT EXISTS {table_expr(TableRef(name=self.job.target.schema)).sql('duckdb')}")

    def _play(self, current: Round, fit: TableRef, holdout: TableRef, rows: int) -> None:
        """Fit on ``fit``, generate into the round's own table, score against ``holdout``."""
        current.table = TableRef(
            name=f"__synthtab_round{current.number}_{uuid.uuid4().hex[:8]}", schema=self.job.target.schema
        )
        current.result = self._generate(current, fit, rows)
        options = self.EvaluateOptions(seed=self.seed)
        current.report = self.fidelity_report(
            self.con, current.table, holdout, options, exclude=_key_columns(self.job.table)
        )
        current.score = current.report.value("fidelity_score")
        self.rounds.append(current)
        self._drop_worse()

    def _generate(self, current: Round, fit: TableRef, rows: int) -> TableResult:
        """The engine's own table generation, with the round's source, target and options."""
        from synthtab_db.engine.run import declared_parent  # noqa: PLC0415

        job = self.job.with_step(source=fit, target=current.table, rows=RowRule(kind="fixed", rows=rows, estimate=rows),
                                 model_options=current.options, append=False)
        run_sql(self.con, create_table_sql(job.table, current.table, declared_parent(job)))
        return generate_table(
            self.con,
            job,
            seed=None if self.options.seed is None else [self.options.seed, 0, current.number],
            max_rounds=self.options.constraint_rounds(),
            batch_size=self.options.sample_batch_size,
            progress=self.progress,
            on_epoch=epoch_callback(self.progress, f"{self.job.source} (quality round {current.number})"),
        )

    def _next(self, last: Round) -> Round | None:
        """The next round, or None with the reason the loop stops."""
        target = self.options.target_quality
        if last.score is None:
            self.stopped = f"no learned column to score (only keys): stopped after round {last.number}"
            return None
        if last.score >= target:
            self.stopped = f"target {target:g} reached in round {last.number}"
            return None
        if last.number >= self.options.quality_rounds():
            self.stopped = f"target {target:g} not reached in {last.number} rounds (max_rounds)"
            return None
        weakness = self.weaknesses(last.report)
        adjustment = adjust(self.job.model.name, last.options, weakness)
        if adjustment is None:
            self.stopped = f"target {target:g} not reached; {self._nothing_left()}: stopped after round {last.number}"
            return None
        why = f"weakest: {weakness.describe()}"
        return Round(last.number + 1, adjustment.options, (*adjustment.changes, why))

    def _nothing_left(self) -> str:
        name = self.job.model.name
        return f"nothing left to adjust in {name}" if name in ADJUSTERS else f"no adjustments known for model {name}"

    def _best(self) -> Round:
        """Highest score; the earlier round on a tie (the cheaper options)."""
        return max(self.rounds, key=lambda r: (r.score if r.score is not None else -1.0, -r.number))

    def _drop_worse(self) -> None:
        """Only the best round's table is kept as the loop goes: disk stays one table's worth."""
        best = self._best()
        for r in self.rounds:
            if r is not best and r.table is not None:
                run_sql(self.con, f"DROP TABLE IF EXISTS {table_expr(r.table).sql('duckdb')}")
                r.table = None

    def _keep_best(self) -> Round:
        best = self._best()
        if self.options.replace:
            run_sql(self.con, f"DROP TABLE IF EXISTS {table_expr(self.job.target).sql('duckdb')}")
        rename = table_expr(TableRef(name=self.job.target.name)).sql("duckdb")
        run_sql(self.con, f"ALTER TABLE {table_expr(best.table).sql('duckdb')} RENAME TO {rename}")
        return best

    def _save_report(self, best: Round, holdout: TableRef) -> str:
        """The kept round's fidelity rows in synthtab.quality_reports, named for the target."""
        run_id = self.new_run_id()
        best.report.synthetic = str(self.job.target)
        best.report.real = f"{self.job.source} (holdout: {count_rows(self.con, holdout)} rows)"
        self.save(self.con, run_id, [best.report])
        return run_id

    def _result(self, best: Round, run_id: str, seconds: float) -> pa.Table:
        from synthtab_db.engine.run import result_table  # noqa: PLC0415

        result = dataclasses.replace(
            best.result,
            table=str(self.job.target),
            source=str(self.job.source),
            seconds=seconds,  # every round, its evaluation included
            note=_join(self.job.note, f"quality: round {best.number} kept; {self.stopped}; report run_id {run_id}"),
        )
        table = result_table([result])
        values = {
            "quality_rounds": [[None if r.score is None else round(r.score, 4) for r in self.rounds]],
            "quality_changes": [["; ".join(r.changes) for r in self.rounds]],
            "kept_round": [best.number],
        }
        for name, kind in QUALITY_COLUMNS:
            table = table.append_column(pa.field(name, kind), pa.array(values[name], type=kind))
        return table


def _key_columns(table: Table) -> tuple[str, ...]:
    """Keys come from key generators and FK values from parents: not the model's to score."""
    keys = [c for key in table.keys for c in key.columns] + [c for fk in table.foreign_keys for c in fk.columns]
    return tuple(dict.fromkeys(keys))


def _join(*notes: str | None) -> str:
    return "; ".join(n for n in notes if n)


def _every_option(model, given: dict) -> dict:
    """The model's options with their defaults filled in: an adjustment scales what the round
    used (the statement passes only what WITH set; the loop is refused under DP, whose defaults
    depend on epsilon, so filling them in changes nothing else)."""
    options_model = model.options_model
    return options_model(**given).model_dump() if options_model else dict(given)
