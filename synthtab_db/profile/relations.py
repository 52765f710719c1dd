"""Rules between columns found by SQL: derived columns (an expression of others: date
parts of a timestamp, a prefix of a code, a sum) and functional dependencies (B is a
function of A).  A rule counts when it holds in at least ``HOLDS`` of the rows."""

from __future__ import annotations

import duckdb

from synthtab_db.duck import first_row
from synthtab_db.planner.schema import Column, Kind, Table
from synthtab_db.profile.model import ColumnProfile, Dependency, Derived
from synthtab_db.profile.source import aggregates, quote

HOLDS = 0.999
#: a determinant must repeat: at most this share of distinct values (else an id "determines" everything)
DETERMINANT_DISTINCT_SHARE = 0.2
MAX_FD_COLUMNS = 20
MAX_SUM_COLUMNS = 10

TIME_KINDS = (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ)
NUMBER_KINDS = (Kind.INTEGER, Kind.FLOAT, Kind.DECIMAL)
EXACT_KINDS = (Kind.INTEGER, Kind.DECIMAL)
FD_KINDS = (Kind.STRING, Kind.ENUM, Kind.INTEGER, Kind.BOOLEAN, Kind.DATE)
DATE_PARTS = ("year", "quarter", "month", "day", "hour", "dayofweek")


def _part_candidates(time: Column, target: Column) -> list[str]:
    if target.type.kind in NUMBER_KINDS:
        return [f"CAST({part}({quote(time.name)}) AS BIGINT)" for part in DATE_PARTS]
    if target.type.kind is Kind.DATE and time.type.kind is not Kind.DATE:
        return [f"CAST({quote(time.name)} AS DATE)"]
    return []


def _candidates(table: Table, free: list[Column]) -> list[Derived]:
    """Every expression a column might equal, cheapest kinds first."""
    out = []
    for target in free:
        for time in (c for c in free if c.type.kind in TIME_KINDS and c is not target):
            out += [Derived(column=target.name, sql=s, sources=(time.name,)) for s in _part_candidates(time, target)]
        for code in (c for c in free if c.type.kind is Kind.STRING and c is not target):
            if target.type.kind is Kind.STRING:
                out += [Derived(column=target.name, sql=f"left({quote(code.name)}, {k})", sources=(code.name,))
                        for k in (1, 2, 3)]
    exact = [c for c in free if c.type.kind in EXACT_KINDS][:MAX_SUM_COLUMNS]
    for target in exact:
        others = [c for c in exact if c is not target]
        out += [Derived(column=target.name, sql=f"{quote(a.name)} + {quote(b.name)}", sources=(a.name, b.name))
                for i, a in enumerate(others) for b in others[i + 1:]]
    return out


def find_derived(con: duckdb.DuckDBPyConnection, table: Table, source: str,
                 profiles: tuple[ColumnProfile, ...]) -> tuple[Derived, ...]:
    free = [c for c, p in zip(table.columns, profiles) if p.meaning == "value"]
    candidates = _candidates(table, free)
    if not candidates:
        return ()
    exprs = {f"c{i}": f"avg(CASE WHEN {quote(d.column)} IS NOT DISTINCT FROM ({d.sql}) THEN 1.0 ELSE 0.0 END)"
             for i, d in enumerate(candidates)}
    exprs.update({f"n{i}": f"count(DISTINCT {quote(c.name)})" for i, c in enumerate(free)})
    found = aggregates(con, source, exprs)
    varied = {c.name for i, c in enumerate(free) if (found[f"n{i}"] or 0) >= 2}
    holding = [d for i, d in enumerate(candidates) if (found[f"c{i}"] or 0) >= HOLDS and d.column in varied]
    return _consistent(holding)


def _consistent(holding: list[Derived]) -> tuple[Derived, ...]:
    """One expression per column; a derived column is never the source of another."""
    chosen: list[Derived] = []
    for d in holding:
        targets = {c.column for c in chosen}
        sources = {s for c in chosen for s in c.sources}
        if d.column in targets or d.column in sources or targets.intersection(d.sources):
            continue
        chosen.append(d)
    return tuple(chosen)


def find_dependencies(con: duckdb.DuckDBPyConnection, table: Table, source: str, profiles: tuple[ColumnProfile, ...],
                      derived: tuple[Derived, ...]) -> tuple[Dependency, ...]:
    """B depends on A when the most common B per A covers HOLDS of the rows; each column
    is either modelled or follows one modelled determinant (most distinct values first)."""
    skip = {d.column for d in derived}
    pool = [c for c, p in zip(table.columns, profiles)
            if p.meaning == "value" and c.type.kind in FD_KINDS and c.name not in skip][:MAX_FD_COLUMNS]
    rows = int(first_row(con, f"SELECT count(*) FROM {source}")[0])
    counts = aggregates(con, source, {c.name: f"count(DISTINCT {quote(c.name)})" for c in pool})
    pool = sorted((c for c in pool if counts[c.name] >= 2), key=lambda c: -counts[c.name])
    modelled: list[Column] = []
    found = []
    for b in pool:
        a = next((a for a in modelled if counts[a.name] <= DETERMINANT_DISTINCT_SHARE * rows
                  and _holds(con, source, a.name, b.name, rows)), None)
        if a is None:
            modelled.append(b)
        else:
            found.append(Dependency(column=b.name, determinant=a.name))
    return tuple(found)


def _holds(con, source: str, a: str, b: str, rows: int) -> bool:
    sql = (f"SELECT sum(m) FROM (SELECT max(n) AS m FROM (SELECT {quote(a)} AS a, {quote(b)} AS b, count(*) AS n "
           f"FROM {source} GROUP BY ALL) GROUP BY a)")
    return (first_row(con, sql)[0] or 0) >= HOLDS * rows
