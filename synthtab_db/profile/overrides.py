"""``WITH (columns = {'rownames': 'id', 'note': 'text'})``: the user's word over the profile."""

from __future__ import annotations

from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Kind, Table
from synthtab_db.profile.model import MEANINGS, ColumnProfile, TableProfile
from synthtab_db.profile.names import CODE_SHAPES, PHONE_SHAPES

#: what a user may write -> meaning ('id' is short for identifier)
ALIASES = {"id": "identifier", **{m: m for m in MEANINGS}}
#: meaning -> the column kinds it fits (absent: any kind)
FITS = {
    "identifier": (Kind.INTEGER, Kind.STRING, Kind.UUID),
    **{m: (Kind.STRING,) for m in ("email", "phone", "url", "code", "name", "text")},
}


def apply_overrides(profile: TableProfile, table: Table, columns: dict[str, str] | None) -> TableProfile:
    if not columns:
        return profile
    if not isinstance(columns, dict):
        raise SynthError(f"option columns: expected a map like {{'rownames': 'id'}}, got {columns!r}")
    wanted = {_column_name(table, name): _meaning(table, name, meaning) for name, meaning in columns.items()}
    updated = tuple(_override(c, wanted[c.name]) if c.name in wanted else c for c in profile.columns)
    return profile.with_columns(updated)


def _override(column: ColumnProfile, meaning: str) -> ColumnProfile:
    shapes = column.shapes or (PHONE_SHAPES if meaning == "phone" else next(iter(CODE_SHAPES.values())))
    return column.model_copy(update={"meaning": meaning, "found_by": "override", "shapes": shapes})


def _column_name(table: Table, name: str) -> str:
    try:
        return table.column(name).name
    except KeyError:
        allowed = ", ".join(c.name for c in table.columns)
        raise SynthError(f"option columns: table {table.ref} has no column {name!r} (columns: {allowed})") from None


def _meaning(table: Table, name: str, meaning: str) -> str:
    if str(meaning).lower() not in ALIASES:
        raise SynthError(f"option columns: {name!r} => {meaning!r} is not a column meaning; "
                         f"allowed: {', '.join(sorted(ALIASES))}")
    found = ALIASES[str(meaning).lower()]
    column = table.column(name)
    if column.type.kind not in FITS.get(found, (column.type.kind,)):
        kinds = ", ".join(k.value for k in FITS[found])
        raise SynthError(f"option columns: {name!r} is {column.type.sql}, and {found!r} fits only {kinds} columns")
    return found
