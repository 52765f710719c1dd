"""The profile and rules of one source table, as learning needs them: which columns
become keys (identifiers found in the data), which the model learns, and the rules."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from synthtab_db.keys.base import KeyGenerator
from synthtab_db.keys.meaning import MeaningKeys
from synthtab_db.planner.schema import Kind, Table, TableRef
from synthtab_db.profile import TableProfile, apply_overrides, profile_from_data
from synthtab_db.profile.model import ColumnProfile
from synthtab_db.rules.table import TableRules

#: meanings whose keys are made by MeaningKeys (a code found in the data keeps the source's format keys)
MEANING_KEYS = ("email", "url", "phone", "name")
KEYABLE = (Kind.INTEGER, Kind.STRING, Kind.UUID)


@dataclass(frozen=True)
class Learnt:
    rules: TableRules
    identifiers: tuple[str, ...]  # undeclared row ids: made by key generators, never modelled
    model_columns: tuple[str, ...]


def learn_rules(con: duckdb.DuckDBPyConnection, table: Table, source: TableRef, data: pa.Table,
                free: tuple[str, ...], overrides: dict[str, str] | None) -> Learnt:
    profile = apply_overrides(profile_from_data(con, table, source), table, overrides)
    identifiers = tuple(c.name for c in profile.columns if c.meaning == "identifier" and c.name in free
                        and table.column(c.name).type.kind in KEYABLE)
    rest = tuple(c for c in free if c not in identifiers)
    rules = TableRules.learn(profile, table, data, rest)
    return Learnt(rules, identifiers, rules.model_columns(rest))


def meaning_key_generator(profile: TableProfile | None, table: Table, column: str) -> KeyGenerator | None:
    """A key generator by meaning for a key column the profile names (else None: by format)."""
    found: ColumnProfile | None = profile.column(column) if profile else None
    if found is None or table.column(column).type.kind is not Kind.STRING:
        return None
    if found.meaning in MEANING_KEYS or (found.by_shape and found.found_by != "data"):
        hints = {"domains": list(found.domains), "shapes": list(found.shapes), "words": 2}
        return MeaningKeys(found.meaning, hints).fit(pa.array([], pa.string()), table.column(column))
    return None
