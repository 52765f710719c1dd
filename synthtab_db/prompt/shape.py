"""Values that look like what a column's name and comment say it holds.

Schema-only generation already satisfies types, CHECKs, enums and keys; this
replaces the values of free columns (no key, no CHECK, not an enum) whose name or
comment matches a rule: emails, person names, phones, cities, prices, quantities,
ages, dates in recent years, status words, descriptions.  Each rule is one entry
of RULES.  ``shape_columns`` is the boundary the column profile (``profile_from_schema``)
can later take over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.planner.schema import Column, Kind, Table

FIRST = ["Ada", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam",
         "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wei", "Yara", "Zoe"]
LAST = ["Smith", "Garcia", "Müller", "Rossi", "Kowalski", "Nguyen", "Okafor", "Silva", "Tanaka", "Dubois",
        "Jensen", "Novak", "Haddad", "Cohen", "Ivanova", "Murphy", "Schmidt", "Santos", "Kim", "Patel"]
CITIES = ["Lisbon", "Berlin", "Toronto", "Osaka", "Lagos", "Lima", "Oslo", "Austin", "Lyon", "Pune", "Perth"]
COUNTRIES = ["Portugal", "Germany", "Canada", "Japan", "Nigeria", "Peru", "Norway", "United States", "France"]
WORDS = ["classic", "blue", "compact", "deluxe", "green", "light", "modern", "premium", "rapid", "smart",
         "solid", "urban", "vintage", "wireless", "organic", "bright"]
NOUNS = ["lamp", "chair", "kettle", "backpack", "notebook", "speaker", "jacket", "mug", "bottle", "desk",
         "keyboard", "camera", "blanket", "watch", "tent"]
STATUSES = ["active", "pending", "completed", "cancelled"]
PERSON_TABLES = re.compile(r"customer|client|user|person|people|employee|staff|student|author|teacher|"
                           r"instructor|member|patient|contact|owner|driver|guest")

Maker = Callable[["Target", np.random.Generator], pa.Array]


@dataclass(frozen=True)
class Target:
    """One column to shape: what it is called and what it holds, and how many rows."""

    table: Table
    column: Column
    comment: str
    rows: int

    @property
    def words(self) -> str:
        return f"{self.column.name} {self.comment}".lower()


def _pick(values: list[str], n: int, rng: np.random.Generator) -> np.ndarray:
    return np.array(values, dtype=object)[rng.integers(len(values), size=n)]


def _names(t: Target, rng) -> pa.Array:
    return pa.array([f"{a} {b}" for a, b in zip(_pick(FIRST, t.rows, rng), _pick(LAST, t.rows, rng))])


def _emails(t: Target, rng) -> pa.Array:
    first, last = _pick(FIRST, t.rows, rng), _pick(LAST, t.rows, rng)
    return pa.array([f"{a}.{b}{i + 1}@example.com".lower() for i, (a, b) in enumerate(zip(first, last))])


def _phones(t: Target, rng) -> pa.Array:
    return pa.array([f"+1-555-{a:03d}-{b:04d}" for a, b in zip(rng.integers(100, 1000, t.rows),
                                                              rng.integers(0, 10000, t.rows))])


def _product_names(t: Target, rng) -> pa.Array:
    return pa.array([f"{a} {b}".capitalize() for a, b in zip(_pick(WORDS, t.rows, rng), _pick(NOUNS, t.rows, rng))])


def _sentences(t: Target, rng) -> pa.Array:
    return pa.array([f"{a.capitalize()} {b} {c}." for a, b, c in zip(_pick(WORDS, t.rows, rng),
                     _pick(WORDS, t.rows, rng), _pick(NOUNS, t.rows, rng))])


def _statuses(t: Target, rng) -> pa.Array:
    """Words listed in the comment (``one of: a, b, c``) when there are some."""
    listed = re.findall(r"'([^']+)'", t.comment) or re.findall(r"\b[a-z_]{3,}\b", t.comment.split(":", 1)[-1]) \
        if ":" in t.comment or "'" in t.comment else []
    return pa.array(_pick(listed or STATUSES, t.rows, rng))


def _money(t: Target, rng) -> pa.Array:
    return pa.array(np.round(rng.lognormal(3.5, 0.9, t.rows), 2))


def _between(low: int, high: int) -> Maker:
    return lambda t, rng: pa.array(rng.integers(low, high + 1, t.rows).astype(np.float64))


def _days(first: str, last: str) -> Maker:
    start = np.datetime64(first, "D")
    span = int((np.datetime64(last, "D") - start) / np.timedelta64(1, "D"))
    return lambda t, rng: pa.array(start + rng.integers(0, span + 1, t.rows).astype("timedelta64[D]"))


STRING, NUMBER, DATES = {Kind.STRING}, {Kind.INTEGER, Kind.FLOAT, Kind.DECIMAL}, {Kind.DATE, Kind.TIMESTAMP}

#: (pattern on "name comment", kinds it applies to, maker); the first match wins.
RULES: list[tuple[re.Pattern, set[Kind], Maker]] = [
    (re.compile(r"e_?mail"), STRING, _emails),
    (re.compile(r"phone|mobile|tel\b"), STRING, _phones),
    (re.compile(r"first_?name|given"), STRING, lambda t, rng: pa.array(_pick(FIRST, t.rows, rng))),
    (re.compile(r"last_?name|surname|family"), STRING, lambda t, rng: pa.array(_pick(LAST, t.rows, rng))),
    (re.compile(r"city|town"), STRING, lambda t, rng: pa.array(_pick(CITIES, t.rows, rng))),
    (re.compile(r"country"), STRING, lambda t, rng: pa.array(_pick(COUNTRIES, t.rows, rng))),
    (re.compile(r"status|state\b|stage"), STRING, _statuses),
    (re.compile(r"descr|note|summary|remark"), STRING, _sentences),
    (re.compile(r"birth|dob"), DATES, _days("1950-01-01", "2005-12-31")),
    (re.compile(r"date|_at\b|_on\b|time|day"), DATES, _days("2021-01-01", "2025-12-31")),
    (re.compile(r"price|amount|total|cost|salary|balance|fee|revenue|budget"), NUMBER, _money),
    (re.compile(r"quantity|qty|units"), NUMBER, _between(1, 10)),
    (re.compile(r"\bage\b"), NUMBER, _between(18, 85)),
    (re.compile(r"rating|stars|score"), NUMBER, _between(1, 5)),
    (re.compile(r"name|title|label"), STRING, lambda t, rng: _person_or_thing(t)(t, rng)),
]
NAME_RULE = RULES[-1][2]


def _person_or_thing(target: Target) -> Maker:
    """``name`` in a table of people is a person's name, elsewhere a thing's."""
    return _names if PERSON_TABLES.search(target.table.name.lower()) else _product_names


def maker_for(target: Target) -> Maker | None:
    for pattern, kinds, maker in RULES:
        if target.column.type.kind in kinds and pattern.search(target.words):
            return _person_or_thing(target) if maker is NAME_RULE else maker
    return None


def free_columns(table: Table) -> set[str]:
    """Columns no constraint watches: not in a key or FK, not named by a CHECK, not an enum."""
    bound = {c.lower() for key in table.keys for c in key.columns}
    bound |= {c.lower() for fk in table.foreign_keys for c in fk.columns}
    for check in table.checks:
        bound |= {c.lower() for c in check.columns} or {c.name.lower() for c in table.columns
                                                        if re.search(rf"\b{re.escape(c.name)}\b", check.sql, re.I)}
    return {c.name.lower() for c in table.columns if c.name.lower() not in bound and c.type.kind is not Kind.ENUM}


def shape_columns(table: Table, data: pa.Table, comments: dict[str, str], rng: np.random.Generator) -> pa.Table:
    """``data`` with its free, recognisable columns replaced; NULLs stay where they were."""
    free = free_columns(table) | _unique_emails(table)
    for column in table.columns:
        if column.name.lower() not in free:
            continue
        target = Target(table, column, comments.get(column.name.lower(), ""), data.num_rows)
        maker = maker_for(target)
        if maker is not None:
            data = _replace(data, column.name, maker(target, rng))
    return _emails_from_names(table, data, free, comments)


def _emails_from_names(table: Table, data: pa.Table, free: set[str], comments: dict[str, str]) -> pa.Table:
    """An email column next to a person-name column spells that row's name (ada.smith3@example.com)."""
    kinds = {}
    for column in table.columns:
        if column.name.lower() in free:
            target = Target(table, column, comments.get(column.name.lower(), ""), data.num_rows)
            kinds[maker_for(target)] = column.name
    if _emails not in kinds or _names not in kinds:
        return data
    names = data.column(kinds[_names]).to_pylist()
    emails = [f"{'.'.join((n or 'user').lower().split())}{i + 1}@example.com" for i, n in enumerate(names)]
    return _replace(data, kinds[_emails], pa.array(emails))


def _unique_emails(table: Table) -> set[str]:
    """A UNIQUE email is still shaped: every generated address carries its row number."""
    single = {key.columns[0].lower() for key in table.unique if len(key.columns) == 1}
    return {c for c in single if "mail" in c}


def _replace(data: pa.Table, name: str, values: pa.Array) -> pa.Table:
    index = data.schema.get_field_index(name)
    old = data.column(index)
    cast = pc.cast(values, old.type, safe=False)
    kept = pc.if_else(pc.is_null(old), pa.nulls(len(old), old.type), cast)
    return data.set_column(index, data.schema.field(index), kept)
