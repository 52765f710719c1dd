"""The privacy ledger in the user's database: every DP run's spend, and each table's cap.

``synthtab.privacy_ledger`` is append-only and written in the same transaction
as the GENERATE / TRAIN that spent the budget, so a rolled-back statement
leaves no entry and a committed one always has one; a .duckdb file carries
its ledger to the next process.  Spending composes by simple addition of
epsilons and deltas per source table (basic composition: always valid,
whatever the runs were).

Both the spends and the cap changes (``synthtab.privacy_budget_changes``) are
hash-chained (synthtab_db/chain.py); ``privacy_budgets`` only mirrors the
latest caps for readers.  A budget follows its table's identity: a row counts
for a source when it names it, or when it carries the same column fingerprint
(so ``ALTER TABLE t RENAME`` or ``CREATE TABLE c AS SELECT * FROM t`` keep t's
cap and spend).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

import duckdb
import pyarrow as pa
from sqlglot import exp

from synthtab_db import chain, runs
from synthtab_db.duck import first_row, run_sql
from synthtab_db.planner.schema import TableRef
from synthtab_db.sqlbuild import table_exists
from synthtab_db.store import STATE

LEDGER = f"{STATE}.privacy_ledger"
BUDGETS = f"{STATE}.privacy_budgets"
CHANGES = f"{STATE}.privacy_budget_changes"
#: What each chained row's hash covers, in order.
LEDGER_CONTENT = ("id", "source", "fingerprint", "mechanism", "epsilon", "delta", "statement", "run_id", "recorded_at")
CHANGES_CONTENT = ("id", "source", "fingerprint", "epsilon", "recorded_at")

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {STATE};
CREATE TABLE IF NOT EXISTS {LEDGER} (
    source VARCHAR NOT NULL,        -- the source table whose rows were used
    mechanism VARCHAR NOT NULL,     -- e.g. 'argn: DP-SGD + noisy statistics'
    epsilon DOUBLE NOT NULL,
    delta DOUBLE NOT NULL,
    statement VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    id VARCHAR,                     -- the chain's (a ledger from before it gets these by ALTER)
    fingerprint VARCHAR,            -- the source's column fingerprint: its budget follows it
    {chain.CHAIN_COLUMNS}
);
CREATE TABLE IF NOT EXISTS {BUDGETS} (
    source VARCHAR PRIMARY KEY,
    epsilon DOUBLE NOT NULL,
    set_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE TABLE IF NOT EXISTS {CHANGES} (
    id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    fingerprint VARCHAR,            -- the table's column fingerprint when the cap was set
    epsilon DOUBLE NOT NULL,        -- the cap from then on
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    {chain.CHAIN_COLUMNS}
);
"""
_CHAINED = ("id VARCHAR", "fingerprint VARCHAR", *chain.CHAIN_COLUMNS.split(", "))


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables; a ledger from before the chain gets its columns and is sealed as it is."""
    run_sql(con, _DDL)
    if "row_hash" not in _columns(con, "privacy_ledger"):
        _migrate(con)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = $s AND table_name = $t",
                       {"s": STATE, "t": table}).fetchall()
    return {r[0] for r in rows}


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    for column in _CHAINED:
        run_sql(con, f"ALTER TABLE {LEDGER} ADD COLUMN IF NOT EXISTS {column}")
    run_sql(con, f"UPDATE {LEDGER} SET id = uuid()::VARCHAR")
    run_sql(con, f"INSERT INTO {CHANGES} (id, source, epsilon, recorded_at) "
                 f"SELECT uuid()::VARCHAR, source, epsilon, set_at FROM {BUDGETS}")
    chain.seal(con, LEDGER, LEDGER_CONTENT)
    chain.seal(con, CHANGES, CHANGES_CONTENT)


def fingerprint(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    """sha256 over the table's sorted column names and types: a rename or a copy keeps it
    (None when ``source`` is not a table of this database)."""
    table = exp.to_table(source, dialect="duckdb")
    rows = con.execute(
        "SELECT lower(column_name) || ':' || data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND lower(schema_name) = lower(coalesce($s, current_schema())) AND lower(table_name) = lower($t)",
        {"s": table.db or None, "t": table.name}).fetchall()
    return hashlib.sha256("|".join(sorted(r[0] for r in rows)).encode()).hexdigest() if rows else None


_MATCH = "(lower(source) = lower($s) OR fingerprint = $f)"


def has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    return table_exists(con, TableRef(name="privacy_budgets", schema=STATE))


def spent(con: duckdb.DuckDBPyConnection, source: str) -> tuple[float, float]:
    """(epsilon, delta) spent on ``source`` so far."""
    if not has_ledger(con):
        return 0.0, 0.0
    row = first_row(con, f"SELECT coalesce(sum(epsilon), 0), coalesce(sum(delta), 0) FROM {LEDGER} WHERE {_MATCH}",
                    {"s": source, "f": fingerprint(con, source)})
    return float(row[0]), float(row[1])


def cap(con: duckdb.DuckDBPyConnection, source: str) -> float | None:
    """The tightest cap among the latest caps set on this name or on a table with its fingerprint."""
    if not has_ledger(con) or "row_hash" not in _columns(con, "privacy_ledger"):
        return _legacy_cap(con, source) if has_ledger(con) else None
    row = first_row(con, f"""SELECT min(epsilon) FROM (
        SELECT arg_max(epsilon, coalesce(position, 9223372036854775807)) AS epsilon FROM {CHANGES}
        WHERE {_MATCH} GROUP BY lower(source))""", {"s": source, "f": fingerprint(con, source)})
    return float(row[0]) if row and row[0] is not None else None


def _legacy_cap(con: duckdb.DuckDBPyConnection, source: str) -> float | None:
    """A file from before the chain, read before its first write migrates it."""
    row = first_row(con, f"SELECT epsilon FROM {BUDGETS} WHERE lower(source) = lower($s)", {"s": source})
    return float(row[0]) if row else None


def set_cap(con: duckdb.DuckDBPyConnection, source: str, epsilon: float) -> None:
    """A new cap, chained; call inside a transaction holding chain.lock_for(con)."""
    ensure_ledger(con)
    now = datetime.now(timezone.utc)
    run_sql(con, f"INSERT INTO {CHANGES} (id, source, fingerprint, epsilon, recorded_at) VALUES ($i, $s, $f, $e, $t)",
            {"i": uuid.uuid4().hex, "s": source, "f": fingerprint(con, source), "e": epsilon, "t": now})
    chain.seal(con, CHANGES, CHANGES_CONTENT)
    run_sql(con, f"DELETE FROM {BUDGETS} WHERE lower(source) = lower($s)", {"s": source})
    run_sql(con, f"INSERT INTO {BUDGETS} VALUES ($s, $e, $t)", {"s": source, "e": epsilon, "t": now})


def append(con: duckdb.DuckDBPyConnection, source: str, mechanism: str, epsilon: float, delta: float,
           statement: str, run_id: str) -> None:
    """One spend, chained; call inside the statement's transaction, holding chain.lock_for(con)."""
    ensure_ledger(con)
    run_sql(con, f"INSERT INTO {LEDGER} (id, source, fingerprint, mechanism, epsilon, delta, statement, run_id, "
                 "recorded_at) VALUES ($i, $s, $f, $m, $e, $d, $q, $r, $t)",
            {"i": uuid.uuid4().hex, "s": source, "f": fingerprint(con, source), "m": mechanism, "e": epsilon,
             "d": delta, "q": statement, "r": run_id, "t": datetime.now(timezone.utc)})
    chain.seal(con, LEDGER, LEDGER_CONTENT)
    runs.note_spent(epsilon)


def breaks(con: duckdb.DuckDBPyConnection) -> list[chain.Break]:
    """Where the spends' or the caps' chain does not hold (empty: both verified)."""
    if not has_ledger(con) or "row_hash" not in _columns(con, "privacy_ledger"):
        return []
    return chain.verify(con, LEDGER, LEDGER_CONTENT) + chain.verify(con, CHANGES, CHANGES_CONTENT)


def broken_for(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    """Why ``source``'s budget can't be trusted: a changed or foreign row of its own, or any
    link broken (a removed row could have been anyone's); None when it holds."""
    found = fingerprint(con, source)
    for fault in breaks(con):
        row_source, row_print = fault.row.get("source"), fault.row.get("fingerprint")
        ours = str(row_source).lower() == source.lower() or (found is not None and row_print == found)
        if ours or fault.reason.startswith("the chain is broken"):
            return fault.reason
    return None


BUDGET_SCHEMA = pa.schema([
    ("table", pa.string()), ("epsilon_cap", pa.float64()), ("epsilon_spent", pa.float64()),
    ("delta_spent", pa.float64()), ("epsilon_remaining", pa.float64()), ("runs", pa.int64()),
    ("last_run", pa.timestamp("us", tz="UTC")), ("chain", pa.string()), ("chain_head", pa.string()),
])


def budget_table(con: duckdb.DuckDBPyConnection, source: str | None = None) -> pa.Table:
    """Per source table: cap, spent, remaining, runs, and whether its chain verifies
    (SHOW PRIVACY BUDGET); caps and spends follow the table's identity as the checks do."""
    ensure_ledger(con)
    names = [source] if source else _known_sources(con)
    head = chain.head(con, LEDGER)[1]
    return pa.Table.from_pylist([_budget_row(con, name, head) for name in names], schema=BUDGET_SCHEMA)


def _known_sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(f"SELECT DISTINCT source FROM (SELECT source FROM {LEDGER} UNION ALL "
                       f"SELECT source FROM {CHANGES}) ORDER BY source").fetchall()
    return [r[0] for r in rows]


def _budget_row(con: duckdb.DuckDBPyConnection, source: str, head: str) -> dict:
    limit, (epsilon, delta) = cap(con, source), spent(con, source)
    runs, last = first_row(con, f"SELECT count(*), max(recorded_at) FROM {LEDGER} WHERE {_MATCH}",
                           {"s": source, "f": fingerprint(con, source)})
    return {"table": source, "epsilon_cap": limit, "epsilon_spent": epsilon, "delta_spent": delta,
            "epsilon_remaining": None if limit is None else limit - epsilon, "runs": runs, "last_run": last,
            "chain": broken_for(con, source) or "verified", "chain_head": head}
