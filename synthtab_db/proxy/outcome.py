"""What one statement produced: columns plus a row stream, or only a command tag.

Rows stream from DuckDB in batches; an outcome that must outlive the next
statement on the same DuckDB cursor (a suspended portal, a DECLAREd cursor) is
``materialize``d first, because DuckDB 2.0 invalidates an unfinished result when
its cursor runs something else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa

from synthtab_db.proxy import types
from synthtab_db.proxy.types import PgType

BATCH = 2048


@dataclass
class Outcome:
    tag: str  # "SELECT" gets " <n>" appended once the rows are counted
    columns: list[tuple[str, PgType]] | None = None
    rows: Iterator[tuple] = field(default_factory=lambda: iter(()))
    sent: int = 0
    done: bool = False  # the last stream() reached the end of the rows

    @property
    def returns_rows(self) -> bool:
        return self.columns is not None

    def take(self, limit: int) -> tuple[list[tuple], bool]:
        """Up to ``limit`` rows (0 = all); True when the stream is finished."""
        out = list(self.stream(limit))
        return out, self.done

    def stream(self, limit: int) -> Iterator[tuple]:
        """Up to ``limit`` rows (0 = all) one at a time; ``done`` tells whether more remain."""
        count, self.done = 0, False
        for row in self.rows:
            count += 1
            self.sent += 1
            yield row
            if limit and count >= limit:
                self.rows, self.done = _peek(self.rows)
                return
        self.done = True

    def materialize(self) -> None:
        self.rows = iter(list(self.rows))

    def final_tag(self) -> str:
        return f"{self.tag} {self.sent}" if self.tag in ("SELECT", "FETCH") else self.tag


def _peek(rows: Iterator[tuple]) -> tuple[Iterator[tuple], bool]:
    for first in rows:
        return _chain(first, rows), False
    return iter(()), True


def _chain(first: tuple, rest: Iterator[tuple]) -> Iterator[tuple]:
    yield first
    yield from rest


def from_cursor(cursor, tag: str = "SELECT") -> Outcome:
    columns = [(d[0], types.pg_type(str(d[1]))) for d in cursor.description]
    return Outcome(tag, columns, _stream(cursor))


def _stream(cursor) -> Iterator[tuple]:
    while True:
        batch = cursor.fetchmany(BATCH)
        if not batch:
            return
        yield from batch


_ARROW = [
    (pa.types.is_boolean, types.BOOL),
    (pa.types.is_integer, types.INT8),
    (pa.types.is_floating, types.FLOAT8),
    (pa.types.is_decimal, types.NUMERIC),
    (pa.types.is_timestamp, types.TIMESTAMP),
    (pa.types.is_date, types.DATE),
    (lambda t: pa.types.is_map(t) or pa.types.is_struct(t), types.JSON),
]


def arrow_pg_type(arrow_type: pa.DataType) -> PgType:
    return next((pg for test, pg in _ARROW if test(arrow_type)), types.TEXT)


def from_arrow(table: pa.Table) -> Outcome:
    """Our statements' result sets (Arrow) as rows; maps become JSON objects."""
    columns = [(f.name, arrow_pg_type(f.type)) for f in table.schema]
    values = [_column_values(table.column(i), f.type) for i, f in enumerate(table.schema)]
    return Outcome("SELECT", columns, iter(list(zip(*values))) if values else iter(()))


def _column_values(column: pa.ChunkedArray, arrow_type: pa.DataType) -> list:
    values = column.to_pylist()
    if pa.types.is_map(arrow_type):
        return [dict(v) if v is not None else None for v in values]
    return values
