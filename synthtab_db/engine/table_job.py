"""One table of a plan: learn, then sample → stage → check → accept, in bounded rounds.

Rows rejected by a check are regenerated (a child row keeps its parent slot, so
children-per-parent counts survive regeneration); when the target count can't
be reached the statement fails naming the constraint that kept rejecting rows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Callable

import duckdb
import numpy as np
import pyarrow as pa
from sqlglot import exp

from synthtab_db.checks import CheckContext, compile_checks, condition_check
from synthtab_db.checks.compile import ROW_ORDER
from synthtab_db.conditions import parse_conditions
from synthtab_db.duck import run_sql
from synthtab_db.engine import foreign_keys as fks
from synthtab_db.engine.inherited_keys import apply_inherited
from synthtab_db.engine.learn import Learned, learn_table
from synthtab_db.engine.self_reference import insert_accepted
from synthtab_db.engine.staging import Stage
from synthtab_db.engine.streaming import made_ahead
from synthtab_db.engine.threads import one_blas_thread
from synthtab_db.errors import SynthError
from synthtab_db.models.base import Synthesizer
from synthtab_db.planner.roles import column_roles, fk_key_mode
from synthtab_db.planner.schema import ForeignKey, Kind, Schema
from synthtab_db.planner.steps import GenerateStep
from synthtab_db.privacy.budget import privacy_report
from synthtab_db.rules.rare import rare_values
from synthtab_db.sqlbuild import quote, table_expr, table_sql
from synthtab_db.transforms.base import as_array

SLOT = "__slot"
MALFORMED = "malformed model output"
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TableJob:
    """A plan step ready to run: the step, plus what only the engine holds (the model class,
    a stored synthesizer's learned state, the source schema, this statement's generated tables)."""

    step: GenerateStep
    model: type[Synthesizer]
    learned: "Learned | None" = None  # a stored synthesizer's; None: learn from the source
    schema: Schema | None = None  # the source schema: where the context chain above the table is read
    generated: dict = field(default_factory=dict)  # source table key -> its generated table, this statement

    table = property(lambda self: self.step.table)
    source = property(lambda self: self.step.source)
    target = property(lambda self: self.step.target)
    rows = property(lambda self: self.step.rows)
    model_options = property(lambda self: self.step.model_options)
    where = property(lambda self: self.step.where)
    append = property(lambda self: self.step.append)
    note = property(lambda self: self.step.note)
    parents = property(lambda self: self.step.parent_tables())  # FK columns -> table holding the parents
    parent_sources = property(lambda self: self.step.parent_sources())  # FK columns -> the source's parent
    deferred = property(lambda self: self.step.deferred_tables())  # cycle FK -> (source, generated parent)

    def with_step(self, **changes) -> "TableJob":
        """The same job on a changed step (a new value: steps are frozen)."""
        return replace(self, step=self.step.model_copy(update=changes))


@dataclass
class TableResult:
    table: str
    source: str
    rows: int
    model: str
    seconds: float
    rounds: int
    rejected: dict[str, int] = field(default_factory=dict)
    children_ks: dict[str, float] = field(default_factory=dict)  # FK -> KS of children-per-parent, real vs synthetic
    note: str | None = None
    privacy: dict | None = None  # a DP run: epsilon, delta spent, noise_multiplier, max_grad_norm
    deferred_samplers: dict = field(default_factory=dict)  # a DP run's released samplers of cycle FKs


class TableRun:
    """State of one table's generation: fitted model, keys, FK samplers, rounds."""

    def __init__(self, con: duckdb.DuckDBPyConnection, job: TableJob, seed: int | None, batch_size: int):
        self.con, self.job, self.batch_size = con, job, batch_size
        self.rng = np.random.default_rng(seed)
        self.roles = column_roles(job.table)
        self.rejected: dict[str, int] = {}
        # rows stream straight into the target; a self-referencing table is staged whole, then
        # inserted tree level by level (DuckDB refuses a parent and its child in one INSERT)
        self.streaming = not any(job.table.is_self_reference(fk) for fk in job.table.foreign_keys)
        self.accepted_table = table_expr(job.target).sql("duckdb") if self.streaming else "__synthtab_accepted"
        self.last_keys: dict[str, pa.Array | None] = {}

    # -- what was learned, and the parents generated so far ---------------------------
    def use(self, learned: Learned) -> None:
        self.learned = learned
        self.model, self.keygens, self.samplers = learned.model, learned.keygens, learned.samplers
        self.main = learned.fk(learned.main) if learned.main and learned.main in self.job.parents else None
        self.self_null_rates, self.source_rows = learned.self_null_rates, learned.source_rows
        self.samplers = {cols: s for cols, s in learned.samplers.items() if cols in self.job.parents}
        self.inherited = {k.columns: k for k in learned.inherited if k.columns in self.samplers and self.main is not None
                          and fk_key_mode(self.job.table, learned.fk(k.columns), self.main) == "free"}
        self.parent_rows = {cols: self._parent_rows(cols) for cols in self.samplers}
        self.conditions = self._conditions()
        rules = learned.rules
        self.rare = rare_values(self.con, self.job.source, rules.personal_columns()) if rules else {}
        capped = {c.name for c in self.job.table.columns if c.type.length}
        self.decoded = capped | (rules.reads() if rules is not None else set())  # see _plain

    def _conditions(self) -> dict:
        """WHERE on the model's own columns, for a model that samples conditionally (the
        SQL check still enforces the whole WHERE)."""
        if not self.job.where or not self.model.supports_conditions:
            return {}
        model_columns = {c.lower(): c for c in self.model_columns()}
        found = parse_conditions(self.job.where).items()
        return {
            model_columns[k]: c.model_copy(update={"column": model_columns[k]}) for k, c in found if k in model_columns
        }

    def _parent_rows(self, cols: tuple[str, ...]) -> pa.Table:
        """The parent rows an FK draws from; the main FK's carry the model's context too."""
        fk = self.samplers[cols].fk
        own = [(c, c) for c in fk.ref_columns]
        if self.main is None or cols != self.main.columns:
            return self._select(cols, own)
        own += [(c, a) for key in self.inherited.values() for c, a in zip(key.parent_columns, key.aliases())]
        context = self.learned.context
        if context is None:
            return self._select(cols, own)
        return self.con.sql(context.parents_sql(self.job.parents[cols], own, self.job.generated)).to_arrow_table()

    def _select(self, cols: tuple[str, ...], own: list[tuple[str, str]]) -> pa.Table:
        select = ", ".join(f"{quote(c)} AS {quote(a)}" for c, a in own)
        return self.con.sql(f"SELECT {select} FROM {table_sql(self.job.parents[cols])}").to_arrow_table()

    def _context(self, parents: np.ndarray | None) -> pa.Table | None:
        """Each row's parent context (NULL for a row without a parent), or None."""
        context = self.learned.context
        if context is None or parents is None or self.main is None:
            return None
        rows = self.parent_rows[self.main.columns].select(context.names)
        missing = parents == fks.NO_PARENT
        index = pa.array(np.where(missing, 0, parents), type=pa.int64(), mask=missing if missing.any() else None)
        if rows.num_rows == 0:
            return pa.table({c: pa.nulls(parents.size, rows.schema.field(c).type) for c in context.names})
        return rows.take(index)

    # -- how many rows, and for which parents -------------------------------------
    def plan_slots(self) -> tuple[int, range | None]:
        """Rows to make and, for a child table, the row positions still to fill: each
        position has its parent (and its place in a parent's sequence) fixed up front,
        so a rejected row is regenerated for the same parent and the same time."""
        rows = self.job.rows.rows_for(self.source_rows)  # the plan's rule, with what was learned
        if self.main is None:
            return rows, None
        sampler = self.samplers[self.main.columns]
        self.parent_of_row = fks.slots_for_main(sampler, self.parent_rows[self.main.columns], rows, self.rng,
                                                self._children_cap())
        if self.learned.sequence is not None:
            self.sequence_values = self.learned.sequence.values(self.parent_of_row, self.rng)
        return self.parent_of_row.size, range(self.parent_of_row.size)  # positions, made a batch at a time

    def _children_cap(self) -> int | None:
        """Rows one main parent can have when a key pairs the main FK with another FK."""
        sizes = [self.parent_rows[cols].num_rows for cols, s in self.samplers.items()
                 if cols != self.main.columns and fk_key_mode(self.job.table, s.fk, self.main) == "per_parent"]
        return min(sizes) if sizes else None

    # -- one batch -------------------------------------------------------------------
    def batch(self, n: int, positions: np.ndarray | None, row_offset: int) -> pa.Table:
        seed = int(self.rng.integers(2**63 - 1))
        parents = None if positions is None else self.parent_of_row[positions]
        context = self._context(parents)
        columns: dict[str, pa.Array] = dict(zip(self.model_columns(), self._model_sample(n, seed, context)))
        columns.update(self._keys(n))
        columns.update(self._foreign(n, parents))
        if positions is not None and self.learned.sequence is not None:
            columns[self.learned.sequence.column] = self.sequence_values.take(pa.array(positions))
        if self.learned.rules is not None:
            columns = self.learned.rules.from_model(columns, self.job.table, n, self.rng, self.rare)
        ordered = {c.name: _fit_length(c, columns[c.name]) for c in self.job.table.columns}
        ordered[ROW_ORDER] = pa.array(np.arange(row_offset, row_offset + n, dtype=np.int64))
        if positions is not None:
            ordered[SLOT] = pa.array(positions.astype(np.int64))
        return pa.table(ordered)

    def model_columns(self) -> tuple[str, ...]:
        if self.learned.rules is not None:  # the rules may leave the model nothing to learn
            return self.learned.model_columns
        return self.learned.model_columns or self.roles.model

    def _model_sample(self, n: int, seed: int, context: pa.Table | None = None) -> list[pa.Array]:
        if not self.model_columns():
            return []
        malformed_before = self.model.malformed_rows
        extra = {"conditions": self.conditions} if self.conditions else {}
        extra.update({"encoded": True} if self.model.supports_encoded else {})
        sample = self.model.sample(n, seed=seed, context=context, **extra)
        self._count_malformed(self.model.malformed_rows - malformed_before)
        return [self._plain(c, as_array(sample.column(c))) for c in self.model_columns()]  # one chunk: no copy

    def _plain(self, column: str, values: pa.Array) -> pa.Array:
        """A dictionary-encoded column (``supports_encoded``) goes to DuckDB as it is, which spares
        the sampler a copy of every string; one the rules read or a length cap cuts is decoded."""
        if not pa.types.is_dictionary(values.type) or column not in self.decoded:
            return values
        return values.cast(values.type.value_type)

    def _count_malformed(self, rows: int) -> None:
        """A model that parses its own output (gpt) drops and redraws malformed rows before the
        SQL checks see them; the result set still counts them."""
        if rows:
            self.rejected[MALFORMED] = self.rejected.get(MALFORMED, 0) + rows

    def _keys(self, n: int) -> dict[str, pa.Array]:
        return {c: self._new_keys(c, gen, n) for c, gen in self.keygens.items()}

    def _new_keys(self, column: str, gen, n: int) -> pa.Array:
        """A continuing generator needs only the last key it made (or, first, the target's
        keys when appending): no read-back of what was written, so batches stay O(batch)."""
        if not gen.continues():
            return gen.generate(n, self.rng, existing=self._existing(column))
        if column not in self.last_keys:
            self.last_keys[column] = self._existing(column) if self.job.append else None
        keys = gen.generate(n, self.rng, existing=self.last_keys[column])
        if len(keys):
            self.last_keys[column] = keys[-1:]
        return keys

    def reads_back(self) -> bool:
        """Whether making a batch queries the database (a random key generator's existing keys)."""
        return any(not gen.continues() for gen in self.keygens.values())

    def fresh_keys(self) -> bool:
        """Every key has a column from a continuing generator: no new key can repeat a row
        already written, so the checks look inside the batch only."""
        continuing = {c for c, gen in self.keygens.items() if gen.continues()}
        return all(continuing & set(key.columns) for key in self.job.table.keys)

    def _existing(self, column: str) -> pa.ChunkedArray:
        if self.streaming:
            return self.con.sql(f"SELECT {quote(column)} AS v FROM {self.accepted_table}").to_arrow_table().column("v")
        sources = [f"SELECT {quote(column)} AS v FROM {self.accepted_table}"]
        if self.job.append:
            sources.append(f"SELECT {quote(column)} AS v FROM {table_sql(self.job.target)}")
        return self.con.sql(" UNION ALL ".join(sources)).to_arrow_table().column("v")

    def _foreign(self, n: int, slots: np.ndarray | None) -> dict[str, pa.Array]:
        out: dict[str, pa.Array] = {}
        for fk in self.job.table.foreign_keys:
            if fk.columns not in self.samplers:
                out.update(self._nulls(fk, n))
                continue
            is_main = self.main is not None and fk.columns == self.main.columns
            index = slots if is_main else self._draw(fk, n, slots)
            null = None if is_main else self.samplers[fk.columns].null_mask(n, self.rng)
            keys = fks.take_keys(self.parent_rows[fk.columns], index, fk, null)
            if fk.columns in self.inherited and slots is not None:
                main_rows = self.parent_rows[self.main.columns]
                keys = apply_inherited(keys, self.inherited[fk.columns], main_rows, slots, self.rng)
            out.update(keys)
        return out

    def _nulls(self, fk: ForeignKey, n: int) -> dict[str, pa.Array]:
        """Self-references and cycle-deferred FKs: NULL now, filled in after acceptance."""
        return {c: pa.nulls(n, type=pa.int64()) for c in fk.columns}

    def _draw(self, fk: ForeignKey, n: int, slots: np.ndarray | None) -> np.ndarray:
        parents = self.parent_rows[fk.columns]
        weights = self.samplers[fk.columns].weights(parents.num_rows, self.rng)
        if parents.num_rows == 0:
            raise SynthError(
                f"table {self.job.target}: parent table {self.job.parents[fk.columns]} has no rows for FOREIGN KEY ({', '.join(fk.columns)})"
            )
        mode = fk_key_mode(self.job.table, fk, self.main)
        if mode == "distinct":
            return fks.draw_distinct(weights, n, self.rng)
        if mode == "per_parent" and slots is not None:
            return fks.draw_grouped_distinct(weights, slots, self.rng)
        return fks.draw_parents(weights, n, self.rng)


def _fit_length(column, values: pa.Array) -> pa.Array:
    """A declared VARCHAR(n) is a cap, not a value to learn: longer strings from a model or
    a key generator are cut to n characters (a key made equal by the cut is caught by the
    UNIQUE check and regenerated)."""
    length = column.type.length
    if not length or column.type.kind != Kind.STRING or not pa.types.is_string(values.type):
        return values
    return pa.compute.utf8_slice_codeunits(values, 0, length)


def generate_table(
    con: duckdb.DuckDBPyConnection,
    job: TableJob,
    *,
    seed: int | None,
    max_rounds: int,
    batch_size: int,
    progress: ProgressFn | None = None,
    learned: Learned | None = None,
    on_epoch=None,
) -> TableResult:
    """Learn from the source (unless ``learned`` is given: a stored synthesizer), then generate."""
    started = time.perf_counter()
    run = TableRun(con, job, seed, batch_size)
    if learned is None:
        learned = learn_table(con, job.table, job.source, job.parent_sources, job.model, job.model_options, on_epoch,
                              schema=job.schema, deferred_sources={c: src for c, (src, _) in job.deferred.items()})
    run.use(learned)
    stage = _stage(con, job, run)
    total, slots = run.plan_slots()
    with one_blas_thread():
        rounds = _rounds(run, stage, total, slots, max_rounds, progress)
    inserted = stage.inserted
    if not run.streaming:
        inserted = insert_accepted(con, job.table, job.target, run.accepted_table, run.self_null_rates, run.rng)
        run_sql(con, f"DROP TABLE IF EXISTS {run.accepted_table}")
    stage.close()
    return TableResult(
        str(job.target),
        str(job.source),
        inserted,
        job.model.name,
        time.perf_counter() - started,
        rounds,
        run.rejected,
        children_ks=_children_ks(con, run),
        privacy=privacy_report(learned.model),
        note="; ".join([n for n in [job.note, *learned.notes] if n]) or None,
        deferred_samplers={c: learned.samplers[c] for c in job.deferred if c in learned.samplers},
    )


def _children_ks(con: duckdb.DuckDBPyConnection, run: TableRun) -> dict[str, float]:
    """How far the synthetic children-per-parent counts are from the real ones, per FK."""
    out = {}
    for cols, sampler in run.samplers.items():
        synthetic = fks.child_counts(con, run.job.target, run.job.parents[cols], sampler.fk)
        out[f"{', '.join(cols)} -> {sampler.fk.ref_table.name}"] = fks.ks_statistic(sampler.counts, synthetic)
    return out


def _stage(con: duckdb.DuckDBPyConnection, job: TableJob, run: TableRun) -> Stage:
    ctx = CheckContext(existing=_existing_tables(job, run),
                       parents={cols: table_expr(ref) for cols, ref in job.parents.items()})
    checks = compile_checks(job.table, ctx)
    if job.where:
        checks.append(condition_check(job.where, ctx))
    stage = Stage(con, job.table, checks, run.accepted_table, numbered=not run.streaming)
    if not run.streaming:
        stage.create_accepted()
    return stage


def _existing_tables(job: TableJob, run: TableRun) -> tuple[exp.Table, ...]:
    """The tables a new key must not repeat: the target (rows written so far, and the old
    rows when appending) and the scratch table of a staged run; none for fresh keys."""
    if run.fresh_keys():
        return ()
    if run.streaming:
        return (table_expr(job.target),)
    return (exp.to_table(run.accepted_table),) + ((table_expr(job.target),) if job.append else ())


def _rounds(
    run: TableRun, stage: Stage, total: int, slots: np.ndarray | range | None, max_rounds: int,
    progress: ProgressFn | None
) -> int:
    state = _Progress(total=total, report=progress, name=str(run.job.target))
    while state.done < total and state.rounds < max_rounds:
        state.rounds += 1
        if slots is not None:
            slots = _slotted_round(run, stage, slots, state)
        else:
            _free_round(run, stage, state)
    if state.done < total:
        raise SynthError(_shortfall(run, total, state.done, max_rounds))
    return state.rounds


@dataclass
class _Progress:
    total: int
    report: ProgressFn | None
    name: str
    done: int = 0
    rounds: int = 0
    offset: int = 0
    rate: float = 1.0

    def record(self, run: "TableRun", n: int, result) -> None:
        self.offset += n
        self.done += result.accepted
        self.rate = max(result.accepted / n, 0.01) if n else self.rate
        _merge(run.rejected, result.rejected)
        if self.report:
            self.report(self.name, self.done, self.total)


def _slotted_round(run: TableRun, stage: Stage, pending: np.ndarray | range, state: _Progress) -> np.ndarray:
    """Every pending parent slot gets a row; slots of rejected rows go round again (the first
    round's are every position, a ``range``: no array as long as the table)."""
    again = []
    sizes = _batch_sizes(len(pending), run.batch_size, first_round=False)
    for start, size in zip(accumulate(sizes[:-1], initial=0), sizes):
        part = pending[start : start + size]
        part = np.arange(part.start, part.stop) if isinstance(part, range) else part
        result = stage.run(run.batch(part.size, part, state.offset), state.total - state.done, [SLOT])
        state.record(run, part.size, result)
        if result.failed.num_columns:
            again.append(result.failed.column(SLOT).to_numpy())
    return np.concatenate(again) if again else np.zeros(0, dtype=np.int64)


def _free_round(run: TableRun, stage: Stage, state: _Progress) -> None:
    """Oversample by the last acceptance rate, in batches, until enough rows pass; each
    next batch is sampled while the current one is checked and appended."""
    need = state.total - state.done
    want = min(int(math.ceil(need / state.rate * (1.1 if state.rate < 1 else 1))), 100 * need)
    sizes = _batch_sizes(want, run.batch_size, first_round=state.offset == 0)
    offsets = state.offset + np.cumsum([0] + sizes[:-1]) if sizes else []
    batches = made_ahead(lambda i: run.batch(sizes[i], None, int(offsets[i])), len(sizes), not run.reads_back())
    for n, batch in zip(sizes, batches):
        result = stage.run(batch, state.total - state.done, [])
        state.record(run, n, result)
        if state.done >= state.total:
            break


#: DuckDB's rows per row group: the unit its inserts write to the file.
ROW_GROUP_ROWS = 122_880


def _batch_sizes(want: int, batch_size: int, first_round: bool) -> list[int]:
    """Full batches, except that a run of several starts with an eighth of one (while the
    first batch is sampled nothing else can run, so a small one starts the overlap sooner),
    and a last piece under a row group joins the batch before it: when a statement's last
    INSERT is that small, DuckDB logs the row groups it ends in to the WAL instead of
    writing them (measured: 15 MB of WAL for 1M Adult rows in batches of 300,000, then a
    checkpoint that costs most of a second)."""
    if want <= 0:
        return []
    first = max(1, batch_size // 8) if first_round and want > batch_size else batch_size
    sizes = [min(first, want)]
    sizes += [min(batch_size, want - start) for start in range(sizes[0], want, batch_size)]
    if len(sizes) > 1 and sizes[-1] < ROW_GROUP_ROWS <= batch_size:
        sizes[-2:] = [sizes[-2] + sizes[-1]]
    return sizes


def _merge(total: dict[str, int], new: dict[str, int]) -> None:
    for name, count in new.items():
        total[name] = total.get(name, 0) + count


def _shortfall(run: TableRun, total: int, done: int, max_rounds: int) -> str:
    worst = max(run.rejected.items(), key=lambda kv: kv[1], default=("(none)", 0))
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(run.rejected.items(), key=lambda kv: -kv[1]))
    return (
        f"table {run.job.target}: only {done} of {total} rows satisfy the constraints after {max_rounds} rounds; "
        f"most rejections from {worst[0]} (rejected rows by constraint: {detail or 'none'}). "
        "Raise max_rounds, relax the constraint, or ask for fewer rows."
    )
