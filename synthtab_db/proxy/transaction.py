"""PostgreSQL transaction states over DuckDB.

A client's BEGIN opens DuckDB's transaction lazily, at the block's first plain
statement, so that psycopg's default ``BEGIN; GENERATE …`` works: our statements
run in a transaction of their own and can't join one already holding work.
After an error inside a block every statement is refused until ROLLBACK (or
COMMIT, which then rolls back), as in PostgreSQL.
"""

from __future__ import annotations

import duckdb

from synthtab_db.duck import run_sql
from synthtab_db.proxy.errors import PgError

IDLE, IN_BLOCK, FAILED = "I", "T", "E"


class Transaction:
    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self.cursor = cursor
        self.status = IDLE
        self.duckdb_open = False

    def begin(self) -> None:
        if self.status == IDLE:
            self.status = IN_BLOCK

    def before_plain_statement(self) -> None:
        if self.status == FAILED:
            raise PgError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
        if self.status == IN_BLOCK and not self.duckdb_open:
            run_sql(self.cursor, "BEGIN TRANSACTION")
            self.duckdb_open = True

    def before_own_statement(self, what: str) -> None:
        if self.status == FAILED:
            raise PgError("25P02", "current transaction is aborted, commands ignored until end of transaction block")
        if self.duckdb_open:
            raise PgError(
                "25001",
                f"{what} runs in a transaction of its own; send it outside a transaction block (autocommit) "
                "or before any other statement of the block",
            )

    def fail(self) -> None:
        if self.status == IN_BLOCK:
            self.status = FAILED

    def commit(self) -> str:
        tag = "ROLLBACK" if self.status == FAILED else "COMMIT"
        self._end("ROLLBACK" if self.status == FAILED else "COMMIT")
        return tag

    def rollback(self) -> None:
        self._end("ROLLBACK")

    def _end(self, verb: str) -> None:
        was_open, self.duckdb_open, self.status = self.duckdb_open, False, IDLE
        if was_open:
            run_sql(self.cursor, verb)

    def abandon(self) -> None:
        """The client went away: whatever it left open is rolled back."""
        try:
            self.rollback()
        except duckdb.Error:
            pass
