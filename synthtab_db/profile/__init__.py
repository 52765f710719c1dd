"""Column meaning and rules between columns, found from the database itself.

``profile_from_data(con, table, ref)``: SQL aggregates over the source (a
repeatable sample of a big one).  ``profile_from_schema(table)``: names, types and
CHECKs alone, for a table with no rows.  Both give a ``TableProfile``.
"""

from __future__ import annotations

import duckdb

from synthtab_db.planner.schema import Table, TableRef
from synthtab_db.profile.columns import column_profiles
from synthtab_db.profile.inequalities import table_inequalities
from synthtab_db.profile.model import (
    MEANINGS,
    RARE_BELOW,
    ColumnProfile,
    Dependency,
    Derived,
    Inequality,
    TableProfile,
)
from synthtab_db.profile.names import profile_from_names
from synthtab_db.profile.overrides import apply_overrides
from synthtab_db.profile.relations import find_dependencies, find_derived
from synthtab_db.profile.source import profiled_rows


def profile_from_schema(table: Table) -> TableProfile:
    return TableProfile(table=table.name, columns=profile_from_names(table), inequalities=table_inequalities(table))


def profile_from_data(con: duckdb.DuckDBPyConnection, table: Table, ref: TableRef) -> TableProfile:
    """The profile of ``ref``'s rows; the schema's guesses when it has none."""
    with profiled_rows(con, ref) as (source, rows):
        if rows == 0:
            return profile_from_schema(table)
        columns = column_profiles(con, table, source, rows)
        derived = find_derived(con, table, source, columns)
        return TableProfile(
            table=table.name, rows=rows, columns=columns, derived=derived,
            dependencies=find_dependencies(con, table, source, columns, derived),
            inequalities=table_inequalities(table),
        )


__all__ = [
    "MEANINGS", "RARE_BELOW", "ColumnProfile", "Dependency", "Derived", "Inequality", "TableProfile",
    "apply_overrides", "profile_from_data", "profile_from_schema",
]
