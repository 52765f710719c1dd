"""Export a schema: tables in FK order (parents first), one writer per format."""

from __future__ import annotations

from pathlib import Path

import duckdb

from synthtab_db import catalog
from synthtab_db.errors import SynthError
from synthtab_db.export.formats import FORMATS
from synthtab_db.planner.plan import build_plan
from synthtab_db.planner.schema import Table


def tables_in_order(con: duckdb.DuckDBPyConnection, schema: str) -> list[Table]:
    whole = catalog.read_schema(con)
    members = [t for t in whole.tables if (t.ref.schema or "").lower() == schema.lower()]
    if not members:
        raise SynthError(f"schema {schema!r} has no tables to export")
    plan = build_plan(whole, [t.ref for t in members])
    return [whole.table(step.table) for step in plan.steps]


def export_schema(con: duckdb.DuckDBPyConnection, schema: str, fmt: str, directory: Path,
                  overwrite: bool = False) -> list[Path]:
    """The files written, in table order."""
    writer = FORMATS.get(fmt.lower())
    if writer is None:
        raise SynthError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")
    tables = tables_in_order(con, schema)
    directory.mkdir(parents=True, exist_ok=True)
    planned = writer.paths(schema, tables, directory)
    existing = [p for p in planned if p.exists()]
    if existing and not overwrite:
        raise SynthError(f"{existing[0]} already exists; choose another --to directory or pass --overwrite")
    writer.write(con, schema, tables, directory)
    return planned
