"""The one planner entry: any GENERATE form (one table, FROM (…), FROM DATABASE, FROM
SYNTHESIZER, with WHERE, parents=, rows={…}, SCALE) becomes a ``GeneratePlan``.

Pure: the engine reads the facts the planner needs (row counts, existing targets, a stored
synthesizer's description, the current schema) and passes them in as ``PlanInputs``; every
refusal that needs no data happens here, before any transaction starts.
"""

from __future__ import annotations

from typing import Callable

from sqlglot import exp

from synthtab_db.errors import SynthError
from synthtab_db.planner.graph import close_under_parents, parent_ref
from synthtab_db.planner.plan import build_plan
from synthtab_db.planner.schema import ForeignKey, Schema, Table, TableRef
from synthtab_db.planner.steps import (
    GeneratePlan,
    GenerateStep,
    ParentLink,
    PlanInputs,
    RowRule,
    count_key,
)
from synthtab_db.privacy.budget import split
from synthtab_db.statements import GenerateStatement

__all__ = ["plan_generate", "tables_to_count", "source_table", "qualified"]


def plan_generate(statement: GenerateStatement, schema: Schema, inputs: PlanInputs) -> GeneratePlan:
    """``statement`` with its options already split for its model (``split_options``)."""
    form = _form(statement)
    plan = _FORMS[form](statement, schema, inputs)
    steps = _budget_shares(_seeded(plan.steps, statement), statement, inputs)
    _refuse_targets(steps, statement, inputs)
    steps = tuple(s.model_copy(update={"append": statement.options.append and inputs.exists(s.target)})
                  for s in steps)
    options = statement.options
    return plan.model_copy(update={"steps": steps, "replace": options.replace, "max_rounds": options.max_rounds,
                                   "target_quality": options.target_quality,
                                   "allow_non_private": options.allow_non_private})


def _form(statement: GenerateStatement) -> str:
    if statement.synthesizer:
        return "synthesizer"
    return "database" if statement.database else "table"


def tables_to_count(statement: GenerateStatement, schema: Schema, current_schema: str) -> tuple[TableRef, ...]:
    """The tables whose row counts the plan needs: its sources and their FK parents."""
    if statement.synthesizer:
        return ()
    if statement.database:
        members = [t.ref for t in _members(statement, schema, current_schema)[0]]
    else:
        members = [source_table(schema, qualified(statement.source, current_schema)).ref]
    parents = [parent_ref(schema, fk) for ref in members for fk in schema.table(ref).foreign_keys]
    return tuple(dict.fromkeys(r for r in members + parents if schema.has_table(r)))


# -- names ---------------------------------------------------------------------------


def qualified(ref: TableRef, current_schema: str) -> TableRef:
    return ref if ref.schema else TableRef(name=ref.name, schema=current_schema)


def source_table(schema: Schema, ref: TableRef) -> Table:
    try:
        return schema.table(ref)
    except KeyError:
        known = ", ".join(str(t.ref) for t in schema.tables) or "(none)"
        raise SynthError(f"unknown source table {ref}; tables: {known}") from None


def _as_ref(name: str) -> TableRef:
    table = exp.to_table(name, dialect="duckdb")
    return TableRef(name=table.name, schema=table.db or None)


# -- one table -------------------------------------------------------------------------


def _table_plan(statement: GenerateStatement, schema: Schema, inputs: PlanInputs) -> GeneratePlan:
    source = source_table(schema, qualified(statement.source, inputs.current_schema))
    sources = {fk.columns: parent_ref(schema, fk) for fk in source.foreign_keys if not source.is_self_reference(fk)}
    drawn = _drawn_from(statement, schema, inputs, sources)
    count = inputs.count(source.ref)
    rule = _single_rule(statement, source, count, bool(sources))
    step = GenerateStep(
        table=source, source=source.ref, target=_single_target(statement, source, inputs), rows=rule,
        model=inputs.model, model_options=statement.model_options, parents=_links(sources, drawn),
        main=main_foreign_key(source, sources, inputs.counts), where=statement.where, source_rows=count,
        **_common(statement),
    )
    return GeneratePlan(form="table", steps=(step,), source_schema=schema)


def _single_rule(statement: GenerateStatement, source: Table, count: int, has_parents: bool) -> RowRule:
    if statement.rows is not None:
        return RowRule(kind="fixed", rows=statement.rows, estimate=statement.rows, why="ROWS")
    if statement.scale is not None:
        rows = max(1, round(count * statement.scale))
        return RowRule(kind="fixed", rows=rows, scale=statement.scale, estimate=rows,
                       why=f"SCALE {statement.scale:g} x {count} source rows")
    if not count:
        raise SynthError(
            f"source table {source.ref} has no rows to learn from; give ROWS <n> to generate from its schema alone"
        )
    if has_parents:
        return RowRule(kind="per_parent", estimate=count, why="children per parent, learned")
    return RowRule(kind="source_scaled", estimate=count, why="source rows")


def _single_target(statement: GenerateStatement, source: Table, inputs: PlanInputs) -> TableRef:
    if statement.into is not None:
        return qualified(statement.into, inputs.current_schema)
    if statement.into_schema:
        return TableRef(name=source.name, schema=statement.into_schema)
    return TableRef(name=f"synth_{source.name}", schema=source.ref.schema)


def _drawn_from(statement: GenerateStatement, schema: Schema, inputs: PlanInputs, sources: dict) -> dict:
    """WITH (parents = {'customers': 'synth_customers'}): FK values come from an already
    generated parent; what is learned (children per parent) still comes from the source's."""
    at = inputs.current_schema
    wanted = {qualified(_as_ref(k), at).key(): qualified(_as_ref(v), at) for k, v in statement.options.parents.items()}
    unused = set(wanted) - {ref.key() for ref in sources.values()}
    if unused:
        named = ", ".join(k for k in statement.options.parents if qualified(_as_ref(k), at).key() in unused)
        known = ", ".join(str(ref) for ref in sources.values()) or "(none)"
        raise SynthError(f"WITH (parents = …) names {named}, not a parent of this table; its FK parents: {known}")
    missing = [str(ref) for ref in wanted.values() if not schema.has_table(ref)]
    if missing:
        raise SynthError(f"WITH (parents = …): table {missing[0]} does not exist")
    return {cols: wanted.get(ref.key(), ref) for cols, ref in sources.items()}


def _links(sources: dict, drawn: dict) -> tuple[ParentLink, ...]:
    return tuple(ParentLink(columns=cols, source=ref, drawn_from=drawn[cols]) for cols, ref in sources.items())


def main_foreign_key(table: Table, parent_sources: dict, counts: dict[str, int]) -> tuple[str, ...] | None:
    """The FK that fixes row counts: the parent with most rows (the most specific one:
    payment follows rental, not staff), NOT NULL breaking ties."""
    candidates = [fk for fk in table.foreign_keys if fk.columns in parent_sources]

    def rank(fk: ForeignKey) -> tuple[int, int]:
        not_null = all(not table.column(c).nullable for c in fk.columns)
        return counts.get(count_key(parent_sources[fk.columns]), 0), int(not_null)

    return max(candidates, key=rank).columns if candidates else None


def _common(statement: GenerateStatement) -> dict:
    options = statement.options
    return {"batch_size": options.sample_batch_size, "train_rows": options.model_dump().get("train_rows")}


# -- FROM DATABASE, FROM (a, b, …) ---------------------------------------------------------


def _members(statement: GenerateStatement, schema: Schema, current_schema: str) -> tuple[list[Table], dict]:
    """The tables to generate: a whole schema, or a chosen set closed under its FKs
    (parents pulled in, each with a note)."""
    if statement.tables:
        chosen = [source_table(schema, qualified(ref, current_schema)).ref for ref in statement.tables]
        closed = close_under_parents(schema, chosen)
        notes = {ref.key(): "pulled in: parent of a chosen table" for ref in closed if ref not in chosen}
        return [schema.table(ref) for ref in closed], notes
    source_schema = statement.source_schema or current_schema
    for ref, reason in schema.unusable:
        if (ref.schema or "").lower() == source_schema.lower():
            raise SynthError(f"{reason}; FROM DATABASE uses every table of schema {source_schema}: "
                             "choose tables with FROM (a, b, …) or change that column")
    members = [t for t in schema.tables if (t.ref.schema or "").lower() == source_schema.lower()]
    if not members:
        raise SynthError(f"schema {source_schema!r} has no tables to generate from")
    return members, {}


def _database_plan(statement: GenerateStatement, schema: Schema, inputs: PlanInputs) -> GeneratePlan:
    if statement.options.parents:
        raise SynthError("WITH (parents = …) applies to a single-table GENERATE; FROM DATABASE draws from its own targets")
    members, notes = _members(statement, schema, inputs.current_schema)
    _refuse_database_names(statement, members)
    sub = Schema(tables=tuple(members))
    target = {t.ref.key(): TableRef(name=t.name, schema=statement.into_schema) for t in members}
    steps = tuple(
        _database_step(statement, schema, sub, inputs, target, sub.table(step.table), step.deferred)
        .model_copy(update={"note": notes.get(step.table.key())})
        for step in build_plan(sub).steps
    )
    generated = tuple((t.ref, target[t.ref.key()]) for t in members)
    return GeneratePlan(form="database", steps=steps, source_schema=schema, generated=generated)


def _refuse_database_names(statement: GenerateStatement, members: list[Table]) -> None:
    if any((t.ref.schema or "").lower() == statement.into_schema.lower() for t in members):
        raise SynthError(f"INTO SCHEMA {statement.into_schema} holds a source table; choose another schema")
    unknown = set(statement.options.rows) - {t.name.lower() for t in members}
    if unknown:
        raise SynthError(
            f"WITH (rows = …) names {sorted(unknown)}, not tables of this GENERATE: {[t.name for t in members]}"
        )


def _database_step(statement, schema: Schema, sub: Schema, inputs: PlanInputs, target: dict, table: Table,
                   deferred: tuple[ForeignKey, ...]) -> GenerateStep:
    """A table of the plan; an FK the planner deferred (a cycle) is left out of its parents:
    NULL at insert, filled once every table exists."""
    links, later = [], []
    for fk in table.foreign_keys:
        if table.is_self_reference(fk):
            continue
        source = parent_ref(schema, fk)
        link = ParentLink(columns=fk.columns, source=source, drawn_from=target.get(source.key(), source))
        (later if fk in deferred else links).append(link)
    sources = {p.columns: p.source for p in links}
    count = inputs.count(table.ref)
    return GenerateStep(
        table=table, source=table.ref, target=target[table.ref.key()],
        rows=_member_rule(statement, sub, table, count, bool(links)), model=inputs.model,
        model_options=statement.model_options, parents=tuple(links), deferred=tuple(later),
        main=main_foreign_key(table, sources, inputs.counts), source_rows=count, **_common(statement),
    )


def _member_rule(statement: GenerateStatement, sub: Schema, table: Table, count: int, has_parents: bool) -> RowRule:
    """rows={t: n} for any table; ROWS for the roots; else children per parent, or source × SCALE."""
    scale = statement.scale or 1.0
    chosen = statement.options.rows.get(table.name.lower())
    if chosen is not None:
        return RowRule(kind="fixed", rows=chosen, estimate=chosen, why="WITH (rows = …)")
    if statement.rows is not None and _is_root(sub, table):
        return RowRule(kind="fixed", rows=statement.rows, estimate=statement.rows, why="ROWS (a root table)")
    if has_parents:
        return RowRule(kind="per_parent", scale=scale, estimate=round(count * scale),
                       why="children per parent, learned")
    estimate = max(1, round(count * scale)) if count else 0
    return RowRule(kind="source_scaled", scale=scale, estimate=estimate,
                   why=f"source rows x SCALE {scale:g}" if statement.scale else "source rows")


def _is_root(sub: Schema, table: Table) -> bool:
    """No parent among the tables generated (a self-reference doesn't count): ROWS applies here."""
    return not any(sub.has_table(fk.ref_table) and not table.is_self_reference(fk) for fk in table.foreign_keys)


# -- FROM SYNTHESIZER -----------------------------------------------------------------------


def _synthesizer_plan(statement: GenerateStatement, schema: Schema, inputs: PlanInputs) -> GeneratePlan:
    """A stored synthesizer: no source needed, only the parents its FKs point at."""
    stored = inputs.stored
    table = stored.table
    sources = {fk.columns: parent_ref(schema, fk) for fk in table.foreign_keys if not table.is_self_reference(fk)}
    drawn = _drawn_from(statement, schema, inputs, sources)
    for fk in table.foreign_keys:
        if fk.columns in drawn and not schema.has_table(drawn[fk.columns]):
            raise SynthError(f"synthesizer {stored.name}: parent table {fk.ref_table} of FOREIGN KEY "
                             f"({', '.join(fk.columns)}) does not exist")
    redirected = stored.main is not None and stored.main in sources and drawn[stored.main] != sources[stored.main]
    step = GenerateStep(
        table=table, source=table.ref, target=_stored_target(statement, table, inputs),
        rows=_stored_rule(statement, stored.name, stored.source_rows, redirected), model=inputs.model,
        parents=_links(sources, drawn), main=stored.main, where=statement.where, synthesizer=stored.name,
        source_rows=stored.source_rows, **_common(statement),
    )
    return GeneratePlan(form="synthesizer", steps=(step,))


def _stored_rule(statement: GenerateStatement, name: str, learned_rows: int, redirected: bool) -> RowRule:
    """Without ROWS, a child whose main parent was generated follows the learned
    children-per-parent counts over those generated parents, as FROM DATABASE does."""
    if statement.rows is not None:
        return RowRule(kind="fixed", rows=statement.rows, estimate=statement.rows, why="ROWS")
    if statement.scale is not None:
        rows = max(1, round(learned_rows * statement.scale))
        return RowRule(kind="fixed", rows=rows, estimate=rows, why=f"SCALE {statement.scale:g} x {learned_rows} learned rows")
    if redirected:
        return RowRule(kind="per_parent", estimate=learned_rows, why="children per parent, learned")
    if not learned_rows:
        raise SynthError(f"synthesizer {name} learned from no rows; give ROWS <n>")
    return RowRule(kind="fixed", rows=learned_rows, estimate=learned_rows, why="rows the synthesizer learned from")


def _stored_target(statement: GenerateStatement, table: Table, inputs: PlanInputs) -> TableRef:
    if statement.into:
        return qualified(statement.into, inputs.current_schema)
    return TableRef(name=f"synth_{table.name}", schema=inputs.current_schema)


# -- the statement as a whole -----------------------------------------------------------------


def _seeded(steps: tuple[GenerateStep, ...], statement: GenerateStatement) -> tuple[GenerateStep, ...]:
    """Each step its own stream: (seed, position in the plan)."""
    seed = statement.options.seed
    return tuple(s.model_copy(update={"seed": None if seed is None else (seed, i)}) for i, s in enumerate(steps))


def _budget_shares(steps: tuple[GenerateStep, ...], statement: GenerateStatement, inputs: PlanInputs):
    """The statement's epsilon split evenly over the tables it learns from (privacy.budget.split)."""
    epsilon, delta = statement.model_options.get("epsilon"), statement.model_options.get("delta")
    if epsilon is not None and statement.options.target_quality is not None:
        raise SynthError("target_quality refits and scores against the source rows; it does not combine with epsilon")
    learning = [s for s in steps if s.synthesizer is None]
    if epsilon is None or not learning:
        return steps
    shares = {str(s.source): r for s, r in zip(learning, split(epsilon, delta, [(str(s.source), s.source_rows)
                                                                                for s in learning]))}
    return tuple(_with_share(s, shares.get(str(s.source))) if s.synthesizer is None else s for s in steps)


def _with_share(step: GenerateStep, request) -> GenerateStep:
    options = {**step.model_options, "epsilon": request.epsilon, "delta": request.delta}
    return step.model_copy(update={"model_options": options})


def _refuse_targets(steps: tuple[GenerateStep, ...], statement: GenerateStatement, inputs: PlanInputs) -> None:
    options = statement.options
    for step in steps:
        if inputs.exists(step.target) and not (options.replace or options.append):
            raise SynthError(
                f"target table {step.target} already exists; use WITH (replace = true) or WITH (append = true)"
            )
        if step.target.key() == step.source.key():
            raise SynthError(f"target table {step.target} is the source table; choose another INTO")


_FORMS: dict[str, Callable[[GenerateStatement, Schema, PlanInputs], GeneratePlan]] = {
    "table": _table_plan,
    "database": _database_plan,
    "synthesizer": _synthesizer_plan,
}
