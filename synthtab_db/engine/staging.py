"""Staged batches are checked in DuckDB; only rows that pass reach the accepted set.

Per batch: DuckDB scans the Arrow rows once for one violation flag per compiled
check (only the flags come back); the flags are counted per constraint, the
passing rows (up to what is still needed) are filtered in Arrow, cast to the
target's types and appended to the accepted table (the target itself, or a
scratch table for a self-referencing table), and the failing rows come back so
their parent slots can be regenerated.
Nothing per batch outlives the batch, so memory does not grow with ROWS.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.checks import CompiledCheck
from synthtab_db.checks.compile import ROW_ORDER
from synthtab_db.duck import run_sql
from synthtab_db.planner.schema import Table
from synthtab_db.sqlbuild import quote, scratch_table_sql

BATCH_VIEW = "__synthtab_batch"
CHECKED = "__synthtab_checked"


def over(con: duckdb.DuckDBPyConnection, rows: pa.Table, name: str, sql: str) -> duckdb.DuckDBPyRelation:
    """``sql`` run with the Arrow ``rows`` visible as ``name``, for this query only (works
    with external access off, and keeps nothing alive after it, unlike ``con.register``)."""
    return con.from_arrow(rows).query(name, sql)


def _passing(flags: pa.Table | None) -> pa.BooleanArray | None:
    """Rows with no violation; None when there are no checks or every row passed."""
    if flags is None or not flags.num_columns:
        return None
    bad = flags.column(0).combine_chunks()
    for column in flags.columns[1:]:
        bad = pc.or_(bad, column.combine_chunks())
    return None if not pc.any(bad).as_py() else pc.invert(bad)


def _same(natural: pa.DataType, given: pa.DataType) -> bool:
    """``given`` values are the accepted table's own type (a dictionary of them counts: DuckDB
    reads a dictionary-encoded string column as VARCHAR)."""
    return natural == (given.value_type if pa.types.is_dictionary(given) else given)


def _counts(checks: list[CompiledCheck], flags: pa.Table | None) -> dict[str, int]:
    if flags is None:
        return {}
    counts = {c.name: pc.sum(column).as_py() or 0 for c, column in zip(checks, flags.columns)}
    return {name: int(n) for name, n in counts.items() if n}


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
        self.inserted = 0
        self.natural: pa.Schema | None = None  # the accepted table's columns as Arrow types

    def create_accepted(self) -> None:
        run_sql(self.con, f"DROP TABLE IF EXISTS {self.accepted}")
        run_sql(self.con, scratch_table_sql(self.table, self.accepted, {ROW_ORDER: "BIGINT"}))

    def _live(self, schema: pa.Schema) -> list[CompiledCheck]:
        """The checks a batch of this schema can fail: a type check on a column that already
        has the accepted table's own Arrow type (and no length cap) passes every value, and
        scanning for it cost a quarter of a copula run's time."""
        natural = self._natural()
        return [c for c in self.checks if not (
            c.kind == "type" and c.column in schema.names and _same(natural.field(c.column).type,
                                                                    schema.field(c.column).type)
            and not self.table.column(c.column).type.length)]

    def _flag_sql(self, checks: list[CompiledCheck]) -> str:
        """Only the flags come back (narrow), in row order: a key check's window may reorder."""
        flags = [f"coalesce({c.sql()}, TRUE) AS __v{i}" for i, c in enumerate(checks)]
        return f"SELECT {', '.join(flags)} FROM {BATCH_VIEW} AS s ORDER BY s.{ROW_ORDER}"

    def run(self, batch: pa.Table, need: int, carry: list[str]) -> RoundResult:
        """Flags are computed in DuckDB, the batch is filtered in Arrow and appended once.

        Nothing is registered or kept as a temp table: inside the statement's transaction a
        replaced temp table keeps every old version and ``con.register`` keeps every table
        until COMMIT, so either would grow memory with the rows made.  ``batch`` is in
        ROW_ORDER order, so the first ``need`` passing rows are a slice, no sort."""
        checks = self._live(batch.schema)
        flags = over(self.con, batch, BATCH_VIEW, self._flag_sql(checks)).to_arrow_table() if checks else None
        ok = _passing(flags)
        passing = (batch if ok is None else batch.filter(ok)).slice(0, max(int(need), 0))
        failed = batch.filter(pc.invert(ok)).select(carry) if ok is not None and carry else pa.table({})
        return RoundResult(self._append(passing), _counts(checks, flags), failed)

    def _natural(self) -> pa.Schema:
        if self.natural is None:
            self.natural = self.con.sql(f"SELECT * FROM {self.accepted} LIMIT 0").to_arrow_table().schema
        return self.natural

    def _value(self, column, arrow_type: pa.DataType) -> str:
        """A column already of the accepted table's own Arrow type goes in as it is (a CAST
        per value costs ~15% of the append); any other is cast to the declared type."""
        name = quote(column.name)
        return name if _same(self._natural().field(column.name).type, arrow_type) else f"CAST({name} AS {column.type.sql})"

    def _append(self, passing: pa.Table) -> int:
        if not passing.num_rows:
            return 0
        columns = [quote(c.name) for c in self.table.columns]
        values = [self._value(c, passing.schema.field(c.name).type) for c in self.table.columns]
        if self.numbered:  # the scratch table numbers accepted rows 1, 2, ... across batches
            numbers = np.arange(self.inserted + 1, self.inserted + 1 + passing.num_rows, dtype=np.int64)
            passing = passing.set_column(passing.schema.get_field_index(ROW_ORDER), ROW_ORDER, pa.array(numbers))
            columns, values = columns + [ROW_ORDER], values + [ROW_ORDER]
        sql = f"INSERT INTO {self.accepted} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {CHECKED}"
        over(self.con, passing, CHECKED, sql).fetchall()
        self.inserted += passing.num_rows
        return passing.num_rows

    def close(self) -> None:
        """Nothing is left behind: the checked batch is a view over Arrow, gone after each run."""
