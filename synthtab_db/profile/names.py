"""A column's meaning from its name, type and key constraints alone (no rows to read).

Used for schema-only generation (an empty table, or a later natural-language front
door that has only names and comments) and to confirm that a capitalised column
holds people's names.  Word lists, not if-chains: one entry per meaning.
"""

from __future__ import annotations

import re

from synthtab_db.planner.schema import Column, Kind, Table
from synthtab_db.profile.model import ColumnProfile

#: meaning -> words that name it in a column name (matched as whole words of snake/camel case)
NAME_WORDS: dict[str, tuple[str, ...]] = {
    "email": ("email", "mail", "e_mail"),
    "phone": ("phone", "telephone", "tel", "mobile", "fax", "cell"),
    "url": ("url", "website", "homepage", "link", "uri"),
    "name": ("name", "firstname", "lastname", "surname", "fullname", "forename", "given", "family"),
    "text": ("note", "notes", "comment", "comments", "description", "text", "bio", "remarks", "message", "body"),
    "code": ("zip", "zipcode", "postal", "postcode", "iban", "sku"),
}
#: words that make a "name" column not a person's (product_name, company_name, ...)
NOT_PERSONAL = ("product", "company", "file", "table", "column", "category", "city", "country", "street",
                "brand", "store", "shop", "film", "track", "album", "genre", "playlist", "artist", "title",
                "user", "host", "domain", "type", "ship", "region", "territory", "state", "station", "media")

STRING_KINDS = (Kind.STRING, Kind.JSON)
#: shapes for schema-only codes, by the word that named them
CODE_SHAPES = {"zip": ("99999",), "zipcode": ("99999",), "postal": ("99999",), "postcode": ("99999",),
               "iban": ("AA99AAAA99999999999999",), "sku": ("AAA-99999",)}
PHONE_SHAPES = ("+1 999-999-9999",)


def words(name: str) -> list[str]:
    """'customerEmail' / 'customer_email' -> ['customer', 'email']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def meaning_from_name(name: str) -> str | None:
    found = words(name)
    joined = "".join(found)
    for meaning, names in NAME_WORDS.items():
        if any(w in names for w in found) or joined in names:
            if meaning == "name" and any(w in NOT_PERSONAL for w in found):
                return None
            return meaning
    return None


def profile_from_names(table: Table) -> tuple[ColumnProfile, ...]:
    return tuple(_column(table, c) for c in table.columns)


def _column(table: Table, column: Column) -> ColumnProfile:
    meaning = meaning_from_name(column.name) if column.type.kind in STRING_KINDS else None
    if meaning is None:
        return ColumnProfile(name=column.name, found_by="schema")
    return ColumnProfile(name=column.name, meaning=meaning, shapes=_shapes(column.name, meaning), found_by="schema")


def _shapes(name: str, meaning: str) -> tuple[str, ...]:
    if meaning == "phone":
        return PHONE_SHAPES
    return next((CODE_SHAPES[w] for w in words(name) if w in CODE_SHAPES), ("AAA-999",)) if meaning == "code" else ()
