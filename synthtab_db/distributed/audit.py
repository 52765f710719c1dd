"""Checks over Parquet files: the compiled checks (checks/compile.py) run in a scratch
DuckDB over views of the files, named as the tables they hold.

Used by the coordinator before the commit (keys across shards, children per parent)
and by anyone afterwards (``audit_output``: every check of every table)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from synthtab_db.checks import CheckContext, compile_checks
from synthtab_db.checks.compile import ROW_ORDER
from synthtab_db.duck import run_sql
from synthtab_db.planner.schema import Table, TableRef
from synthtab_db.sqlbuild import table_expr

from . import manifest as manifests


def ref_of(name: str) -> TableRef:
    schema, _, table = name.rpartition(".")
    return TableRef(name=table, schema=schema or None)


def open_views(files: dict[str, list[str]], external: dict[str, pa.Table] | None = None) -> duckdb.DuckDBPyConnection:
    """A scratch DuckDB where each table (str(ref) -> its files) reads as itself."""
    con = duckdb.connect()
    for name, rows in (external or {}).items():
        _schema(con, ref_of(name))
        con.register("__rows", rows)
        run_sql(con, f"CREATE TABLE {table_expr(ref_of(name)).sql('duckdb')} AS SELECT * FROM __rows")
        con.unregister("__rows")
    for name, paths in files.items():
        _schema(con, ref_of(name))
        listed = ", ".join(f"'{p}'" for p in paths)
        run_sql(con, f"CREATE VIEW {table_expr(ref_of(name)).sql('duckdb')} AS SELECT * FROM read_parquet([{listed}])")
    return con


def _schema(con, ref: TableRef) -> None:
    if ref.schema:
        run_sql(con, f"CREATE SCHEMA IF NOT EXISTS {table_expr(TableRef(name=ref.schema)).sql('duckdb')}")


def resolve(ref: TableRef, present: dict) -> TableRef | None:
    """A parent among ``present`` (key -> ref); an FK may name its parent without a schema."""
    if ref.key() in present:
        return present[ref.key()]
    return next((r for r in present.values() if ref.schema is None and r.name.lower() == ref.name.lower()), None)


def violations(con: duckdb.DuckDBPyConnection, table: Table, present: dict, kinds: set | None = None) -> dict[str, int]:
    """Rows violating each check of ``table`` (FKs only where the parent is ``present``)."""
    found = {fk.columns: resolve(fk.ref_table, present) for fk in table.foreign_keys}
    parents = {cols: table_expr(ref) for cols, ref in found.items() if ref is not None}
    checks = [c for c in compile_checks(table, CheckContext(stage="s", parents=parents))
              if kinds is None or c.kind in kinds]
    if not checks:
        return {}
    flags = ", ".join(f"{c.sql()} AS v{i}" for i, c in enumerate(checks))  # windows can't sit inside count()
    counts = ", ".join(f"count(*) FILTER (WHERE v{i})" for i in range(len(checks)))
    source = f"(SELECT *, row_number() OVER () AS {ROW_ORDER} FROM {table_expr(table.ref).sql('duckdb')}) AS s"
    row = con.execute(f"SELECT {counts} FROM (SELECT {flags} FROM {source})").fetchone()
    return {c.name: int(n) for c, n in zip(checks, row)}


def audit_output(root: str | Path, external: dict[str, pa.Table] | None = None) -> dict[str, dict[str, int]]:
    """Every check of every table of a committed output: {folder: {check: violating rows}}."""
    manifest = manifests.read(root)
    entries = manifest["tables"]
    tables = {folder: Table.model_validate(e["table"]) for folder, e in entries.items()}
    files = {str(tables[f].ref): [str(Path(root, p)) for p in e["files"]] for f, e in entries.items()}
    con = open_views(files, external)
    refs = [t.ref for t in tables.values()] + [ref_of(n) for n in (external or {})]
    present = {r.key(): r for r in refs}
    try:
        return {folder: violations(con, table, present) for folder, table in tables.items()}
    finally:
        con.close()
