"""One shard, end to end, in its own embedded DuckDB: the engine's table generation
(the same compiled CHECK / NOT NULL / type / key / FK checks, rejected rows
regenerated from the shard's stream), then one Parquet file per table.

Only values cross the process boundary: a worker that dies is rerun from the same
plan and shard, and rewrites the same files."""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from synthtab_db.duck import run_sql
from synthtab_db.engine.learn import learned_from_state
from synthtab_db.engine.table_job import TableJob, generate_table
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Table, TableRef
from synthtab_db.planner.steps import GenerateStep, ParentLink, RowRule
from synthtab_db.sqlbuild import create_table_sql, table_expr

from .keys import shard_keygens
from .plan import ParquetPlan, TablePart
from .shards import GLOBAL, Shard


@dataclass(frozen=True)
class ShardReport:
    shard: int
    rows: dict  # folder -> rows written
    files: dict  # folder -> file path relative to the output folder's staging
    rejected: dict  # folder -> {check: rows}
    seconds: float
    peak_rss_mb: float
    pid: int


def part_file(part: TablePart, shard: Shard) -> str:
    return f"{part.folder}/part-{shard.name}.parquet"


def run_shard(plan: ParquetPlan, shard: Shard, staging: str) -> ShardReport:
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        _load_external(con, plan)
        if shard.index != GLOBAL:
            _load_global(con, plan, staging)
        mine = [(i, p) for i, p in enumerate(plan.parts) if p.sharded == (shard.index != GLOBAL)]
        results = {p.folder: _generate(con, plan, shard, i, p) for i, p in mine}
        files = {p.folder: _write(con, p, shard, staging, plan) for _, p in mine}
    except SynthError as err:
        raise SynthError(f"{shard.label}: {err}") from None
    finally:
        con.close()
    return ShardReport(shard.index, {k: r.rows for k, r in results.items()}, files,
                       {k: r.rejected for k, r in results.items()}, time.perf_counter() - started, _peak_rss_mb(),
                       os.getpid())


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _create_schema(con, ref: TableRef) -> None:
    if ref.schema:
        run_sql(con, f"CREATE SCHEMA IF NOT EXISTS {table_expr(TableRef(name=ref.schema)).sql('duckdb')}")


def _load_external(con, plan: ParquetPlan) -> None:
    """Parents outside the output, under their own names."""
    for name, rows in plan.external.items():
        ref = _ref(name)
        _create_schema(con, ref)
        con.register("__external", rows)
        run_sql(con, f"CREATE TABLE {table_expr(ref).sql('duckdb')} AS SELECT * FROM __external")
        con.unregister("__external")


def _ref(name: str) -> TableRef:
    schema, _, table = name.rpartition(".")
    return TableRef(name=table, schema=schema or None)


def _load_global(con, plan: ParquetPlan, staging: str) -> None:
    """The global tables, as the global task wrote them (the global key space)."""
    for part in plan.parts:
        if not part.sharded:
            _create_schema(con, part.ref)
            path = Path(staging, part_file(part, Shard(GLOBAL, 0, 0, 1)))
            run_sql(con, f"CREATE TABLE {table_expr(part.ref).sql('duckdb')} AS SELECT * FROM read_parquet('{path}')")


def _generate(con, plan: ParquetPlan, shard: Shard, index: int, part: TablePart):
    learned = learned_from_state(json.loads(part.state), part.weights)
    learned = dataclasses.replace(learned, keygens=shard_keygens(learned.keygens, shard))
    _create_schema(con, part.ref)
    run_sql(con, create_table_sql(learned.table, part.ref, lambda fk: None))  # FKs are checked by the engine
    parents = dict(part.parents)
    if part.slice_main:
        parents[learned.main] = _slice(con, parents[learned.main], shard)
    step = GenerateStep(table=learned.table, source=part.ref, target=part.ref, rows=_rows(part, shard, learned, parents),
                        model=learned.model.name, where=part.where, batch_size=plan.batch_size,
                        source_rows=learned.source_rows,
                        parents=tuple(ParentLink(columns=c, source=t, drawn_from=t) for c, t in parents.items()))
    job = TableJob(step=step, model=type(learned.model), learned=learned)
    return generate_table(con, job, seed=shard.seed(plan.seed, index), max_rounds=plan.max_rounds,
                          batch_size=plan.batch_size, learned=learned)


def _rows(part: TablePart, shard: Shard, learned, parents: dict) -> RowRule:
    """A root's shard rows; otherwise the parents' children, or the learned rows × scale."""
    if part.root:
        return RowRule(kind="fixed", rows=shard.rows)
    if learned.main is not None and learned.main in parents:
        return RowRule(kind="per_parent")
    return RowRule(kind="source_scaled", scale=part.scale)


def _slice(con, parent: TableRef, shard: Shard) -> TableRef:
    """This shard's share of a global parent's rows, for a sharded child whose main FK points
    there: children per parent stay as learned instead of repeating in every shard."""
    total = con.execute(f"SELECT count(*) FROM {table_expr(parent).sql('duckdb')}").fetchone()[0]
    first, last = shard.index * total // shard.count, (shard.index + 1) * total // shard.count
    sliced = TableRef(name=f"__slice_{parent.name}", schema="main")
    run_sql(con, f"CREATE OR REPLACE TABLE {table_expr(sliced).sql('duckdb')} AS SELECT * FROM "
                 f"{table_expr(parent).sql('duckdb')} LIMIT {last - first} OFFSET {first}")
    return sliced


def _write(con, part: TablePart, shard: Shard, staging: str, plan: ParquetPlan) -> str:
    relative = part_file(part, shard)
    path = Path(staging, relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    run_sql(con, f"COPY (SELECT * FROM {table_expr(part.ref).sql('duckdb')}) TO '{path}' (FORMAT parquet)")
    if plan.postgres is not None:
        from .postgres_target import stage_shard  # noqa: PLC0415 (psycopg on use)

        table = Table.model_validate(json.loads(part.state)["table"])
        stage_shard(con, table, part.ref, shard, plan.postgres, staging)
    _maybe_crash(plan, shard, staging)
    return relative


def _maybe_crash(plan: ParquetPlan, shard: Shard, staging: str) -> None:
    """Tests only: the first attempt of ``plan.crash_shard`` dies after writing a file."""
    if plan.crash_shard != shard.index:
        return
    marker = Path(staging).parent / f"_test_crashed-{shard.name}"  # outlives the staging folder
    if not marker.exists():
        marker.touch()
        os._exit(1)
