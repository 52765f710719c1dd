"""Read a committed Parquet output: one view per table over exactly the files its
manifest lists (never a glob, so files of an uncommitted run are never read)."""

from __future__ import annotations

from pathlib import Path

from synthtab_db.planner.schema import TableRef
from synthtab_db.sqlbuild import table_expr

from . import manifest as manifests


def view_sql(view: TableRef, files: list[str]) -> str:
    listed = ", ".join(f"'{f}'" for f in files)
    return f"CREATE OR REPLACE VIEW {table_expr(view).sql('duckdb')} AS SELECT * FROM read_parquet([{listed}])"


def glob_sql(folder: str, root: str | Path) -> str:
    """What the result prints: the short way to read one table by hand."""
    return f"CREATE VIEW {folder} AS SELECT * FROM read_parquet('{Path(root, folder)}/*.parquet')"


def read_parquet_output(con, root: str | Path, schema: str | None = None) -> list[str]:
    """Create (or replace) a view per table of the output in ``root``; returns their names.
    ``con``: a synthtab_db or DuckDB connection; ``schema``: where the views go."""
    manifest = manifests.read(root)
    if schema:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {table_expr(TableRef(name=schema)).sql('duckdb')}")
    names = []
    for folder, entry in manifest["tables"].items():
        view = TableRef(name=folder, schema=schema)
        con.execute(view_sql(view, [str(Path(root, f)) for f in entry["files"]]))
        names.append(str(view))
    return names
