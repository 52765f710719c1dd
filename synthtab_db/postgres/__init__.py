"""PostgreSQL as a source and a target of GENERATE, through psycopg 3.

    ATTACH POSTGRES 'host=… dbname=…' AS pg;
    GENERATE SYNTHETIC FROM pg.public.customers ROWS 1000 INTO pg.synth.customers;
    GENERATE SYNTHETIC FROM DATABASE pg.public INTO SCHEMA pg.synth;

- attach.py: the attached names (per connection); connect.py: psycopg sessions
- schema.py: PostgreSQL's catalog -> Schema (PK, UNIQUE, NOT NULL, CHECK, FK, enums, domains)
- transfer.py: COPY in and out with exact types; run.py: the whole statement
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from synthtab_db.errors import SynthError
from synthtab_db.postgres.attach import attach, attached_dsn, detach
from synthtab_db.postgres.run import generate_in_postgres
from synthtab_db.statements import GenerateStatement, check_clauses, generate_statement

__all__ = ["attach", "detach", "generate", "generate_from_tree"]


def generate_from_tree(con: duckdb.DuckDBPyConnection, tree: exp.Expression, alias: str, progress=None) -> pa.Table:
    """A parsed GENERATE that names an attached PostgreSQL database on both sides."""
    source = tree.this.catalog if tree.this is not None else _name(tree.args.get("source_catalog"))
    into = tree.args.get("into")
    target = into.catalog if into is not None else _name(tree.args.get("into_catalog"))
    if tree.args.get("into_schema") is not None and not target:
        target = None
    if source.lower() != alias.lower() or (target or alias).lower() != alias.lower():
        raise SynthError(
            f"GENERATE with PostgreSQL reads and writes the same attached database: name both sides "
            f"{alias}.<schema>… (got FROM {source or 'a DuckDB table'} INTO {target or 'DuckDB'})"
        )
    if tree.args.get("into_schema") is not None and into is None and not _name(tree.args.get("into_catalog")):
        raise SynthError(f"INTO SCHEMA {alias}.<schema>: name the PostgreSQL schema with the attached name")
    return generate_in_postgres(attached_dsn(con, alias), generate_statement(tree), alias, progress)


def _name(node: exp.Expression | None) -> str:
    return node.name if node is not None else ""


def generate(
    dsn: str,
    *,
    source_schema: str | None = None,
    into_schema: str | None = None,
    table: str | None = None,
    into: str | None = None,
    rows: int | None = None,
    scale: float | None = None,
    using: str | None = None,
    progress=None,
    **options: Any,
) -> pa.Table:
    """Python spelling: a whole schema (source_schema -> into_schema) or one table ('schema.table')."""
    from synthtab_db.statements import table_ref

    def ref(name: str | None):
        return table_ref(exp.to_table(name, dialect="postgres")) if name else None

    statement = GenerateStatement(
        database=table is None,
        source=ref(table),
        source_schema=source_schema if table is None else None,
        into_schema=into_schema if table is None or into is None else None,
        into=ref(into),
        rows=rows,
        scale=scale,
        using=using,
        model_options={k.lower(): v for k, v in options.items()},
    )
    check_clauses(statement)
    return generate_in_postgres(dsn, statement, "pg", progress)
