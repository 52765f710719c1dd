"""A DuckDB connection that also understands our statements.

Plain SQL reaches DuckDB as its original text; a script made only of plain SQL is
passed through in one call, exactly as given.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import duckdb
import pyarrow as pa

from synthtab_db.dialect import Piece, split_script
from synthtab_db.execute import evaluate_from_python, generate_database_from_python, generate_from_python, run_statement
from synthtab_db.guard import refuse_script_writes, refuse_state_table
from synthtab_db.progress import LogProgress
from synthtab_db.result import Result
from synthtab_db.udfs.synthesizer_functions import register_all

ProgressFn = Callable[[str, int, int], None]


class Connection:
    """``execute`` / ``sql`` accept DuckDB SQL and GENERATE …; ``duckdb`` is the raw connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, progress: ProgressFn | None = None):
        self.duckdb = con
        self.progress = progress if progress is not None else LogProgress()  # silent unless logging is set up

    def execute(self, sql: str, parameters: Any = None) -> Any:
        pieces = split_script(sql)
        refuse_script_writes(pieces)
        if not any(p.tree is not None for p in pieces):
            return self.duckdb.execute(sql, parameters) if parameters is not None else self.duckdb.execute(sql)
        result: Any = None
        for piece in pieces:
            result = self._run(piece)
        return result

    def each(self, sql: str) -> Iterator[Any]:
        """Every statement's result in turn (``execute`` keeps only the last); read each one
        before asking for the next, as DuckDB reuses the cursor."""
        for piece in split_script(sql):
            yield self._run(piece)

    def _run(self, piece: Piece) -> Any:
        if piece.tree is None:
            return self.duckdb.execute(piece.text)
        return Result(run_statement(self.duckdb, piece.tree, self.progress, piece.text))

    def executemany(self, sql: str, parameters: Any = None) -> Any:
        """DuckDB's executemany, after the same guard as ``execute`` (plain SQL only)."""
        refuse_script_writes(split_script(sql))
        return self.duckdb.executemany(sql, parameters) if parameters is not None else self.duckdb.executemany(sql)

    def query(self, sql: str) -> duckdb.DuckDBPyRelation | None:
        """DuckDB's ``query`` is ``sql``: ours too, guarded."""
        return self.sql(sql)

    def sql(self, sql: str) -> duckdb.DuckDBPyRelation | None:
        pieces = split_script(sql)
        refuse_script_writes(pieces)
        if len(pieces) == 1 and pieces[0].tree is not None:
            return self.duckdb.from_arrow(self._run(pieces[0]).arrow())
        if not any(p.tree is not None for p in pieces):
            return self.duckdb.sql(sql)
        result = self.execute(sql)
        return self.duckdb.from_arrow(result.arrow()) if isinstance(result, Result) else None

    def generate(
        self,
        source: str,
        *,
        rows: int | None = None,
        into: str | None = None,
        using: str | None = None,
        where: str | None = None,
        scale: float | None = None,
        **options: Any,
    ) -> pa.Table:
        """Python spelling of GENERATE SYNTHETIC FROM <source> …; returns the result set."""
        refuse_state_table(into)
        return generate_from_python(self.duckdb, source, rows, into, using, where, options, self.progress, scale)

    def generate_database(
        self,
        into_schema: str,
        *,
        source_schema: str | None = None,
        scale: float | None = None,
        using: str | None = None,
        **options: Any,
    ) -> pa.Table:
        """Python spelling of GENERATE SYNTHETIC FROM DATABASE [<schema>] INTO SCHEMA <into_schema>."""
        refuse_state_table(f"{into_schema}.t")
        return generate_database_from_python(
            self.duckdb, source_schema, into_schema, scale, using, options, self.progress
        )

    def generate_parquet(self, directory: str | None, **kwargs: Any) -> pa.Table:
        """Python spelling of GENERATE … INTO PARQUET '<directory>' (or postgres='<dsn>' for INTO
        POSTGRES; source=, database= or synthesizer=; rows, scale, using, where; options=
        {engine, workers, rows_per_shard, …})."""
        from synthtab_db.distributed.api import generate_parquet  # noqa: PLC0415 (Ray and friends on use)

        return generate_parquet(self.duckdb, directory, progress=self.progress, **kwargs)

    def evaluate(
        self, synthetic: str, real: str, *, holdout: str | None = None, target: str | None = None, **options: Any
    ) -> pa.Table:
        """Python spelling of EVALUATE SYNTHETIC <synthetic> AGAINST <real> …; returns the summary."""
        return evaluate_from_python(self.duckdb, synthetic, real, holdout, target, options)

    def generate_from_prompt(
        self, request: str, into_schema: str, *, rows: int | None = None, explain: bool = False, **options: Any
    ) -> pa.Table:
        """Python spelling of [EXPLAIN] GENERATE SYNTHETIC DATABASE FROM PROMPT '<request>' INTO SCHEMA …"""
        from synthtab_db.prompt.run import PromptStatement, run_prompt  # noqa: PLC0415 (only when used)

        statement = PromptStatement(request=request, into_schema=into_schema, rows=rows, explain=explain,
                                    options={k.lower(): v for k, v in options.items()})
        return run_prompt(self.duckdb, statement)

    def close(self) -> None:
        self.duckdb.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.duckdb, name)


def connect(
    database: str = ":memory:", read_only: bool = False, config: dict | None = None, **settings: Any
) -> Connection:
    """Open (or create) a DuckDB database; ``settings`` are DuckDB config options."""
    merged = dict(config or {}, **settings)
    con = duckdb.connect(database, read_only=read_only, config=merged)
    register_all(con)
    return Connection(con)
