"""GENERATE … INTO POSTGRES '<dsn>': each worker COPYs its shard into an UNLOGGED staging
table; the coordinator moves every staging table into the targets in one transaction,
so all target tables appear, or none do.  psycopg is imported on use."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlglot

from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Table, TableRef
from synthtab_db.postgres.connect import open_postgres
from synthtab_db.postgres.transfer import copy_into_postgres, qualified
from synthtab_db.sqlbuild import create_table_sql

from .audit import resolve
from .shards import Shard


@dataclass(frozen=True)
class PostgresTarget:
    dsn: str
    schema: str
    run: str  # names this run's staging tables

    @staticmethod
    def new(dsn: str, schema: str) -> "PostgresTarget":
        return PostgresTarget(dsn, schema, uuid.uuid4().hex[:10])

    def target(self, table: Table) -> TableRef:
        return TableRef(name=table.name, schema=self.schema)

    def stage(self, table: Table, shard: Shard) -> TableRef:
        return TableRef(name=f"_synthtab_{self.run}_{table.name}_{shard.name}", schema=self.schema)


def _postgres(duckdb_sql: str) -> str:
    return sqlglot.transpile(duckdb_sql, read="duckdb", write="postgres")[0]


def stage_shard(con, table: Table, source: TableRef, shard: Shard, target: PostgresTarget, folder: str) -> None:
    """One shard of one table into its own UNLOGGED table (dropped first: a retried worker
    writes it again)."""
    stage = target.stage(table, shard)
    bare = table.model_copy(update={"keys": (), "checks": (), "foreign_keys": ()})
    ddl = _postgres(create_table_sql(bare, stage, lambda fk: None)).replace("CREATE TABLE", "CREATE UNLOGGED TABLE", 1)
    with open_postgres(target.dsn) as pg:
        pg.execute(f"DROP TABLE IF EXISTS {qualified(stage)}")
        pg.execute(ddl)
        copy_into_postgres(con, table.model_copy(update={"ref": source}), pg, stage, Path(folder), {})


def prepare(target: PostgresTarget, tables: list[Table], replace: bool) -> bool:
    """Refuse existing targets (unless ``replace``); make the schema the staging tables go to.
    Returns whether the schema was created here (a failed run drops it again)."""
    with open_postgres(target.dsn) as pg:
        for table in tables:
            ref = target.target(table)
            found = pg.execute("SELECT to_regclass(%s)", [qualified(ref)]).fetchone()[0]
            if found is not None and not replace:
                raise SynthError(f"target table {ref} already exists in PostgreSQL; use WITH (replace = true)")
        exists = pg.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [target.schema]).fetchone()[0]
        if not exists:
            pg.execute(f"CREATE SCHEMA {qualified(TableRef(name=target.schema))}")
        return not exists


def move_in(target: PostgresTarget, tables: list[Table], shards: dict[str, list[Shard]], replace: bool) -> None:
    """One transaction: create the targets (with their keys, CHECKs and FKs), fill them from
    the staging tables in shard order, drop the staging tables."""
    present = {t.ref.key(): t.ref for t in tables}
    with open_postgres(target.dsn, autocommit=False) as pg:
        for table in reversed(tables) if replace else ():
            pg.execute(f"DROP TABLE IF EXISTS {qualified(target.target(table))} CASCADE")
        for table in tables:
            pg.execute(_postgres(create_table_sql(table, target.target(table), _parent_of(target, present))))
            stages = [qualified(target.stage(table, s)) for s in shards[table.name]]
            pg.execute(f"INSERT INTO {qualified(target.target(table))} "
                       + " UNION ALL ".join(f"(SELECT * FROM {s})" for s in stages))
            for stage in stages:
                pg.execute(f"DROP TABLE {stage}")
        pg.commit()


def _parent_of(target: PostgresTarget, present: dict):
    """FKs between generated tables are declared on the targets; FKs to other tables are not."""

    def parent_of(fk):
        parent = resolve(fk.ref_table, present)
        return None if parent is None else TableRef(name=parent.name, schema=target.schema)

    return parent_of


def undo(target: PostgresTarget, created_schema: bool) -> None:
    """After a failure: this run's staging tables, whatever shards got to write, and the
    schema if this run made it."""
    with open_postgres(target.dsn) as pg:
        rows = pg.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
                          [target.schema, f"_synthtab_{target.run}_%"]).fetchall()
        for schema, name in rows:
            pg.execute(f"DROP TABLE IF EXISTS {qualified(TableRef(name=name, schema=schema))}")
        if created_schema:
            pg.execute(f"DROP SCHEMA IF EXISTS {qualified(TableRef(name=target.schema))}")
