"""Which columns the model learns, which come from key generators, which from parents.

A key (PRIMARY KEY or UNIQUE) is made unique by construction when one of its own
(non-FK) columns can be drawn by a key generator: integers, UUIDs and strings.
Keys made only of FK columns are kept by drawing parents without replacement;
anything else is left to the model and the SQL checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthtab_db.planner.schema import ForeignKey, Kind, Table

KEYABLE = (Kind.INTEGER, Kind.UUID, Kind.STRING)


@dataclass(frozen=True)
class ColumnRoles:
    keys: tuple[str, ...]
    foreign: tuple[str, ...]
    model: tuple[str, ...]


def fk_columns(table: Table) -> set[str]:
    return {c for fk in table.foreign_keys for c in fk.columns}


def key_generated_columns(table: Table) -> tuple[str, ...]:
    foreign = fk_columns(table)
    chosen: list[str] = []
    for key in table.keys:
        own = [table.column(c) for c in key.columns if c not in foreign]
        if any(c.name in chosen for c in own):
            continue
        for kind in KEYABLE:
            pick = next((c for c in own if c.type.kind == kind), None)
            if pick is not None:
                chosen.append(pick.name)
                break
    return tuple(chosen)


def column_roles(table: Table) -> ColumnRoles:
    keys = key_generated_columns(table)
    foreign = fk_columns(table)
    model = tuple(c.name for c in table.columns if c.name not in keys and c.name not in foreign)
    return ColumnRoles(keys=keys, foreign=tuple(c.name for c in table.columns if c.name in foreign), model=model)


def fk_key_mode(table: Table, fk: ForeignKey, main: ForeignKey | None) -> str:
    """'distinct' (the FK alone is a key), 'per_parent' (a key with the main FK), or 'free'."""
    fk_cols = set(fk.columns)
    main_cols = set(main.columns) if main is not None and main.columns != fk.columns else set()
    for key in table.keys:
        cols = set(key.columns)
        if cols == fk_cols:
            return "distinct"
        if main_cols and cols == fk_cols | main_cols:
            return "per_parent"
    return "free"
