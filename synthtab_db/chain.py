"""Hash chains over the engine's append-only tables (privacy ledger, budget changes, runs).

Each sealed row carries ``position`` (1, 2, …), ``previous_hash`` (the row before's
``row_hash``, '' for the first) and ``row_hash`` = sha256 over the previous hash and
the row's content.  An UPDATE of a sealed row changes its content; a DELETE breaks
the link of the row after it; either is found by ``verify``.  The hash has no secret:
whoever can write the file and recomputes the whole chain is not detected, except by
comparing the head hash with one recorded elsewhere (docs/ledger.md).

The writers of one database file take ``lock_for`` from before their transaction
begins until after it commits, so the chain they extend is the one last committed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb

from synthtab_db.duck import first_row, run_sql

CHAIN_COLUMNS = "position BIGINT, previous_hash VARCHAR, row_hash VARCHAR"
NOT_SEALED = "a row was added outside the engine (it carries no hash)"

_LOCKS: dict[tuple[str, str], threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def database_key(con: duckdb.DuckDBPyConnection) -> str:
    """The file behind the connection's current database (in-memory databases share one key)."""
    row = first_row(con, "SELECT coalesce(path, 'memory:' || database_name) FROM duckdb_databases() "
                         "WHERE database_name = current_database()")
    return str(row[0]) if row else "memory"


def lock_for(con: duckdb.DuckDBPyConnection, chain_name: str = "ledger") -> threading.RLock:
    """One process-wide re-entrant lock per database file and chain: DuckDB lets one process
    write a file, so this serialises every writer of that chain."""
    key = (database_key(con), chain_name)
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.RLock())


def _canonical(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, float):
        return repr(value)
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


def digest(previous: str, values: tuple) -> str:
    """sha256 over the previous row's hash and this row's content (canonical JSON)."""
    body = json.dumps([previous, *map(_canonical, values)], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def head(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    """(position, row_hash) of the last sealed row; (0, '') for an empty chain."""
    row = first_row(con, f"SELECT position, row_hash FROM {table} WHERE position IS NOT NULL "
                         "ORDER BY position DESC LIMIT 1")
    return (int(row[0]), str(row[1])) if row else (0, "")


def seal(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> int:
    """Chain the rows not sealed yet, oldest first (``id`` orders rows written together);
    the caller holds ``lock_for`` and is in a transaction.  Returns how many it sealed."""
    position, previous = head(con, table)
    pending = con.execute(f"SELECT id, {', '.join(columns)} FROM {table} WHERE row_hash IS NULL "
                          "ORDER BY recorded_at, id").fetchall()
    sealed = []
    for row_id, *values in pending:
        position, row_hash = position + 1, digest(previous, tuple(values))
        sealed.append((row_id, position, previous, row_hash))
        previous = row_hash
    for start in range(0, len(sealed), _BATCH):
        _update(con, table, sealed[start:start + _BATCH])
    return len(pending)


_BATCH = 500


def _update(con: duckdb.DuckDBPyConnection, table: str, sealed: list[tuple]) -> None:
    """One UPDATE for a batch of (id, position, previous_hash, row_hash)."""
    values = ", ".join(["(?, ?, ?, ?)"] * len(sealed))
    run_sql(con, f"UPDATE {table} SET position = v.p, previous_hash = v.v, row_hash = v.h "
                 f"FROM (VALUES {values}) AS v(i, p, v, h) WHERE {table}.id = v.i",
            [x for row in sealed for x in row])


@dataclass(frozen=True)
class Break:
    """One place the chain does not hold: the row's content (as a dict) and why."""

    position: int | None
    row: dict
    reason: str


def verify(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...],
           pending_ok: bool = False) -> list[Break]:
    """Every row re-hashed in order; unsealed rows are breaks unless ``pending_ok``."""
    rows = con.execute(f"SELECT position, previous_hash, row_hash, {', '.join(columns)} FROM {table} "
                       "ORDER BY position NULLS LAST").fetchall()
    found, previous, expected = [], "", 1
    for position, previous_hash, row_hash, *values in rows:
        content = dict(zip(columns, values))
        reason = _fault(position, previous_hash, row_hash, values, previous, expected)
        if reason == NOT_SEALED and pending_ok:
            continue
        if reason:
            found.append(Break(position, content, reason))
        previous, expected = row_hash or previous, (position or expected - 1) + 1
    return found


def _fault(position, previous_hash, row_hash, values, previous: str, expected: int) -> str | None:
    if position is None or row_hash is None:
        return NOT_SEALED
    if position != expected or previous_hash != previous:
        return f"the chain is broken before row {position} (a row was removed or reordered)"
    if row_hash != digest(previous, tuple(values)):
        return f"row {position} was changed after it was written"
    return None
