"""Generated values put back on the source's grid: timestamps on their grain (in
their own time zone), floats to the source's decimal places."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from synthtab_db.profile.model import ColumnProfile


def on_grain(values: pa.Array, grain: str) -> pa.Array:
    if pa.types.is_date(values.type) and grain in ("day", "hour", "minute", "second"):
        return values
    return pc.round_temporal(values, unit=grain)


def to_precision(values: pa.Array, places: int) -> pa.Array:
    if not pa.types.is_floating(values.type):
        return values
    return pc.round(values, ndigits=places)


def round_column(values: pa.Array, profile: ColumnProfile) -> pa.Array:
    if profile.grain and (pa.types.is_timestamp(values.type) or pa.types.is_date(values.type)):
        values = on_grain(values, profile.grain)
    if profile.precision is not None:
        values = to_precision(values, profile.precision)
    return values


