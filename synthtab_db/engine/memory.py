"""A GENERATE runs with DuckDB's buffer pool bounded, then gives the setting back.

DuckDB keeps the blocks a statement writes or reads in its buffer pool, a cache
bounded only by ``memory_limit`` (80% of RAM unless set).  So generating 100M
rows, or learning from a 100M-row table, held ~13 MB per million rows until the
cache filled RAM: memory grew with ROWS though nothing needed it.  Under a bound
DuckDB evicts written blocks (they are already in the file), and the statement's
own working set (one batch, the model) is what remains.

A statement that wrote more than the bound holds ends with a CHECKPOINT under the
same bound (``checkpoint_if_beyond``): DuckDB's checkpoint at close would otherwise
re-read the new rows with the cache unbounded again.

``memory_limit`` is global to the database instance: while the statement runs,
other connections of the same database share the lower bound (their big queries
spill to disk as DuckDB does under any limit).  A limit the user set lower is
kept; an in-memory database is left alone (its tables *are* the buffer pool).
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import Iterator

import duckdb

from synthtab_db.duck import database_path
from synthtab_db.sizes import MEMORY_OFF, size_bytes


@contextmanager
def bounded_buffer_pool(con: duckdb.DuckDBPyConnection, limit: str | None) -> Iterator[None]:
    """Run the body with ``memory_limit`` at most ``limit`` ('none': leave it alone)."""
    wanted = None if limit is None or limit.lower() in MEMORY_OFF else size_bytes(limit)
    current = _setting(con)
    if wanted is None or database_path(con) is None or (size_bytes(current) or 0) <= wanted:
        yield
        return
    default = current == _default_setting()
    con.execute(f"SET memory_limit = '{wanted}B'")
    try:
        yield
    finally:  # a SET is not transactional: a rollback does not undo it, this does
        con.execute("RESET memory_limit" if default else f"SET memory_limit = '{current}'")


def checkpoint_if_beyond(con: duckdb.DuckDBPyConnection, written: int) -> None:
    """Fold what the statement wrote into the file now, still under the bound, when its
    uncompressed size (``written``, bytes) is more than the bound holds: DuckDB's
    checkpoint decompresses the new row groups, and left to the close, with the cache
    unbounded again, it peaked at 1.3 GB for 10M Adult rows (0.64 GB under 300MB).
    Smaller writes fit the bound anyway and keep their checkpoint for later.  Skipped
    when another connection's transaction is open (DuckDB refuses; the close does it)."""
    if database_path(con) is None or written <= (size_bytes(_setting(con)) or 0):
        return
    try:
        con.execute("CHECKPOINT")
    except duckdb.Error:
        pass


def _setting(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


@functools.cache
def _default_setting() -> str:
    """DuckDB's own default here, as it prints it: a user who never set the limit gets it back by RESET."""
    fresh = duckdb.connect(":memory:")
    try:
        return _setting(fresh)
    finally:
        fresh.close()
