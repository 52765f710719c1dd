"""DuckDB types as PostgreSQL sees them: OID, name, size, and value encodings.

One table maps a DuckDB type (as ``str(DuckDBPyType)`` spells it) to a PgType;
text encoding follows PostgreSQL's output functions closely enough for libpq
clients and for postgres_fdw, which feeds our text back into PostgreSQL's own
input functions. Binary encoders exist for the types psycopg asks for in binary.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import struct
import uuid
from dataclasses import dataclass
from decimal import Decimal, localcontext

import numpy as np

PG_EPOCH = dt.datetime(2000, 1, 1)
PG_EPOCH_DATE = dt.date(2000, 1, 1)
PG_EPOCH_TZ = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class PgType:
    oid: int
    name: str  # as format_type() prints it
    size: int  # typlen: -1 for variable length
    array_oid: int = 0
    modifier: int = -1


def _t(oid, name, size, array_oid=0):
    return PgType(oid, name, size, array_oid)


BOOL = _t(16, "boolean", 1, 1000)
BYTEA = _t(17, "bytea", -1, 1001)
INT8 = _t(20, "bigint", 8, 1016)
INT2 = _t(21, "smallint", 2, 1005)
INT4 = _t(23, "integer", 4, 1007)
TEXT = _t(25, "text", -1, 1009)
OID = _t(26, "oid", 4, 1028)
JSON = _t(114, "json", -1, 199)
FLOAT4 = _t(700, "real", 4, 1021)
FLOAT8 = _t(701, "double precision", 8, 1022)
UNKNOWN = _t(705, "unknown", -2)
BPCHAR = _t(1042, "character", -1, 1014)
VARCHAR = _t(1043, "character varying", -1, 1015)
DATE = _t(1082, "date", 4, 1182)
TIME = _t(1083, "time without time zone", 8, 1183)
TIMESTAMP = _t(1114, "timestamp without time zone", 8, 1115)
TIMESTAMPTZ = _t(1184, "timestamp with time zone", 8, 1185)
INTERVAL = _t(1186, "interval", 16, 1187)
TIMETZ = _t(1266, "time with time zone", 12, 1270)
NUMERIC = _t(1700, "numeric", -1, 1231)
UUID = _t(2950, "uuid", 16, 2951)
JSONB = _t(3802, "jsonb", -1, 3807)

BY_OID = {t.oid: t for t in (BOOL, BYTEA, INT8, INT2, INT4, TEXT, OID, JSON, FLOAT4, FLOAT8, BPCHAR, VARCHAR, DATE,
                             TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL, TIMETZ, NUMERIC, UUID, JSONB)}
ARRAY_ELEMENT = {t.array_oid: t for t in BY_OID.values() if t.array_oid}

_DUCKDB: dict[str, PgType] = {
    "BOOLEAN": BOOL,
    "TINYINT": INT2, "SMALLINT": INT2, "UTINYINT": INT2,
    "INTEGER": INT4, "USMALLINT": INT4,
    "BIGINT": INT8, "UINTEGER": INT8,
    "UBIGINT": NUMERIC, "HUGEINT": NUMERIC, "UHUGEINT": NUMERIC, "BIGNUM": NUMERIC, "VARINT": NUMERIC,
    "FLOAT": FLOAT4, "DOUBLE": FLOAT8,
    "VARCHAR": TEXT, "BLOB": BYTEA, "BIT": TEXT,
    "DATE": DATE, "TIME": TIME, "TIME WITH TIME ZONE": TIMETZ,
    "TIMESTAMP": TIMESTAMP, "TIMESTAMP_S": TIMESTAMP, "TIMESTAMP_MS": TIMESTAMP, "TIMESTAMP_NS": TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": TIMESTAMPTZ, "INTERVAL": INTERVAL, "UUID": UUID, "JSON": JSON,
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def _array_of(element: PgType) -> PgType:
    return PgType(element.array_oid, element.name + "[]", -1)


def pg_type(duckdb_type: str) -> PgType:
    """The PostgreSQL type a client sees for a DuckDB column type."""
    text = str(duckdb_type).strip()
    if text.endswith("]"):
        element = pg_type(text[: text.rindex("[")])
        return _array_of(element) if element.array_oid and not element.name.endswith("[]") else JSON
    decimal = _DECIMAL.fullmatch(text)
    if decimal:
        precision, scale = int(decimal[1]), int(decimal[2])
        return PgType(NUMERIC.oid, f"numeric({precision},{scale})", -1, NUMERIC.array_oid, ((precision << 16) | scale) + 4)
    if text.startswith(("ENUM", "VARCHAR")):
        return TEXT
    if text.startswith(("STRUCT", "MAP", "UNION")):
        return JSON
    return _DUCKDB.get(text.upper(), TEXT)


# -- text output -------------------------------------------------------------------


def _float(value: float, single: bool = False) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = str(np.float32(value)) if single else repr(value)
    return text[:-2] if text.endswith(".0") else text


def _interval(value: dt.timedelta) -> str:
    days, seconds, micros = value.days, value.seconds, value.microseconds
    clock = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" + (f".{micros:06d}" if micros else "")
    return f"{days} days {clock}" if days else clock


def _array_item(value, oid: int) -> str:
    if value is None:
        return "NULL"
    text = to_text(value, oid)
    if isinstance(value, list) or (text and not re.search(r'[{},"\\\s]', text) and text.upper() != "NULL"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_text(value, oid: int = TEXT.oid) -> str:
    """PostgreSQL's text output of a Python value read from DuckDB."""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return _float(value, oid == FLOAT4.oid)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _interval(value)
    if isinstance(value, list):
        element = ARRAY_ELEMENT.get(oid, TEXT).oid
        return "{" + ",".join(_array_item(v, element) for v in value) + "}"
    if isinstance(value, (dict, tuple)):
        return json.dumps(value, default=str)
    return str(value)


# -- binary output -----------------------------------------------------------------


def _numeric_binary(value: Decimal) -> bytes:
    if value.is_nan():
        return struct.pack("!hhhh", 0, 0, 0xC000, 0)
    sign, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits)) or "0"
    scale = max(0, -exponent)
    integer = text + "0" * exponent if exponent > 0 else text[: len(text) - scale] or "0"
    fraction = text[len(text) - scale :] if scale else ""
    fraction = fraction.rjust(scale, "0")
    integer = integer.rjust((len(integer) + 3) // 4 * 4, "0")
    fraction = fraction.ljust((len(fraction) + 3) // 4 * 4, "0")
    groups = [int(integer[i : i + 4]) for i in range(0, len(integer), 4)]
    weight = len(groups) - 1
    groups += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    return struct.pack(f"!hhhh{len(groups)}h", len(groups), weight, 0x4000 if sign else 0, scale, *groups)


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _timestamp_binary(value: dt.datetime) -> bytes:
    base = PG_EPOCH_TZ if value.tzinfo else PG_EPOCH
    return struct.pack("!q", _micros(value - base))


_BINARY = {
    BOOL.oid: lambda v: b"\x01" if v else b"\x00",
    INT2.oid: lambda v: struct.pack("!h", v),
    INT4.oid: lambda v: struct.pack("!i", v),
    INT8.oid: lambda v: struct.pack("!q", v),
    FLOAT4.oid: lambda v: struct.pack("!f", v),
    FLOAT8.oid: lambda v: struct.pack("!d", v),
    NUMERIC.oid: lambda v: _numeric_binary(Decimal(v)),
    TEXT.oid: lambda v: str(v).encode(),
    VARCHAR.oid: lambda v: str(v).encode(),
    JSON.oid: lambda v: (v if isinstance(v, str) else json.dumps(v, default=str)).encode(),
    BYTEA.oid: bytes,
    DATE.oid: lambda v: struct.pack("!i", (v - PG_EPOCH_DATE).days),
    TIMESTAMP.oid: _timestamp_binary,
    TIMESTAMPTZ.oid: _timestamp_binary,
    TIME.oid: lambda v: struct.pack("!q", _micros(dt.datetime.combine(dt.date.min, v) - dt.datetime.min)),
    INTERVAL.oid: lambda v: struct.pack("!qii", v.seconds * 1_000_000 + v.microseconds, v.days, 0),
    UUID.oid: lambda v: v.bytes if isinstance(v, uuid.UUID) else uuid.UUID(str(v)).bytes,
}


class UnsupportedBinary(Exception):
    """A client asked for binary output of a type we only send as text."""


def encode(value, oid: int, binary: bool) -> bytes | None:
    if value is None:
        return None
    if not binary:
        return to_text(value, oid).encode()
    encoder = _BINARY.get(oid)
    if encoder is None:
        raise UnsupportedBinary(f"binary output of type oid {oid} is not supported; ask for text")
    return encoder(value)


# -- parameters in -----------------------------------------------------------------


def _numeric_from_binary(data: bytes) -> Decimal:
    ndigits, weight, sign, scale = struct.unpack("!hhHh", data[:8])
    if sign == 0xC000:
        return Decimal("NaN")
    groups = struct.unpack(f"!{ndigits}h", data[8 : 8 + 2 * ndigits])
    whole = 0
    for group in groups:
        whole = whole * 10000 + group
    with localcontext(prec=1000):
        value = Decimal(whole).scaleb(4 * (weight - len(groups) + 1)).quantize(Decimal(1).scaleb(-scale))
    return -value if sign == 0x4000 else value


def _array_from_binary(data: bytes) -> list:
    ndim, _flags, element = struct.unpack("!iii", data[:12])
    if ndim == 0:
        return []
    dims = [struct.unpack("!ii", data[12 + 8 * i : 20 + 8 * i])[0] for i in range(ndim)]
    at, items = 12 + 8 * ndim, []
    for _ in range(math.prod(dims)):
        (length,) = struct.unpack("!i", data[at : at + 4])
        at += 4
        items.append(None if length < 0 else from_binary(data[at : at + length], element))
        at += max(length, 0)
    for size in reversed(dims[1:]):
        items = [items[i : i + size] for i in range(0, len(items), size)]
    return items


_FROM_BINARY = {
    BOOL.oid: lambda b: b != b"\x00",
    INT2.oid: lambda b: struct.unpack("!h", b)[0],
    INT4.oid: lambda b: struct.unpack("!i", b)[0],
    INT8.oid: lambda b: struct.unpack("!q", b)[0],
    OID.oid: lambda b: struct.unpack("!I", b)[0],
    FLOAT4.oid: lambda b: struct.unpack("!f", b)[0],
    FLOAT8.oid: lambda b: struct.unpack("!d", b)[0],
    NUMERIC.oid: _numeric_from_binary,
    BYTEA.oid: bytes,
    DATE.oid: lambda b: PG_EPOCH_DATE + dt.timedelta(days=struct.unpack("!i", b)[0]),
    TIMESTAMP.oid: lambda b: PG_EPOCH + dt.timedelta(microseconds=struct.unpack("!q", b)[0]),
    TIMESTAMPTZ.oid: lambda b: PG_EPOCH_TZ + dt.timedelta(microseconds=struct.unpack("!q", b)[0]),
    TIME.oid: lambda b: (dt.datetime.min + dt.timedelta(microseconds=struct.unpack("!q", b)[0])).time(),
    UUID.oid: lambda b: uuid.UUID(bytes=b),
    JSONB.oid: lambda b: b[1:].decode(),
    INTERVAL.oid: lambda b: _interval_from_binary(b),
}


def _interval_from_binary(data: bytes) -> dt.timedelta:
    micros, days, months = struct.unpack("!qii", data)
    return dt.timedelta(days=days + 30 * months, microseconds=micros)


def from_binary(data: bytes, oid: int):
    if oid in _FROM_BINARY:
        return _FROM_BINARY[oid](data)
    if oid in ARRAY_ELEMENT:
        return _array_from_binary(data)
    return data.decode("utf-8")


_FROM_TEXT = {
    BOOL.oid: lambda s: s.strip().lower() in ("t", "true", "1", "yes", "on", "y"),
    INT2.oid: int, INT4.oid: int, INT8.oid: int, OID.oid: int,
    FLOAT4.oid: float, FLOAT8.oid: float, NUMERIC.oid: Decimal,
}


def from_text(text: str, oid: int):
    """Typed text parameters become Python values; the rest stay strings for DuckDB to cast."""
    if oid in ARRAY_ELEMENT:
        return parse_array(text, ARRAY_ELEMENT[oid].oid)
    convert = _FROM_TEXT.get(oid)
    return convert(text) if convert else text


_ARRAY_ITEM = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^,{}]*))\s*(,|\}$)')


def parse_array(text: str, element_oid: int) -> list:
    """A one-dimensional PostgreSQL array literal ('{1,2,NULL}', '{"a b",c}')."""
    body = text.strip()
    if body.startswith("["):  # '[1:3]={…}' bounds prefix
        body = body[body.index("=") + 1 :]
    if not body.startswith("{") or body == "{}":
        return []
    items, at = [], 1
    while at < len(body):
        found = _ARRAY_ITEM.match(body, at)
        if found is None:
            raise ValueError(f"malformed array literal {text!r}")
        quoted, bare = found[1], found[2]
        if quoted is not None:
            items.append(from_text(re.sub(r"\\(.)", r"\1", quoted), element_oid))
        else:
            items.append(None if bare.strip().upper() == "NULL" else from_text(bare.strip(), element_oid))
        at = found.end()
    return items


def decode_parameter(data: bytes | None, oid: int, binary: bool):
    if data is None:
        return None
    if binary:
        return from_binary(data, oid)
    return from_text(data.decode("utf-8"), oid)
