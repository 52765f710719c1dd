"""Which key generator fits a key column: the first candidate for its kind that accepts the data."""

from __future__ import annotations

import math

import pyarrow as pa

from synthtab_db.keys.base import KeyGenerator
from synthtab_db.keys.formatted import FormattedKeys
from synthtab_db.keys.schema import LabelKeys, SchemaKeys
from synthtab_db.keys.sequence import SequenceKeys
from synthtab_db.keys.shape import ShapeKeys
from synthtab_db.keys.uuid import UuidKeys
from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms.base import as_array
from synthtab_db.transforms.bounds import Bounds
from synthtab_db.transforms.codecs import NUMBER_CODECS

# Most specific format first: a UUID-looking string stays a UUID, 'C0001' stays formatted.
_CANDIDATES: dict[Kind, tuple[type[KeyGenerator], ...]] = {
    **{kind: (SequenceKeys,) for kind in NUMBER_CODECS},
    Kind.STRING: (UuidKeys, FormattedKeys, ShapeKeys),
    Kind.JSON: (FormattedKeys, ShapeKeys),
    Kind.UUID: (UuidKeys,),
    Kind.ENUM: (LabelKeys,),
    Kind.BOOLEAN: (LabelKeys,),
}


def choose_key_generator(values: pa.Array | pa.ChunkedArray, column: Column) -> KeyGenerator:
    """A fitted generator for a PRIMARY KEY / UNIQUE column; ``schema`` when there are no rows."""
    present = as_array(values).drop_null()
    if len(present):
        for candidate in _CANDIDATES.get(column.type.kind, ()):
            if candidate.accepts(present, column):
                return candidate().fit(present, column)
    return SchemaKeys().fit(present, column)


def schema_key_generator(column: Column, bounds: Bounds | None = None) -> KeyGenerator:
    """A generator from the declared type alone, for DP runs: the source's key format (a
    prefix, a width, a smallest id) is left unread, so no key can reveal a row.  Integers
    count from 1 (or from a CHECK's lower bound above it), strings are '1', '2', ...,
    UUIDs random, ENUM/BOOLEAN keys use their labels."""
    low = None if bounds is None or column.type.kind is not Kind.INTEGER else bounds.low
    if isinstance(low, (int, float)) and math.isfinite(low):
        start = math.floor(low) + 1 if bounds.low_strict or low != math.floor(low) else int(low)
        if start > 1:
            return SequenceKeys(start=start).fit(pa.array([], pa.int64()), column)
    return SchemaKeys().fit(pa.array([], pa.null()), column)
