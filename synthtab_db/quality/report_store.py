"""Reports kept in the database (``synthtab.quality_reports``, and INTO <table> on
request), one row per metric, so quality can be queried and tracked over runs."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pyarrow as pa

from synthtab_db.duck import run_sql
from synthtab_db.planner.schema import TableRef
from synthtab_db.quality.report import Report
from synthtab_db.quality.scores import jsonable
from synthtab_db.quality.sql import table_sql

QUALITY_REPORTS = "synthtab.quality_reports"

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
    """All rows into the state table (and INTO's table) in one transaction."""
    name = f"__synthtab_quality_{run_id}"
    con.register(name, rows_table(run_id, reports))
    targets = [QUALITY_REPORTS] + ([table_sql(into)] if into else [])
    try:
        run_sql(con, "BEGIN TRANSACTION")
        for target in targets:
            _insert(con, target, name)
        run_sql(con, "COMMIT")
    except Exception:
        run_sql(con, "ROLLBACK")
        raise
    finally:
        con.unregister(name)


def _insert(con, target: str, source: str) -> None:
    if target == QUALITY_REPORTS:
        run_sql(con, "CREATE SCHEMA IF NOT EXISTS synthtab")
    run_sql(con, f"CREATE TABLE IF NOT EXISTS {target} {COLUMNS}")
    run_sql(
        con,
        f"INSERT INTO {target} SELECT run_id, created, synthetic_table, real_table, metric_group, metric, "
        f"columns, value, CAST(detail AS JSON) FROM {source}",
    )
