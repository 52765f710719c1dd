"""DESCRIBE SYNTHETIC: a table's profile (or a stored synthesizer's) as rows, one per column."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from synthtab_db import catalog, store
from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Table, TableRef
from synthtab_db.profile import TableProfile, apply_overrides, profile_from_data
from synthtab_db.profile.model import RARE_BELOW


def describe_table(con: duckdb.DuckDBPyConnection, ref: TableRef, overrides: dict | None) -> pa.Table:
    table = _table(con, ref)
    profile = apply_overrides(profile_from_data(con, table, table.ref), table, overrides)
    return profile_rows(table, profile, {})


def describe_synthesizer(con: duckdb.DuckDBPyConnection, name: str) -> pa.Table:
    """What a stored synthesizer keeps: its profile and the orderings it rebuilds."""
    state = json.loads(store.load_state(con, name))
    table = Table.model_validate(state["table"])
    rules = state.get("rules")
    if not rules:
        return profile_rows(table, TableProfile(table=table.name), {})
    rebuilt = {g["column"]: _gap_text(g) for g in rules["gaps"]}
    return profile_rows(table, TableProfile.model_validate(rules["profile"]), rebuilt)


def profile_rows(table: Table, profile: TableProfile, rebuilt: dict[str, str]) -> pa.Table:
    rules = _rules(profile, rebuilt)
    columns = [profile.column(c.name) for c in table.columns]
    return pa.table({
        "column": [c.name for c in table.columns],
        "type": [c.type.sql for c in table.columns],
        "meaning": [c.meaning for c in columns],
        "grain": [c.grain for c in columns],
        "decimals": pa.array([c.precision for c in columns], pa.int64()),
        "personal": [c.personal for c in columns],
        "never_copied": [f"values in fewer than {RARE_BELOW} rows" if c.personal else None for c in columns],
        "found_by": [c.found_by for c in columns],
        "rules": ["; ".join(rules.get(c.name, [])) or None for c in table.columns],
    })


def _rules(profile: TableProfile, rebuilt: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for d in profile.derived:
        out.setdefault(d.column, []).append(f"derived: = {d.sql}")
    for d in profile.dependencies:
        out.setdefault(d.column, []).append(f"function of {d.determinant}")
    for rule in profile.inequalities:
        text = f"{' + '.join(rule.low)} {'<' if rule.strict else '<='} {' + '.join(rule.high)}"
        for c in set(rule.low + rule.high):
            out.setdefault(c, []).append(f"ordered: {text}")
    for c, text in rebuilt.items():
        out.setdefault(c, []).append(text)
    return out


def _gap_text(gap: dict) -> str:
    sign = "+" if gap["sign"] > 0 else "-"
    return f"rebuilt: {' + '.join(gap['parents'])} {sign} a learned gap >= {1 if gap['strict'] else 0}"


def _table(con: duckdb.DuckDBPyConnection, ref: TableRef) -> Table:
    schema = catalog.read_schema(con)
    try:
        return schema.table(ref)
    except KeyError:
        known = ", ".join(str(t.ref) for t in schema.tables) or "(none)"
        raise SynthError(f"DESCRIBE SYNTHETIC: unknown table {ref}; tables: {known}") from None
