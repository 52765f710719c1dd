"""ROWS the target cannot hold is refused before anything is learned or written.

The estimate is deliberately simple and on the safe side: each row's uncompressed
width (fixed widths per kind, strings at their average length in the source's
first rows) times the rows asked for, against the free space of the
folder holding the database file (for an in-memory database: DuckDB's
memory_limit).  DuckDB usually stores the rows several times smaller, so a
refusal means the request was far out of reach, not borderline.
"""

from __future__ import annotations

import os

import duckdb

from synthtab_db.duck import database_path, first_row
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Column, Kind
from synthtab_db.sizes import parse_size
from synthtab_db.sqlbuild import quote, table_expr

WIDTH: dict[Kind, int] = {
    Kind.INTEGER: 8, Kind.FLOAT: 8, Kind.DECIMAL: 16, Kind.BOOLEAN: 1, Kind.DATE: 4, Kind.TIME: 8,
    Kind.TIMESTAMP: 8, Kind.TIMESTAMPTZ: 8, Kind.INTERVAL: 16, Kind.UUID: 16, Kind.ENUM: 2,
}
VARIABLE = 16  # a string, blob, list or JSON value when the source has none to measure
SAMPLE = 10_000


def refuse_beyond_disk(con: duckdb.DuckDBPyConnection, jobs: list) -> int:
    """Raise when the rows asked for, all tables together, cannot fit where the database lives;
    else the estimate (bytes, uncompressed)."""
    sizes = [(job.table.name, _rows(con, job), _row_bytes(con, job)) for job in jobs]
    need = sum(rows * width for _, rows, width in sizes)
    room, where = free_room(con)
    if need <= room:
        return need
    detail = ", ".join(f"{name}: {rows:,} rows x ~{width} bytes" for name, rows, width in sizes)
    raise SynthError(
        f"GENERATE would write about {_human(need)} ({detail}; uncompressed estimate) but {where} has "
        f"{_human(room)} free; ask for fewer ROWS (or a smaller SCALE), or free space. Nothing was written."
    )


def _rows(con: duckdb.DuckDBPyConnection, job) -> int:
    """The planner's row rule: the count asked for, or its estimate (SCALE, children per parent)."""
    rule = job.rows
    return int(rule.rows if rule.kind == "fixed" and rule.rows is not None else rule.estimate)


def _row_bytes(con: duckdb.DuckDBPyConnection, job) -> int:
    lengths = _string_lengths(con, job) if job.learned is None else {}
    return sum(WIDTH.get(c.type.kind) or lengths.get(c.name, VARIABLE) for c in job.table.columns) or 1


def _string_lengths(con: duckdb.DuckDBPyConnection, job) -> dict[str, int]:
    """Average byte length of each variable-width column in the source's first rows (an
    estimate: a sample would cost a scan of the whole table)."""
    variable: list[Column] = [c for c in job.table.columns if c.type.kind not in WIDTH]
    if not variable:
        return {}
    averages = ", ".join(f"avg(strlen(CAST({quote(c.name)} AS VARCHAR)))" for c in variable)
    source = table_expr(job.source).sql("duckdb")
    row = first_row(con, f"SELECT {averages} FROM (SELECT * FROM {source} LIMIT {SAMPLE})")
    return {c.name: int(round(v)) + 4 for c, v in zip(variable, row) if v is not None}


def free_room(con: duckdb.DuckDBPyConnection) -> tuple[int, str]:
    """Bytes the target can still take, and where (for the message)."""
    path = database_path(con)
    if not path:
        limit = first_row(con, "SELECT current_setting('memory_limit')")[0]
        return parse_size(limit), f"the in-memory database (memory_limit {limit})"
    folder = os.path.dirname(os.path.abspath(path))
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize, f"the disk of {folder}"


def _human(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if size < 1000:
            return f"{size:.1f} {unit}" if unit != "bytes" else f"{int(size)} bytes"
        size /= 1000
    return f"{size:.1f} EB"
