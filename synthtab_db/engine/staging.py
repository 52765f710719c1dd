"""Staged batches are checked in DuckDB; only rows that pass reach the accepted set.

Per batch: the Arrow rows are scanned once into a temp table with one violation
flag per compiled check; the flags are counted per constraint, the passing rows
(up to what is still needed) are cast to the target's types and appended to the
accepted table, and the failing rows come back so their parent slots can be
regenerated.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from synthtab_db.checks import CompiledCheck
from synthtab_db.checks.compile import ROW_ORDER
from synthtab_db.duck import first_row, run_sql
from synthtab_db.planner.schema import Table
from synthtab_db.sqlbuild import quote, scratch_table_sql

BATCH_VIEW = "__synthtab_batch"
CHECKED = "__synthtab_checked"


@dataclass
class RoundResult:
    accepted: int
    rejected: dict[str, int]
    failed: pa.Table  # carried columns of rejected rows (their parent slots)


class Stage:
    """Checks batches for one table and appends the passing rows to ``accepted``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: Table, checks: list[CompiledCheck], accepted: str):
        self.con = con
        self.table = table
        self.checks = checks
        self.accepted = accepted
        self.flags = [f"__v{i}" for i in range(len(checks))]

    def create_accepted(self) -> None:
        run_sql(self.con, f"DROP TABLE IF EXISTS {self.accepted}")
        run_sql(self.con, scratch_table_sql(self.table, self.accepted, {ROW_ORDER: "BIGINT"}))

    def _ok(self) -> str:
        if not self.flags:
            return "TRUE"
        return "NOT (" + " OR ".join(self.flags) + ")"

    def _flag_sql(self) -> str:
        flags = [f"coalesce({c.sql()}, TRUE) AS {f}" for c, f in zip(self.checks, self.flags)]
        return ", ".join(["s.*"] + flags)

    def run(self, batch: pa.Table, need: int, carry: list[str]) -> RoundResult:
        self.con.register(BATCH_VIEW, batch)
        try:
            run_sql(
                self.con, f"CREATE OR REPLACE TEMP TABLE {CHECKED} AS SELECT {self._flag_sql()} FROM {BATCH_VIEW} AS s"
            )
        finally:
            self.con.unregister(BATCH_VIEW)
        rejected = self._count()
        accepted = self._accept(need)
        failed = self._failed(carry)
        return RoundResult(accepted, rejected, failed)

    def _count(self) -> dict[str, int]:
        if not self.flags:
            return {}
        counts = first_row(self.con, f"SELECT {', '.join(f'count_if({f})' for f in self.flags)} FROM {CHECKED}")
        return {c.name: int(n) for c, n in zip(self.checks, counts) if n}

    def _accept(self, need: int) -> int:
        columns = [quote(c.name) for c in self.table.columns]
        casts = [f"CAST({quote(c.name)} AS {c.type.sql})" for c in self.table.columns]
        before = self._accepted_count()
        run_sql(
            self.con,
            f"INSERT INTO {self.accepted} ({', '.join(columns + [ROW_ORDER])}) "
            f"SELECT {', '.join(casts)}, {before} + row_number() OVER (ORDER BY {ROW_ORDER}) "
            f"FROM {CHECKED} WHERE {self._ok()} ORDER BY {ROW_ORDER} LIMIT {int(need)}",
        )
        return self._accepted_count() - before

    def _accepted_count(self) -> int:
        return first_row(self.con, f"SELECT count(*) FROM {self.accepted}")[0]

    def _failed(self, carry: list[str]) -> pa.Table:
        if not carry or not self.flags:
            return pa.table({})
        cols = ", ".join(quote(c) for c in carry)
        return self.con.sql(
            f"SELECT {cols} FROM {CHECKED} WHERE NOT ({self._ok()}) ORDER BY {ROW_ORDER}"
        ).to_arrow_table()

    def close(self) -> None:
        run_sql(self.con, f"DROP TABLE IF EXISTS {CHECKED}")
