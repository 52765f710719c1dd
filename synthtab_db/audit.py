"""An audit of a generated schema that shares no code with the check compiler.

It reads constraints back from DuckDB's catalog and counts violations with
plain GROUP BY / LEFT JOIN queries, so a bug in the staged checks cannot hide
itself here.
"""

from __future__ import annotations

import duckdb

from synthtab_db import catalog
from synthtab_db.duck import first_row
from synthtab_db.planner.schema import Table
from synthtab_db.sqlbuild import quote


def _in(schema: str, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}"


def _violations(table: Table, schema: str) -> dict[str, str]:
    """constraint label -> query counting the rows of ``schema``.<table> that break it."""
    t = _in(schema, table.name)
    queries = {}
    for column in table.columns:
        if not column.nullable:
            queries[f"NOT NULL {column.name}"] = f"SELECT count(*) FROM {t} WHERE {quote(column.name)} IS NULL"
    for key in table.keys:
        cols = ", ".join(quote(c) for c in key.columns)
        present = " AND ".join(f"{quote(c)} IS NOT NULL" for c in key.columns)
        queries[f"KEY ({', '.join(key.columns)})"] = (
            f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {t} WHERE {present} GROUP BY {cols} HAVING count(*) > 1)"
        )
    for check in table.checks:
        queries[f"CHECK {check.sql}"] = f"SELECT count(*) FROM {t} WHERE NOT ({check.sql})"
    for fk in table.foreign_keys:
        parent = _in(schema, fk.ref_table.name)
        on = " AND ".join(f"c.{quote(a)} = p.{quote(b)}" for a, b in zip(fk.columns, fk.ref_columns))
        present = " AND ".join(f"c.{quote(a)} IS NOT NULL" for a in fk.columns)
        queries[f"FK ({', '.join(fk.columns)}) -> {fk.ref_table.name}"] = (
            f"SELECT count(*) FROM {t} c LEFT JOIN {parent} p ON {on} WHERE {present} AND p.{quote(fk.ref_columns[0])} IS NULL"
        )
    return queries


def audit_schema(con: duckdb.DuckDBPyConnection, schema: str, constraints_from: str | None = None) -> dict[str, int]:
    """Violations per 'table: constraint' in ``schema`` (all zero = clean).

    Constraints are read from ``constraints_from`` (the source schema) when given,
    so a constraint the target failed to declare is still audited.
    """
    found = {}
    present = {t.name.lower() for t in catalog.read_schema(con, schema=schema).tables}
    for table in catalog.read_schema(con, schema=constraints_from or schema).tables:
        if table.name.lower() not in present:
            continue
        for label, query in _violations(table, schema).items():
            found[f"{table.name}: {label}"] = int(first_row(con, query)[0])
    return found
