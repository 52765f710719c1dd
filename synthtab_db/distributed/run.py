"""GENERATE … INTO PARQUET '<dir>': learn, plan shards, run them on an executor,
check what only the whole output can show, commit with a manifest.

Nothing reaches ``dir`` unless every shard succeeded and every cross-shard check
passed; the result set has a row per table with the SQL that reads it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from synthtab_db import store
from synthtab_db.engine import foreign_keys as fks
from synthtab_db.engine.learn import Learned
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Table
from synthtab_db.statements import GenerateStatement

from . import manifest as manifests
from .audit import open_views, ref_of, resolve, violations
from .executors import Executor, get_executor
from .keys import positional_columns
from .options import ParquetOptions, take_parquet_options
from .plan import ParquetPlan, build
from .read import glob_sql
from .shards import global_shard
from .worker import ShardReport

RESULT_SCHEMA = pa.schema([
    ("table", pa.string()),
    ("rows", pa.int64()),
    ("files", pa.int64()),
    ("path", pa.string()),
    ("seconds", pa.float64()),
    ("rejected_rows", pa.int64()),
    ("children_ks", pa.map_(pa.string(), pa.float64())),
    ("engine", pa.string()),
    ("read_sql", pa.string()),
])


def run_parquet(con: duckdb.DuckDBPyConnection, statement: GenerateStatement, progress=None,
                crash_shard: int | None = None) -> pa.Table:
    """``crash_shard`` (tests only): that shard's first attempt kills its worker."""
    options, rest = take_parquet_options(statement.model_options)
    statement = statement.model_copy(update={"model_options": rest})
    executor = get_executor(options)
    started = time.perf_counter()
    plan, learned = build(con, statement, options, crash_shard)
    output = _output(statement, options, plan, bool(rest.get("replace", False)))
    try:
        reports = _execute(executor, output.plan, str(output.staging))
        children = _check_and_measure(plan, learned, _staged_files(plan, reports, output.staging))
        output.commit(reports)
    except BaseException:
        output.undo()
        raise
    return _result(plan, reports, children, output, options, time.perf_counter() - started)


class ParquetOutput:
    """Files under ``root``, committed by the manifest."""

    def __init__(self, root: Path, plan: ParquetPlan, options: ParquetOptions, replace: bool):
        self.root, self.plan, self.options = root, plan, options
        self.staging = manifests.prepare(root, [p.folder for p in plan.parts], replace)

    def commit(self, reports: list[ShardReport]) -> None:
        manifests.commit(self.root, self.staging, _manifest(self.plan, reports, self.options))

    def undo(self) -> None:
        manifests.abort(self.staging)

    def where(self, part) -> tuple[str, str]:
        return str(self.root / part.folder), glob_sql(part.folder, self.root)


class PostgresOutput:
    """Tables in PostgreSQL: shards staged as UNLOGGED tables, moved in by one transaction.
    The shards' Parquet files live in a temporary folder, removed at the end."""

    def __init__(self, dsn: str, plan: ParquetPlan, options: ParquetOptions, replace: bool):
        from . import postgres_target as pg  # noqa: PLC0415 (psycopg on use)

        self.pg, self.replace, self.target = pg, replace, pg.PostgresTarget.new(dsn, options.pg_schema)
        self.tables = [Table.model_validate(json.loads(p.state)["table"]) for p in plan.parts]
        self.created = pg.prepare(self.target, self.tables, replace)
        self.plan = dataclasses.replace(plan, postgres=self.target)
        self.root = Path(tempfile.mkdtemp(prefix="synthtab-pg-"))
        self.staging = manifests.prepare(self.root, [], True)

    def commit(self, reports: list[ShardReport]) -> None:
        shards = {t.name: [s for s in (global_shard(), *self.plan.shards) if _wrote(reports, p.folder, s)]
                  for t, p in zip(self.tables, self.plan.parts)}
        self.pg.move_in(self.target, self.tables, shards, self.replace)
        shutil.rmtree(self.root, ignore_errors=True)

    def undo(self) -> None:
        self.pg.undo(self.target, self.created)
        shutil.rmtree(self.root, ignore_errors=True)

    def where(self, part) -> tuple[str, str]:
        name = f"{self.target.schema}.{part.ref.name}"
        return f"postgres {name}", f"SELECT * FROM {name}  -- in PostgreSQL"


def _wrote(reports: list[ShardReport], folder: str, shard) -> bool:
    return any(r.shard == shard.index and folder in r.files for r in reports)


def _output(statement: GenerateStatement, options: ParquetOptions, plan: ParquetPlan, replace: bool):
    if statement.postgres is not None:
        return PostgresOutput(statement.postgres, plan, options, replace)
    return ParquetOutput(Path(statement.parquet), plan, options, replace)


def _execute(executor: Executor, plan: ParquetPlan, staging: str) -> list[ShardReport]:
    """The global tables first (sharded ones draw FKs from them), then the shards."""
    first = executor.run(plan, [global_shard()], staging) if any(not p.sharded for p in plan.parts) else []
    return first + executor.run(plan, list(plan.shards), staging)


def _staged_files(plan: ParquetPlan, reports: list[ShardReport], staging: Path) -> dict[str, list[str]]:
    """str(ref) -> its staged files, in shard order."""
    return {str(p.ref): [str(staging / r.files[p.folder]) for r in reports if p.folder in r.files] for p in plan.parts}


def _check_and_measure(plan: ParquetPlan, learned: list[Learned], files: dict) -> dict[str, dict[str, float]]:
    """Keys drawn at random must not meet across shards; children per parent as in-database."""
    con = open_views(files, plan.external)
    present = {p.ref.key(): p.ref for p in plan.parts}
    present.update({r.key(): r for r in (ref_of(n) for n in plan.external)})
    try:
        for part, item in zip(plan.parts, learned):
            if part.sharded and len(plan.shards) > 1 and _random_keys(item):
                _refuse_duplicates(part, violations(con, item.table, present, {"key"}))
        return {p.folder: _children_ks(con, item, present) for p, item in zip(plan.parts, learned)}
    finally:
        con.close()


def _random_keys(item: Learned) -> bool:
    """A key none of whose columns comes from a positional generator."""
    positional = positional_columns(item.keygens)
    return any(not positional & set(key.columns) for key in item.table.keys)


def _refuse_duplicates(part, found: dict[str, int]) -> None:
    repeated = {name: n for name, n in found.items() if n}
    if repeated:
        name, n = next(iter(repeated.items()))
        raise SynthError(f"table {part.ref}: {n} rows repeat a value of {name} across shards (keys drawn at random "
                         "met); nothing was written. Use another seed or fewer, larger shards (rows_per_shard)")


def _children_ks(con, item: Learned, present: dict) -> dict[str, float]:
    out = {}
    for cols, sampler in item.samplers.items():
        parent = resolve(sampler.fk.ref_table, present)
        if parent is not None:
            synthetic = fks.child_counts(con, item.table.ref, parent, sampler.fk)
            out[f"{', '.join(cols)} -> {sampler.fk.ref_table.name}"] = round(fks.ks_statistic(sampler.counts, synthetic), 4)
    return out


def _manifest(plan: ParquetPlan, reports: list[ShardReport], options: ParquetOptions) -> dict:
    tables = {
        p.folder: {
            "ref": str(p.ref),
            "rows": sum(r.rows.get(p.folder, 0) for r in reports),
            "files": [r.files[p.folder] for r in reports if p.folder in r.files],
            "sharded": p.sharded,
            "fingerprint": p.fingerprint(),
            "table": json.loads(p.state)["table"],
        }
        for p in plan.parts
    }
    return {
        "format": manifests.FORMAT,
        "tables": tables,
        "seed": plan.seed,
        "rows": plan.rows,
        "rows_per_shard": options.rows_per_shard,
        "shards": len(plan.shards),
        "synthesizer_fingerprint": plan.fingerprint(),
        "engine": options.engine,
        "shard_stats": [{"shard": r.shard, "rows": sum(r.rows.values()), "seconds": round(r.seconds, 3),
                         "peak_rss_mb": round(r.peak_rss_mb, 1), "pid": r.pid} for r in reports],
        "versions": _versions(options),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _versions(options: ParquetOptions) -> dict[str, str]:
    found = store.versions()
    if options.engine == "ray":
        import ray  # noqa: PLC0415

        found["ray"] = ray.__version__
    return found


def _result(plan: ParquetPlan, reports: list[ShardReport], children: dict, output,
            options: ParquetOptions, seconds: float) -> pa.Table:
    rows = [
        {
            "table": p.folder,
            "rows": sum(r.rows.get(p.folder, 0) for r in reports),
            "files": sum(p.folder in r.files for r in reports),
            "path": output.where(p)[0],
            "seconds": round(seconds, 3),
            "rejected_rows": sum(sum(r.rejected.get(p.folder, {}).values()) for r in reports),
            "children_ks": list(children[p.folder].items()),
            "engine": options.engine,
            "read_sql": output.where(p)[1],
        }
        for p in plan.parts
    ]
    return pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)
