"""The audit trail ``synthtab.runs``: one row per GENERATE, TRAIN, EVALUATE, DROP SYNTHESIZER
and budget change — who (synthtab_db.actor), what, what it wrote and spent, and how it ended.

A statement's row is written by ``duck.atomic`` just before its COMMIT, so work that
lands always has its row; a failed statement's row is written after the rollback in a
small transaction of its own.  Rows are hash-chained like the ledger (synthtab_db/chain.py);
they are sealed right after the statement, under the trail's own lock, since the long
transactions that write them can't all hold one lock.  ``SHOW RUNS`` lists them.
"""

from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, TypeVar

import duckdb
import pyarrow as pa

from synthtab_db import actor, chain
from synthtab_db.duck import BEFORE_COMMIT, atomic, first_row, run_sql
from synthtab_db.errors import SynthError
from synthtab_db.store import STATE

RUNS = f"{STATE}.runs"
CONTENT = ("id", "recorded_at", "role", "client", "verb", "statement", "tables", "rows", "model", "seed",
           "epsilon", "outcome")
_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {STATE};
CREATE TABLE IF NOT EXISTS {RUNS} (
    id VARCHAR NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    role VARCHAR NOT NULL,          -- the proxy's login role, or the OS user when embedded
    client VARCHAR NOT NULL,        -- the client's address, or 'embedded'
    verb VARCHAR NOT NULL,          -- GENERATE, TRAIN, EVALUATE, DROP SYNTHESIZER, SET PRIVACY BUDGET
    statement VARCHAR NOT NULL,
    tables VARCHAR,                 -- what it wrote: 'main.synth_t:1000, …'
    rows BIGINT,
    model VARCHAR,
    seed BIGINT,
    epsilon DOUBLE,                 -- spent by this statement (DP runs)
    outcome VARCHAR NOT NULL,       -- 'ok' or 'failed: <message>'
    {chain.CHAIN_COLUMNS}
);
"""
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class Pending:
    """The row a running statement will leave; the engine adds what it wrote and spent."""

    verb: str
    statement: str
    model: str | None = None
    seed: int | None = None
    written: list[tuple[str, int]] = field(default_factory=list)
    epsilon: float | None = None
    recorded: bool = False


_PENDING: ContextVar[Pending | None] = ContextVar("synthtab_pending_run", default=None)


def note_written(table: str, rows: int) -> None:
    """A table the running statement wrote (no-op outside a recorded statement)."""
    pending = _PENDING.get()
    if pending is not None:
        pending.written.append((table, rows))


def note_spent(epsilon: float) -> None:
    pending = _PENDING.get()
    if pending is not None:
        pending.epsilon = (pending.epsilon or 0.0) + epsilon


def ensure_runs(con: duckdb.DuckDBPyConnection) -> None:
    run_sql(con, _DDL)


def _exists(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(first_row(con, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = $s AND table_name = 'runs'",
                          {"s": STATE})[0])


def recorded(con: duckdb.DuckDBPyConnection, pending: Pending, work: Callable[[], T]) -> T:
    """Run ``work`` (a statement) leaving its row in the trail, whatever happens."""
    if not _exists(con):
        with chain.lock_for(con, "runs"):
            ensure_runs(con)  # before the work's transaction: two first statements can't race on the DDL
    # only this statement's own connection: a scratch database it commits into (the PostgreSQL
    # bridge's) has no trail, and the row is then written alone after the work
    tokens = _PENDING.set(pending), BEFORE_COMMIT.set(lambda c: _write(c, pending, "ok") if c is con else None)
    try:
        result = work()
    except BaseException as err:
        _reset(tokens)
        _record_alone(con, pending, f"failed: {err}")
        raise
    _reset(tokens)
    if not pending.recorded:
        _record_alone(con, pending, "ok")
    else:
        _seal(con)
    return result


def _reset(tokens) -> None:
    _PENDING.reset(tokens[0])
    BEFORE_COMMIT.reset(tokens[1])


def _write(con: duckdb.DuckDBPyConnection, pending: Pending, outcome: str) -> None:
    """The row, once per statement, in whatever transaction is open."""
    if pending.recorded:
        return
    who = actor.current()
    tables = ", ".join(f"{t}:{n}" for t, n in pending.written) or None
    rows = sum(n for _, n in pending.written) if pending.written else None
    run_sql(con, f"INSERT INTO {RUNS} ({', '.join(CONTENT)}) VALUES ($i, $t, $r, $c, $v, $s, $w, $n, $m, $d, $e, $o)",
            {"i": uuid.uuid4().hex, "t": datetime.now(timezone.utc), "r": who.role, "c": who.client, "v": pending.verb,
             "s": pending.statement, "w": tables, "n": rows, "m": pending.model, "d": pending.seed,
             "e": pending.epsilon, "o": outcome[:2000]})
    pending.recorded = True


def _record_alone(con: duckdb.DuckDBPyConnection, pending: Pending, outcome: str) -> None:
    """A failed (or transaction-less) statement's row in a transaction of its own; never
    hides the statement's own error."""
    try:
        atomic(con, lambda: _write(con, pending, outcome), "the audit trail")
    except SynthError:  # the caller left a transaction open: the row joins it if it still can
        _try(lambda: _write(con, pending, outcome), pending)
        return
    except duckdb.Error as err:
        log.warning("could not record %s in %s: %s", pending.verb, RUNS, err)
        return
    _seal(con)


def _try(write: Callable[[], None], pending: Pending) -> None:
    try:
        write()
    except duckdb.Error as err:  # an aborted transaction takes nothing more
        log.warning("could not record %s in %s: %s", pending.verb, RUNS, err)


def _seal(con: duckdb.DuckDBPyConnection) -> None:
    with chain.lock_for(con, "runs"):
        try:
            atomic(con, lambda: chain.seal(con, RUNS, CONTENT), "the audit trail")
        except (SynthError, duckdb.Error) as err:  # sealed by the next statement instead
            log.info("audit trail not sealed yet: %s", err)


RESULT_COLUMNS = ("position", *CONTENT, "row_hash")


def show(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """SHOW RUNS: the trail in chain order, each row with whether it verifies."""
    if not _exists(con):
        ensure_runs(con)
    _seal(con)
    faults = {b.row["id"]: b.reason for b in chain.verify(con, RUNS, CONTENT, pending_ok=True)}
    table = con.sql(f"SELECT {', '.join(RESULT_COLUMNS)} FROM {RUNS} ORDER BY position NULLS LAST, recorded_at"
                    ).to_arrow_table()
    marks = [faults.get(i, "verified" if h else "pending") for i, h in
             zip(table.column("id").to_pylist(), table.column("row_hash").to_pylist())]
    return table.append_column("chain", pa.array(marks, pa.string()))
