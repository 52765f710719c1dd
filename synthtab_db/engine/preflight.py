"""What a GENERATE can be refused for before any fit: a ROWS no run could reach, CHECK
constraints that allow no value, and a WHERE that is not the documented AND of column
predicates or names a column the table doesn't have.  Each is a SynthError naming the
table, column or option, and nothing has run yet."""

from __future__ import annotations

import numpy as np

from synthtab_db.conditions import parse_conditions
from synthtab_db.engine.table_job import TableJob
from synthtab_db.errors import SynthError
from synthtab_db.transforms.bounds import column_bounds
from synthtab_db.transforms.codecs import NUMBER_CODECS, number_domain

#: A trillion rows: more than a DuckDB file holds in practice, and below BIGINT's limit.
MAX_ROWS = 10**12


def check_jobs(jobs: list[TableJob]) -> None:
    for job in jobs:
        _rows(job)
        _satisfiable(job)
        _where(job)


def _rows(job: TableJob) -> None:
    """The planner's row rule: a fixed count as asked, otherwise its estimate (SCALE × source rows)."""
    rows = job.rows.rows if job.rows.kind == "fixed" else job.rows.estimate
    if rows is not None and rows > MAX_ROWS:
        raise SynthError(f"table {job.target}: ROWS {rows} is more than the {MAX_ROWS:,} rows one GENERATE "
                         "writes (ROWS or SCALE)")


def _satisfiable(job: TableJob) -> None:
    """A numeric column whose CHECKs leave no value would fail every row of every round."""
    bounds = column_bounds(job.table)
    for column in job.table.columns:
        codec = NUMBER_CODECS.get(column.type.kind)
        if codec is None:
            continue
        domain = number_domain(column.type, bounds[column.name])
        low, high = (np.ceil(domain.low), np.floor(domain.high)) if codec.integral else (domain.low, domain.high)
        if low > high or (domain.allowed is not None and not len(domain.allowed)):
            checks = "; ".join(c.sql for c in job.table.checks if column.name.lower() in map(str.lower, c.columns))
            raise SynthError(f"table {job.table.ref}, column {column.name}: its CHECK constraints allow no value "
                             f"({checks or 'its type and bounds'}); no row could be generated")


def _where(job: TableJob) -> None:
    if not job.where:
        return
    try:
        conditions = parse_conditions(job.where)
    except RecursionError:
        raise SynthError("WHERE is nested too deeply; write it as an AND of column predicates") from None
    known = {c.name.lower(): c.name for c in job.table.columns}
    for condition in conditions.values():
        if condition.column.lower() not in known:
            raise SynthError(f"WHERE names column {condition.column!r}, not a column of {job.table.ref}; "
                             f"its columns: {', '.join(known.values())}")
