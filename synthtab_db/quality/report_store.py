"""Reports kept in the database (``synthtab.quality_reports``, and INTO <table> on
request), one row per metric, so quality can be queried and tracked over runs."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Callable, TypeVar

import duckdb
import pyarrow as pa

from synthtab_db.duck import atomic, run_sql
from synthtab_db.planner.schema import TableRef
from synthtab_db.quality.report import Report
from synthtab_db.quality.scores import jsonable
from synthtab_db.quality.sql import table_sql

QUALITY_REPORTS = "synthtab.quality_reports"
T = TypeVar("T")

COLUMNS = """(
    run_id VARCHAR NOT NULL,
    created TIMESTAMP WITH TIME ZONE NOT NULL,
    synthetic_table VARCHAR NOT NULL,
    real_table VARCHAR NOT NULL,
    metric_group VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    columns VARCHAR,           -- a column, 'a, b' for a pair, an FK edge, or NULL for the table
    value DOUBLE,
    detail JSON                -- what the value was computed from (histograms, matrices, p-values)
)"""


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def rows_table(run_id: str, reports: list[Report]) -> pa.Table:
    created = datetime.now(timezone.utc)
    return pa.Table.from_pylist(
        [
            {
                "run_id": run_id,
                "created": created,
                "synthetic_table": r.synthetic,
                "real_table": r.real,
                "metric_group": row.group,
                "metric": row.metric,
                "columns": row.columns,
                "value": row.finite(),
                "detail": json.dumps(jsonable(row.detail)),
            }
            for r in reports
            for row in r.rows
        ]
    )


def save(con, run_id: str, reports: list[Report], into: TableRef | None = None) -> None:
    """All rows into the state table (and INTO's table); the caller holds the transaction."""
    name = f"__synthtab_quality_{run_id}"
    con.register(name, rows_table(run_id, reports))
    try:
        for target in [QUALITY_REPORTS] + ([table_sql(into)] if into else []):
            _insert(con, target, name)
    finally:
        _unregister(con, name)


def _unregister(con, name: str) -> None:
    """Drop the Arrow view; in an aborted transaction the ROLLBACK that follows drops it."""
    try:
        con.unregister(name)
    except duckdb.TransactionException:
        pass


def in_own_transaction(con, work: Callable[[], T]) -> T:
    """EVALUATE stores all its rows or none."""
    return atomic(con, work, "EVALUATE SYNTHETIC")


def _insert(con, target: str, source: str) -> None:
    if target == QUALITY_REPORTS:
        run_sql(con, "CREATE SCHEMA IF NOT EXISTS synthtab")
    run_sql(con, f"CREATE TABLE IF NOT EXISTS {target} {COLUMNS}")
    run_sql(
        con,
        f"INSERT INTO {target} SELECT run_id, created, synthetic_table, real_table, metric_group, metric, "
        f"columns, value, CAST(detail AS JSON) FROM {source}",
    )
