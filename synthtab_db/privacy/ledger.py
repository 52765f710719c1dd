"""The privacy ledger in the user's database: every DP run's spend, and each table's cap.

``synthtab.privacy_ledger`` is append-only and written in the same transaction
as the GENERATE / TRAIN that spent the budget, so a rolled-back statement
leaves no entry and a committed one always has one; a .duckdb file carries
its ledger to the next process.  Spending composes by simple addition of
epsilons and deltas per source table (basic composition: always valid,
whatever the runs were).
"""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import pyarrow as pa

from synthtab_db.duck import first_row, run_sql
from synthtab_db.planner.schema import TableRef
from synthtab_db.sqlbuild import table_exists
from synthtab_db.store import STATE

LEDGER = f"{STATE}.privacy_ledger"
BUDGETS = f"{STATE}.privacy_budgets"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {STATE};
CREATE TABLE IF NOT EXISTS {LEDGER} (
    source VARCHAR NOT NULL,        -- the source table whose rows were used
    mechanism VARCHAR NOT NULL,     -- e.g. 'argn: DP-SGD + noisy statistics'
    epsilon DOUBLE NOT NULL,
    delta DOUBLE NOT NULL,
    statement VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE TABLE IF NOT EXISTS {BUDGETS} (
    source VARCHAR PRIMARY KEY,
    epsilon DOUBLE NOT NULL,
    set_at TIMESTAMP WITH TIME ZONE NOT NULL
);
"""


def ensure_ledger(con: duckdb.DuckDBPyConnection) -> None:
    run_sql(con, _DDL)


def has_ledger(con: duckdb.DuckDBPyConnection) -> bool:
    return table_exists(con, TableRef(name="privacy_budgets", schema=STATE))


def spent(con: duckdb.DuckDBPyConnection, source: str) -> tuple[float, float]:
    """(epsilon, delta) spent on ``source`` so far."""
    if not has_ledger(con):
        return 0.0, 0.0
    row = first_row(con, f"SELECT coalesce(sum(epsilon), 0), coalesce(sum(delta), 0) FROM {LEDGER} "
                         "WHERE lower(source) = lower($s)", {"s": source})
    return float(row[0]), float(row[1])


def cap(con: duckdb.DuckDBPyConnection, source: str) -> float | None:
    if not has_ledger(con):
        return None
    row = first_row(con, f"SELECT epsilon FROM {BUDGETS} WHERE lower(source) = lower($s)", {"s": source})
    return float(row[0]) if row else None


def set_cap(con: duckdb.DuckDBPyConnection, source: str, epsilon: float) -> None:
    ensure_ledger(con)
    run_sql(con, f"DELETE FROM {BUDGETS} WHERE lower(source) = lower($s)", {"s": source})
    run_sql(con, f"INSERT INTO {BUDGETS} VALUES ($s, $e, $t)",
            {"s": source, "e": epsilon, "t": datetime.now(timezone.utc)})


def append(con: duckdb.DuckDBPyConnection, source: str, mechanism: str, epsilon: float, delta: float,
           statement: str, run_id: str) -> None:
    """One spend; call inside the statement's transaction."""
    ensure_ledger(con)
    run_sql(con, f"INSERT INTO {LEDGER} VALUES ($s, $m, $e, $d, $q, $r, $t)",
            {"s": source, "m": mechanism, "e": epsilon, "d": delta, "q": statement, "r": run_id,
             "t": datetime.now(timezone.utc)})


def budget_table(con: duckdb.DuckDBPyConnection, source: str | None = None) -> pa.Table:
    """Per source table: cap, spent epsilon and delta, remaining, runs (SHOW PRIVACY BUDGET)."""
    ensure_ledger(con)
    where = "WHERE lower(source) = lower($s)" if source else ""
    sql = f"""
        WITH spent AS (SELECT source, sum(epsilon) AS e, sum(delta) AS d, count(*) AS runs, max(recorded_at) AS last
                       FROM {LEDGER} GROUP BY source),
             names AS (SELECT source FROM spent UNION SELECT source FROM {BUDGETS})
        SELECT n.source AS "table", b.epsilon AS epsilon_cap, coalesce(s.e, 0.0) AS epsilon_spent,
               coalesce(s.d, 0.0) AS delta_spent, b.epsilon - coalesce(s.e, 0.0) AS epsilon_remaining,
               coalesce(s.runs, 0) AS runs, s.last AS last_run
        FROM names n LEFT JOIN spent s ON lower(s.source) = lower(n.source)
                     LEFT JOIN {BUDGETS} b ON lower(b.source) = lower(n.source)
        {where.replace('source', 'n.source')} ORDER BY n.source"""
    return con.sql(sql, params={"s": source} if source else None).to_arrow_table()
