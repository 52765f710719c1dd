"""Staged batches are checked in DuckDB; only rows that pass reach the accepted set.

Per batch: the Arrow rows are scanned once into Arrow again with one violation
flag per compiled check; the flags are counted per constraint, the passing rows
(up to what is still needed) are cast to the target's types and appended to the
accepted table (the target itself, or a scratch table for a self-referencing
table), and the failing rows come back so their parent slots can be regenerated.
Nothing per batch outlives the batch, so memory does not grow with ROWS.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from synthtab_db.checks import CompiledCheck
from synthtab_db.checks.compile import ROW_ORDER
from synthtab_db.duck import run_sql
from synthtab_db.engine.targets import scratch_table_sql
from synthtab_db.planner.schema import Table

BATCH_VIEW = "__synthtab_batch"
CHECKED = "__synthtab_checked"


def over(con: duckdb.DuckDBPyConnection, rows: pa.Table, name: str, sql: str) -> duckdb.DuckDBPyRelation:
    """``sql`` run with the Arrow ``rows`` visible as ``name``, for this query only (works
    with external access off, and keeps nothing alive after it, unlike ``con.register``)."""
    return con.from_arrow(rows).query(name, sql)


def quote(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


@dataclass
class RoundResult:
    accepted: int
    rejected: dict[str, int]
    failed: pa.Table  # carried columns of rejected rows (their parent slots)


class Stage:
    """Checks batches for one table and appends the passing rows to ``accepted``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: Table, checks: list[CompiledCheck], accepted: str,
                 numbered: bool = True):
        """``accepted`` is a scratch table (``numbered``: it keeps each row's order, for a
        self-referencing table inserted level by level later) or the target itself, which
        passing rows then reach directly, batch by batch."""
        self.con = con
        self.table = table
        self.checks = checks
        self.accepted = accepted
        self.numbered = numbered
        self.flags = [f"__v{i}" for i in range(len(checks))]
        self.inserted = 0

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
        """The flagged batch stays Arrow, scanned through a relation: inside the statement's
        transaction a replaced temp table keeps every old version and ``con.register`` keeps
        every registered table until COMMIT, so either would grow memory with the rows made."""
        checked = self._flagged(batch)
        accepted = self._accept(checked, need)
        return RoundResult(accepted, self._count(checked), self._failed(checked, carry))

    def _flagged(self, batch: pa.Table) -> pa.Table:
        if not self.flags:
            return batch
        return over(self.con, batch, BATCH_VIEW, f"SELECT {self._flag_sql()} FROM {BATCH_VIEW} AS s").to_arrow_table()

    def _count(self, checked: pa.Table) -> dict[str, int]:
        counts = {c.name: pc.sum(checked.column(f)).as_py() or 0 for c, f in zip(self.checks, self.flags)}
        return {name: int(n) for name, n in counts.items() if n}

    def _accept(self, checked: pa.Table, need: int) -> int:
        columns = [quote(c.name) for c in self.table.columns]
        values = [f"CAST({quote(c.name)} AS {c.type.sql})" for c in self.table.columns]
        if self.numbered:
            columns.append(ROW_ORDER)
            values.append(f"{self.inserted} + row_number() OVER (ORDER BY {ROW_ORDER})")
        count = over(
            self.con,
            checked,
            CHECKED,
            f"INSERT INTO {self.accepted} ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM {CHECKED} WHERE {self._ok()} ORDER BY {ROW_ORDER} LIMIT {int(need)}",
        ).fetchall()[0][0]
        self.inserted += int(count)
        return int(count)

    def _failed(self, checked: pa.Table, carry: list[str]) -> pa.Table:
        if not carry or not self.flags:
            return pa.table({})
        cols = ", ".join(quote(c) for c in carry)
        sql = f"SELECT {cols} FROM {CHECKED} WHERE NOT ({self._ok()}) ORDER BY {ROW_ORDER}"
        return over(self.con, checked, CHECKED, sql).to_arrow_table()

    def close(self) -> None:
        """Nothing is left behind: the checked batch is a view over Arrow, gone after each run."""
