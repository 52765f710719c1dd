"""The distributed plan: everything a worker needs, as plain serialisable values.

Learning happens here, once, in the coordinator (engine/learn.py, or a stored
synthesizer); a worker gets each table's learned state as JSON + weights bytes.
Tables split in two groups: the *sharded* ones (the largest root and every table
that references one of them: a shard holds a range of root rows and all their
descendants) and the *global* ones (lookup tables generated once, whole; sharded
tables draw their FKs from them, the global key space).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from synthtab_db import catalog, store
from synthtab_db.duck import first_row
from synthtab_db.engine.learn import Learned, dumps, learn_table, learned_state
from synthtab_db.errors import SynthError
from synthtab_db.models import default_model, get_model
from synthtab_db.planner.graph import parent_ref
from synthtab_db.planner.plan import build_plan
from synthtab_db.planner.schema import Schema, Table, TableRef
from synthtab_db.sqlbuild import table_expr
from synthtab_db.statements import GenerateStatement, split_options

from .options import ParquetOptions

if TYPE_CHECKING:
    from .postgres_target import PostgresTarget
from .shards import Shard, shard_ranges


@dataclass(frozen=True)
class TablePart:
    """One table of the output: its learned state and where its rows come from."""

    ref: TableRef  # the source's name; workers create their tables under it
    state: str  # learned_state JSON
    weights: bytes
    sharded: bool  # split by shard, or generated once (global)
    root: bool  # the sharded root: its rows are the shard's row range (other roots: learned rows × scale)
    scale: float
    parents: dict  # FK columns -> TableRef of the parent rows
    slice_main: bool = False  # main parent is global: each shard takes its slice of the parent rows
    where: str | None = None

    @property
    def folder(self) -> str:
        return self.ref.name

    def fingerprint(self) -> str:
        return hashlib.sha256(self.state.encode() + self.weights).hexdigest()


@dataclass(frozen=True)
class ParquetPlan:
    parts: tuple[TablePart, ...]  # parents first
    shards: tuple[Shard, ...]
    seed: int
    rows: int  # root rows of the sharded group
    max_rounds: int
    batch_size: int
    external: dict = field(default_factory=dict)  # str(ref) -> Arrow table of a parent outside the output
    crash_shard: int | None = None  # tests only: this shard's first attempt kills its worker
    postgres: "PostgresTarget | None" = None  # INTO POSTGRES: shards are also COPYed into staging tables

    def fingerprint(self) -> str:
        return hashlib.sha256("".join(p.fingerprint() for p in self.parts).encode()).hexdigest()


def refuse_unsupported(statement: GenerateStatement) -> None:
    """What the Parquet path does not do (yet), said before any work starts."""
    if statement.model_options.get("epsilon") is not None:
        raise SynthError("INTO PARQUET does not run under differential privacy yet (option 'epsilon'); "
                         "train a private synthesizer into a DuckDB table instead")
    for name in ("append", "parents", "target_quality", "rows"):
        if name in statement.model_options:
            raise SynthError(f"option {name!r} does not apply to GENERATE … INTO PARQUET; "
                             "allowed: seed, replace, max_rounds, sample_batch_size, engine, workers, "
                             "rows_per_shard, address and the model's options")


def build(con: duckdb.DuckDBPyConnection, statement: GenerateStatement, options: ParquetOptions,
          crash_shard: int | None = None) -> tuple[ParquetPlan, list[Learned]]:
    refuse_unsupported(statement)
    schema = catalog.read_schema(con)
    statement, learned = _learned(con, schema, statement)
    seed = statement.options.seed if statement.options.seed is not None else random.SystemRandom().getrandbits(62)
    parts, rows = _parts(schema, learned, statement)
    plan = ParquetPlan(
        parts=tuple(parts),
        shards=tuple(shard_ranges(rows, options.rows_per_shard)),
        seed=seed,
        rows=rows,
        max_rounds=statement.options.max_rounds,
        batch_size=statement.options.sample_batch_size,
        external=_external(con, parts),
        crash_shard=crash_shard,
    )
    return plan, learned


def _learned(con, schema: Schema, statement: GenerateStatement) -> tuple[GenerateStatement, list[Learned]]:
    """The statement with its options checked, and what each table learned (parents first)."""
    if statement.synthesizer:
        return split_options(statement, None), [store.load_learned(con, statement.synthesizer)]
    model = get_model(statement.using or default_model())
    statement = split_options(statement, model.options_model)
    return statement, [_learn(con, schema, t, model, statement.model_options) for t in _members(con, schema, statement)]




def _learn(con, schema: Schema, table: Table, model, options: dict) -> Learned:
    parents = {fk.columns: parent_ref(schema, fk) for fk in table.foreign_keys
               if not table.is_self_reference(fk) and schema.has_table(fk.ref_table)}
    return learn_table(con, table, table.ref, parents, model, options, schema=schema)


def _members(con, schema: Schema, statement: GenerateStatement) -> list[Table]:
    """The tables to write, parents first; a cycle between tables is refused."""
    current = first_row(con, "SELECT current_schema()")[0]
    if not statement.database:
        ref = statement.source if statement.source.schema else TableRef(name=statement.source.name, schema=current)
        if not schema.has_table(ref):
            known = ", ".join(str(t.ref) for t in schema.tables) or "(none)"
            raise SynthError(f"unknown source table {ref}; tables: {known}")
        return [schema.table(ref)]
    name = (statement.source_schema or current).lower()
    members = [t for t in schema.tables if (t.ref.schema or "").lower() == name]
    if not members:
        raise SynthError(f"schema {name!r} has no tables to generate from")
    plan = build_plan(Schema(tables=tuple(members)))
    deferred = [s.table for s in plan.steps if s.deferred]
    if deferred:
        raise SynthError(f"INTO PARQUET cannot generate the FK cycle through {deferred[0]} yet; "
                         "generate it INTO SCHEMA instead")
    return [schema.table(s.table) for s in plan.steps]


def _parts(schema: Schema, learned: list[Learned], statement: GenerateStatement) -> tuple[list[TablePart], int]:
    tables = {item.table.ref.key() for item in learned}
    root = _sharded_root(schema, learned, tables, statement)
    sharded: set = set()
    parts = []
    for item in learned:
        parents = _parents(schema, item.table)
        is_sharded = item is root or any(p.key() in sharded for p in parents.values())
        if is_sharded:
            sharded.add(item.table.ref.key())
        parts.append(_part(item, parents, is_sharded, item is root, sharded, statement))
    return parts, _root_rows(root, statement)


def _parents(schema: Schema, table: Table) -> dict:
    """FK columns -> the parent's ref as the catalog spells it (self-references left out)."""
    return {fk.columns: parent_ref(schema, fk) for fk in table.foreign_keys if not table.is_self_reference(fk)}


def _sharded_root(schema: Schema, learned: list[Learned], tables: set, statement: GenerateStatement) -> Learned:
    """The root table with the most rows: its row ranges are the shards."""
    roots = [item for item in learned
             if not any(p.key() in tables for p in _parents(schema, item.table).values())]
    return max(roots, key=lambda item: item.source_rows)


def _root_rows(item: Learned, statement: GenerateStatement) -> int:
    if statement.rows is not None:
        return statement.rows
    rows = round(item.source_rows * (statement.scale or 1.0))
    if rows <= 0:
        raise SynthError(f"table {item.table.ref} learned from no rows; give ROWS <n>")
    return rows


def _part(item: Learned, parents: dict, sharded: bool, root: bool, sharded_set: set,
          statement: GenerateStatement) -> TablePart:
    main_outside = item.main is not None and item.main in parents and parents[item.main].key() not in sharded_set
    return TablePart(
        ref=item.table.ref,
        state=dumps(learned_state(item)),
        weights=item.model.to_bytes(),
        sharded=sharded,
        root=root,
        scale=statement.scale or 1.0,
        parents=parents,
        slice_main=sharded and not root and main_outside,
        where=statement.where,
    )


def _external(con, parts: list[TablePart]) -> dict[str, pa.Table]:
    """Parent tables outside the output (a single table's FK parents), with the tables its
    context chain reads: shipped to every worker as Arrow."""
    inside = {p.ref.key() for p in parts}
    needed: dict = {}
    for part in parts:
        refs = list(part.parents.values()) + _context_tables(part)
        needed.update({ref.key(): ref for ref in refs if ref.key() not in inside})
    return {str(ref): _read_parent(con, ref) for ref in needed.values()}


def _read_parent(con, ref: TableRef) -> pa.Table:
    try:
        return con.sql(f"SELECT * FROM {table_expr(ref).sql('duckdb')}").to_arrow_table()
    except duckdb.CatalogException:
        raise SynthError(f"parent table {ref} does not exist: the foreign keys of the generated table draw "
                         "their values from it (create or load it first)") from None


def _context_tables(part: TablePart) -> list[TableRef]:
    context = json.loads(part.state).get("context") or {}
    return [TableRef(**hop["table"]) for hop in context.get("hops", [])]
