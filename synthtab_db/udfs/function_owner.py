"""Which connection owns a database's Python UDFs.

DuckDB keeps a Python scalar function with the connection (or cursor) that
registered it: every cursor of the database can call it, only that connection can
remove it, registering the name again elsewhere fails with "already exists", and a
function whose cursor is closed crashes when called.  So a server that hands out
short-lived cursors (the proxy) names the long-lived connection as their owner,
and synthesizer functions are registered there, once.  (The ``synthtab()`` UDF can't:
its parent connection is busy running the query that calls it.)

``version`` counts registrations and removals, so a cursor that declared its TEMP
table macros earlier can tell that another cursor trained a synthesizer since.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import duckdb


@dataclass
class FunctionOwner:
    connection: duckdb.DuckDBPyConnection
    lock: threading.RLock = field(default_factory=threading.RLock)
    version: int = 0


_OWNERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def owner_of(con: duckdb.DuckDBPyConnection) -> FunctionOwner:
    """The owner adopted for ``con``; a connection nobody adopted owns its own functions."""
    with _GUARD:
        owner = _OWNERS.get(con)
        if owner is None:
            owner = _OWNERS[con] = FunctionOwner(con)
        return owner


def adopt(cursor: duckdb.DuckDBPyConnection, parent: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``cursor``'s functions belong to ``parent`` (which outlives it); returns the cursor."""
    owner = owner_of(parent)
    with _GUARD:
        _OWNERS[cursor] = owner
    return cursor
