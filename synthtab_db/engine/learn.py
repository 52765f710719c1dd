"""What is learned from one source table, kept apart from generation so it can be
stored (TRAIN SYNTHESIZER) and reused (GENERATE … FROM SYNTHESIZER) without the
source: the model, the key generators, and per FK the NULL rate and the
children-per-parent counts."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import duckdb
import numpy as np

from synthtab_db.engine import foreign_keys as fks
from synthtab_db.engine import private_side as dp_side
from synthtab_db.engine.child_counts import CountStrata, learn_main_strata
from synthtab_db.engine.context import ContextSpec, learn_context
from synthtab_db.engine.inherited_keys import InheritedKey, learn_inherited
from synthtab_db.engine.marginals import exact_marginals
from synthtab_db.engine.sample import TrainingRows, training_rows, with_key_range
from synthtab_db.engine.sequences import SequenceModel, sequence_column
from synthtab_db.engine.stop_note import EpochWatch
from synthtab_db.keys import KeyGenerator, choose_key_generator, schema_key_generator
from synthtab_db.models import get_model
from synthtab_db.models.base import Synthesizer
from synthtab_db.models.fit_context import FitContext, SampleInfo
from synthtab_db.planner.generate import main_foreign_key as planned_main
from synthtab_db.planner.graph import parent_ref
from synthtab_db.planner.roles import column_roles
from synthtab_db.planner.schema import ForeignKey, Schema, Table, TableRef
from synthtab_db.planner.steps import count_key
from synthtab_db.privacy import child_counts as dp_counts
from synthtab_db.privacy.setup import fit_privacy
from synthtab_db.privacy.units import unit_ids
from synthtab_db.rules import TableRules
from synthtab_db.rules.learn import learn_rules, meaning_key_generator
from synthtab_db.sqlbuild import count_rows, table_sql
from synthtab_db.transforms import column_bounds


@dataclass
class Learned:
    table: Table
    model: Synthesizer
    keygens: dict[str, KeyGenerator]
    samplers: dict[tuple[str, ...], fks.ForeignKeySampler]
    main: tuple[str, ...] | None  # columns of the FK that fixes child counts
    self_null_rates: dict[tuple[str, ...], float]
    source_rows: int
    model_columns: tuple[str, ...] = ()
    sequence: SequenceModel | None = None
    context: ContextSpec | None = None
    inherited: list[InheritedKey] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the result should tell (orphaned source keys)
    rules: TableRules | None = None  # column meaning and rules between columns (None under DP)

    def fk(self, columns: tuple[str, ...]) -> ForeignKey:
        return next(fk for fk in self.table.foreign_keys if fk.columns == columns)


def main_foreign_key(con: duckdb.DuckDBPyConnection, table: Table, parent_sources: dict) -> tuple[str, ...] | None:
    """The planner's rule (``planner.generate.main_foreign_key``) over the parents' row counts."""
    counts = {count_key(ref): count_rows(con, ref) for ref in parent_sources.values()}
    return planned_main(table, parent_sources, counts)


def main_of(con: duckdb.DuckDBPyConnection, schema: Schema):
    """The main-FK rule for any table of ``schema`` (an ancestor's, for the context chain)."""

    def pick(table: Table) -> ForeignKey | None:
        sources = {
            fk.columns: parent_ref(schema, fk)
            for fk in table.foreign_keys
            if not table.is_self_reference(fk) and schema.has_table(fk.ref_table)
        }
        main = main_foreign_key(con, table, sources)
        return next((fk for fk in table.foreign_keys if fk.columns == main), None)

    return pick


def learn_table(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    source: TableRef,
    parent_sources: dict,
    model: type[Synthesizer],
    model_options: dict,
    on_epoch=None,
    schema: Schema | None = None,
    deferred_sources: dict | None = None,
) -> Learned:
    """Fit everything generation needs from ``source`` (read once, as Arrow), with the
    main parent chain's columns as the model's context when ``schema`` is known.
    ``deferred_sources`` (FKs of a cycle, filled after the insert): under DP their samplers
    are released here too, so ``fill_deferred`` reads no rows."""
    roles = column_roles(table)
    main = main_foreign_key(con, table, parent_sources)
    main_fk = next((fk for fk in table.foreign_keys if fk.columns == main), None)
    sequence_col = sequence_column(table, main_fk)
    model_columns = tuple(c for c in roles.model if c != sequence_col)
    learns_context = schema is not None and model_columns and model.supports_context
    context = learn_context(con, schema, table, main_fk, main_of(con, schema)) if learns_context else None
    query = context.source_sql(source) if context else f"SELECT * FROM {table_sql(source)}"
    rows = training_rows(con, query, model_options)
    data = rows.data
    synthesizer = model(**model_options)
    watch = EpochWatch(on_epoch)  # sees every epoch, to say in the note when the clock cut training short
    side, reserved, units = None, [], None
    if model_options.get("epsilon") is not None:
        # under DP nothing outside a mechanism reads the rows: the side statistics are released from
        # noise reserved out of the same epsilon before the model calibrates (engine/private_side.py)
        deferred = deferred_sources or {}
        keys = dp_side.releases(schema, table, main_fk, parent_sources, sequence_col, tuple(deferred))
        side = dp_side.open_side(con, data, table, main_fk, keys, model_options)
        reserved = side.reserved
    private = main_fk is not None and side is not None
    # the profile reads rows (frequent values, A -> B tables), so under DP the model alone learns
    learnt = None if side is not None else learn_rules(con, table, source, data, model_columns,
                                                       model_options.get("columns"))
    rules, keys = (learnt.rules, roles.keys + learnt.identifiers) if learnt else (None, roles.keys)
    model_columns = learnt.model_columns if learnt else model_columns
    fit_data = rules.to_model(data, table) if rules else data
    fit_table = rules.model_table(table) if rules else table
    if private:
        # under DP a child protects its parents: rows are grouped by their main parent (privacy.units),
        # and the children-per-parent counts are released from noise reserved out of the same epsilon
        units = unit_ids([data.column(c) for c in main_fk.columns], data.num_rows)
        reserved = [dp_counts.reserve(model_options["epsilon"], model_options.get("delta"), data.num_rows),
                    *side.reserved]
    exact = {} if rows.note is None else exact_marginals(con, query, table, _plain(model_columns, rules))
    run = fit_context(model, model_options, data.num_rows, reserved, units, watch, rows.source_rows, exact)
    try:
        if context is None:
            fitted = synthesizer.fit(fit_data.select(list(model_columns)), fit_table, run=run)
        else:
            fitted = synthesizer.fit(fit_data.select(list(model_columns)), context.model_table(fit_table),
                                     data.select(context.names), run=run)
        samplers = _samplers(con, table, source, {**parent_sources, **(deferred if side else {})}, main_fk, side)
        if private:
            sampler, cap = samplers[main], int(model_options.get("max_rows_per_parent", 8))
            null_rows = int(round(sampler.null_rate * data.num_rows))
            sampler.counts, sampler.null_rate = dp_counts.release_counts(
                sampler.counts, null_rows, cap, reserved[0],
                np.random.default_rng(model_options.get("seed")))
        elif context is not None:
            near = [(c.source, c.column) for c in context.at_depth(1)]
            samplers[main].strata = learn_main_strata(con, source, parent_sources[main], main_fk, near)
        return Learned(
            table=table,
            model=fitted,
            keygens=_keygens(_key_values(con, source, data, keys, rows), table, keys, side, rules),
            samplers=samplers,
            main=main,
            self_null_rates=_self_null_rates(con, table, source, side),
            source_rows=rows.source_rows if side is None else dp_side.source_rows(side),
            model_columns=model_columns,
            sequence=_sequence(con, table, source, main_fk, sequence_col, side),
            context=context,
            inherited=learn_inherited(con, schema, table, source if side is None else dp_side.BOUNDED, main_fk,
                                      parent_sources, None if side is None else dp_side.agreement(side)),
            notes=[n for n in (rows.note, watch.note(model, model_options)) if n]
            + (_orphan_notes(con, table, source, parent_sources) if side is None else []),
            rules=rules,
        )
    finally:
        if side is not None:
            dp_side.close_side(con)


def fit_context(model: type[Synthesizer], options: dict, rows: int, reserved: list, units, on_epoch,
                source_rows: int | None = None, marginals: dict | None = None) -> FitContext:
    """The frozen context a fit receives; DP set up here, once (privacy/setup.py)."""
    return FitContext(seed=options.get("seed"), device=options.get("device") or "auto",
                      privacy=fit_privacy(model, options, rows, reserved), units=units, on_epoch=on_epoch,
                      max_seconds=options.get("max_seconds"), sample=SampleInfo(rows=rows, source_rows=source_rows or rows),
                      marginals=marginals or {})


def _plain(columns: tuple[str, ...], rules) -> tuple[str, ...]:
    """The model's columns whose values it learns as the source holds them (a gap rule rebuilds its column)."""
    rebuilt = {g.column for g in rules.gaps} if rules is not None else set()
    return tuple(c for c in columns if c not in rebuilt)


def _samplers(con, table: Table, source: TableRef, parent_sources: dict, main_fk: ForeignKey | None,
              side: dp_side.PrivateSide | None) -> dict[tuple[str, ...], fks.ForeignKeySampler]:
    """Per FK its NULL rate and children per parent; under DP every FK but the main one is
    released here (the main one's counts by ``dp_counts``, which caps them itself)."""
    samplers = {}
    for fk in table.foreign_keys:
        if fk.columns not in parent_sources:
            continue
        if side is None or (main_fk is not None and fk.columns == main_fk.columns):
            samplers[fk.columns] = fks.ForeignKeySampler.learn(con, table, source, parent_sources[fk.columns], fk)
        else:
            samplers[fk.columns] = dp_side.sampler(con, side, table, parent_sources[fk.columns], fk)
    return samplers


def _key_values(con, source: TableRef, data, keys: tuple[str, ...], rows: TrainingRows) -> dict:
    """Each key column's values to fit on: the sample's, widened to the source's key range."""
    if rows.note is None:
        return {c: data.column(c) for c in keys}
    return {c: with_key_range(con, table_sql(source), c, data.column(c)) for c in keys}


def _keygens(data: dict, table: Table, keys: tuple[str, ...], side, rules=None) -> dict[str, KeyGenerator]:
    """Key generators fitted to the source's format (or made by meaning: a UNIQUE email
    gets emails); under DP from the declared type alone."""
    if side is None:
        profile = rules.profile if rules else None
        return {c: meaning_key_generator(profile, table, c) or choose_key_generator(data[c], table.column(c))
                for c in keys}
    bounds = column_bounds(table)
    return {c: schema_key_generator(table.column(c), bounds.get(c)) for c in keys}


def _self_null_rates(con, table: Table, source: TableRef, side) -> dict[tuple[str, ...], float]:
    self_fks = [fk for fk in table.foreign_keys if table.is_self_reference(fk)]
    if side is None:
        return {fk.columns: fks.learned_null_rate(con, source, fk) for fk in self_fks}
    return {fk.columns: dp_side.self_null_rate(con, side, fk) for fk in self_fks}


def _sequence(con, table: Table, source: TableRef, main_fk, column: str | None, side) -> SequenceModel | None:
    if column is None:
        return None
    kind = table.column(column).type.kind
    if side is None:
        return SequenceModel.learn(con, source, main_fk, column, kind)
    return dp_side.sequence(con, side, source, main_fk, column, kind)


def _orphan_notes(con, table: Table, source: TableRef, parent_sources: dict) -> list[str]:
    """What the result should tell about source keys that match no parent (never under DP:
    their number is a count of raw rows)."""
    notes = []
    for fk in table.foreign_keys:
        if fk.columns in parent_sources:
            orphans = fks.orphaned_rows(con, source, parent_sources[fk.columns], fk)
            if orphans:
                notes.append(f"{orphans} source rows of {table.name}({', '.join(fk.columns)}) reference no "
                             f"{fk.ref_table.name} row: orphaned keys, not copied")
    return notes


def epoch_callback(progress, table: str):
    """A progress object may also follow training: ``progress.epoch(table, info)`` with
    info = {epoch, loss, val_loss, seconds, ...} from the model."""
    epoch = getattr(progress, "epoch", None)
    return None if epoch is None else (lambda info: epoch(table, info))


def learned_state(learned: Learned) -> dict:
    """JSON-safe description of everything but the model's weights."""
    return {
        "table": learned.table.model_dump(mode="json"),
        "keys": {c: g.to_dict() for c, g in learned.keygens.items()},
        "foreign_keys": [
            {
                "columns": list(cols),
                "null_rate": s.null_rate,
                "counts": base64.b64encode(s.counts.astype("<i8").tobytes()).decode(),
                "strata": s.strata.to_dict() if s.strata else None,
            }
            for cols, s in learned.samplers.items()
        ],
        "main": list(learned.main) if learned.main else None,
        "self_null_rates": [{"columns": list(c), "rate": r} for c, r in learned.self_null_rates.items()],
        "source_rows": learned.source_rows,
        "model": learned.model.name,
        "model_columns": list(learned.model_columns),
        "sequence": learned.sequence.to_dict() if learned.sequence else None,
        "context": learned.context.to_dict() if learned.context else None,
        "inherited": [k.to_dict() for k in learned.inherited],
        "rules": learned.rules.to_dict() if learned.rules else None,
    }


def learned_from_state(state: dict, weights: bytes) -> Learned:
    table = Table.model_validate(state["table"])
    samplers = {}
    for item in state["foreign_keys"]:
        cols = tuple(item["columns"])
        counts = np.frombuffer(base64.b64decode(item["counts"]), dtype="<i8").astype(np.int64)
        fk = next(f for f in table.foreign_keys if f.columns == cols)
        strata = CountStrata.from_dict(item["strata"]) if item.get("strata") else None
        samplers[cols] = fks.ForeignKeySampler(fk, float(item["null_rate"]), counts, strata)
    return Learned(
        table=table,
        model=get_model(state["model"]).from_bytes(weights),
        keygens={c: KeyGenerator.from_dict(d) for c, d in state["keys"].items()},
        samplers=samplers,
        main=tuple(state["main"]) if state["main"] else None,
        self_null_rates={tuple(i["columns"]): float(i["rate"]) for i in state["self_null_rates"]},
        source_rows=int(state["source_rows"]),
        model_columns=tuple(state["model_columns"]),
        sequence=SequenceModel.from_dict(state["sequence"]) if state.get("sequence") else None,
        context=ContextSpec.from_dict(state["context"]) if state.get("context") else None,
        inherited=[InheritedKey.from_dict(k) for k in state.get("inherited", [])],
        rules=TableRules.from_dict(state["rules"]) if state.get("rules") else None,
    )


def dumps(state: dict) -> str:
    return json.dumps(state, separators=(",", ":"))
