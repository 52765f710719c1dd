"""The Python spelling of GENERATE … INTO PARQUET: the same typed statement the parser builds."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from synthtab_db.errors import SynthError
from synthtab_db.statements import GenerateStatement, check_clauses, table_ref

from .run import run_parquet


def generate_parquet(con, directory: str | None, *, postgres: str | None = None, source: str | None = None, database: str | bool | None = None,
                     synthesizer: str | None = None, rows: int | None = None, scale: float | None = None,
                     using: str | None = None, where: str | None = None, options: dict[str, Any] | None = None,
                     progress=None, crash_shard: int | None = None) -> pa.Table:
    """Exactly one of ``source`` (a table), ``database`` (a schema name, or True for the
    current one) and ``synthesizer`` (a stored one) says what to generate; ``directory`` or
    ``postgres`` (a DSN; option ``schema``) where it goes."""
    if sum(x not in (None, False) for x in (source, database, synthesizer)) != 1:
        raise SynthError("generate_parquet needs exactly one of source=, database= or synthesizer=")
    statement = GenerateStatement(
        source=table_ref(exp.to_table(source, dialect="duckdb")) if source else None,
        database=bool(database),
        source_schema=database if isinstance(database, str) else None,
        synthesizer=synthesizer,
        rows=rows,
        scale=scale,
        using=using,
        where=where,
        parquet=None if directory is None else str(directory),
        postgres=postgres,
        model_options={k.lower(): v for k, v in (options or {}).items()},
    )
    if (directory is None) == (postgres is None):
        raise SynthError("generate_parquet writes to a directory or to postgres='<dsn>', one of them")
    check_clauses(statement)
    return run_parquet(con, statement, progress, crash_shard)
