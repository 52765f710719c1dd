"""Column kinds <-> Arrow types and <-> plain numbers.

Dates, times and timestamps are generated as numbers (days, microseconds), so
one quantile transform serves every ordered kind; a codec is the small table of
conversions each kind needs.  ``arrow_type`` is the one place that says which
Arrow type a reversed column has.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from synthtab_db.planner.schema import ColumnType, Kind
from synthtab_db.transforms.bounds import Bounds

_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)

_ARROW: dict[Kind, pa.DataType] = {
    Kind.INTEGER: pa.int64(),
    Kind.FLOAT: pa.float64(),
    Kind.DECIMAL: pa.float64(),
    Kind.BOOLEAN: pa.bool_(),
    Kind.STRING: pa.string(),
    Kind.ENUM: pa.string(),
    Kind.UUID: pa.string(),
    Kind.JSON: pa.string(),
    Kind.BLOB: pa.binary(),
    Kind.DATE: pa.date32(),
    Kind.TIME: pa.time64("us"),
    Kind.TIMESTAMP: pa.timestamp("us"),
    Kind.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    Kind.INTERVAL: pa.month_day_nano_interval(),
}


def arrow_type(column_type: ColumnType) -> pa.DataType:
    """The Arrow type a reversed (generated) column of this type has."""
    if column_type.kind is Kind.LIST:
        element = column_type.element or ColumnType(kind=Kind.STRING, sql="VARCHAR")
        return pa.list_(arrow_type(element))
    return _ARROW[column_type.kind]


@dataclass(frozen=True)
class NumberCodec:
    """How one ordered kind becomes float64 numbers and comes back."""

    storage: pa.DataType  # the Arrow type whose integer storage is the number
    parse: Callable[[Any], float]  # a CHECK literal -> number
    integral: bool = True

    def to_numbers(self, values: pa.Array) -> np.ndarray:
        if pa.types.is_floating(self.storage):
            return values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        as_int = values.cast(self.storage).cast(_int_storage(self.storage))
        return as_int.to_numpy(zero_copy_only=False).astype(np.float64)

    def from_numbers(self, numbers: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
        """Arrow values of the output type; ``mask`` marks NULLs."""
        if not self.integral:
            return pa.array(numbers, type=pa.float64(), mask=mask)
        ints = pa.array(numbers.astype(np.int64), type=pa.int64(), mask=mask)
        return ints if self.storage == pa.int64() else ints.cast(_int_storage(self.storage)).cast(self.storage)


def _int_storage(storage: pa.DataType) -> pa.DataType:
    return pa.int32() if storage == pa.date32() else pa.int64()


def _parse_date(value: Any) -> float:
    return float(np.datetime64(str(value), "D").astype(np.int64))


def _parse_time(value: Any) -> float:
    t = dt.time.fromisoformat(str(value))
    return float(((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond)


def _parse_timestamp(value: Any) -> float:
    return float(np.datetime64(str(value).replace(" ", "T"), "us").astype(np.int64))


def _parse_timestamptz(value: Any) -> float:
    stamp = dt.datetime.fromisoformat(str(value))
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=_UTC)
    return float((stamp - _EPOCH) // dt.timedelta(microseconds=1))


NUMBER_CODECS: dict[Kind, NumberCodec] = {
    Kind.INTEGER: NumberCodec(pa.int64(), float),
    Kind.FLOAT: NumberCodec(pa.float64(), float, integral=False),
    Kind.DECIMAL: NumberCodec(pa.float64(), float, integral=False),
    Kind.DATE: NumberCodec(pa.date32(), _parse_date),
    Kind.TIME: NumberCodec(pa.time64("us"), _parse_time),
    Kind.TIMESTAMP: NumberCodec(pa.timestamp("us"), _parse_timestamp),
    Kind.TIMESTAMPTZ: NumberCodec(pa.timestamp("us", tz="UTC"), _parse_timestamptz),
}


def type_limits(column_type: ColumnType) -> tuple[float, float]:
    """The range the declared type itself allows (integer width, decimal precision)."""
    limit = _TYPE_LIMITS.get(column_type.kind)
    return limit(column_type) if limit else (-np.inf, np.inf)


def _integer_limits(column_type: ColumnType) -> tuple[float, float]:
    bits = min(column_type.bits or 64, 64)
    if column_type.sql.strip().upper().startswith("U"):
        return 0.0, float(min(2**bits - 1, 2**63 - 1))
    return float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)


def _decimal_limits(column_type: ColumnType) -> tuple[float, float]:
    precision, scale = column_type.precision or 18, column_type.scale or 0
    top = 10.0 ** (precision - scale) - 10.0 ** (-scale)
    return -top, top


_TYPE_LIMITS: dict[Kind, Callable[[ColumnType], tuple[float, float]]] = {
    Kind.INTEGER: _integer_limits,
    Kind.DECIMAL: _decimal_limits,
    Kind.TIME: lambda _: (0.0, 86_400_000_000.0 - 1),
}


@dataclass(frozen=True)
class NumberDomain:
    """The values an ordered column may take, in its number space."""

    low: float
    high: float
    allowed: np.ndarray | None = None  # sorted, from IN (...) / = literal

    def clip(self, numbers: np.ndarray) -> np.ndarray:
        """Into [low, high], then onto the nearest allowed value if there is a set."""
        numbers = np.clip(numbers, self.low, self.high)
        return numbers if self.allowed is None else snap(numbers, self.allowed)


def number_domain(column_type: ColumnType, bounds: Bounds) -> NumberDomain:
    """Type limits and CHECK bounds together; strict bounds step one unit inside."""
    codec = NUMBER_CODECS[column_type.kind]
    low, high = type_limits(column_type)
    unit = _unit(column_type)
    if _parses(codec, bounds.low):
        low = max(low, _inside(codec.parse(bounds.low), bounds.low_strict, unit, +1))
    if _parses(codec, bounds.high):
        high = min(high, _inside(codec.parse(bounds.high), bounds.high_strict, unit, -1))
    allowed = _allowed(codec, bounds.values, low, high)
    return NumberDomain(low, high, allowed)


def _parses(codec: NumberCodec, literal: Any) -> bool:
    """Whether a CHECK literal means something in this kind (else the SQL check alone applies)."""
    if literal is None:
        return False
    try:
        codec.parse(literal)
    except (TypeError, ValueError):
        return False
    return True


def _unit(column_type: ColumnType) -> float:
    """The smallest step between two values: 1 for integral kinds, 10^-scale for decimals."""
    if column_type.kind is Kind.DECIMAL:
        return 10.0 ** -(column_type.scale or 0)
    return 1.0 if NUMBER_CODECS[column_type.kind].integral else 0.0


def _inside(value: float, strict: bool, unit: float, direction: int) -> float:
    if not strict:
        return value
    return value + direction * unit if unit else float(np.nextafter(value, direction * np.inf))


def _allowed(codec: NumberCodec, values: tuple | None, low: float, high: float) -> np.ndarray | None:
    if not values or not all(_parses(codec, v) for v in values):
        return None
    numbers = np.unique(np.array([codec.parse(v) for v in values], dtype=np.float64))
    inside = numbers[(numbers >= low) & (numbers <= high)]
    return inside if inside.size else numbers


def snap(numbers: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Each number onto its nearest allowed value (``allowed`` sorted, not empty)."""
    if allowed.size == 1:
        return np.full_like(numbers, allowed[0])
    right = np.clip(np.searchsorted(allowed, numbers), 1, allowed.size - 1)
    left = right - 1
    nearer_left = np.abs(numbers - allowed[left]) <= np.abs(allowed[right] - numbers)
    return np.where(nearer_left, allowed[left], allowed[right])
