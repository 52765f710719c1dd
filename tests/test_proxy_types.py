"""The proxy's type mapping and value encodings, checked against what PostgreSQL prints
and how libpq clients read it (no server needed)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from synthtab_db.proxy import types

CASES = [
    ("INTEGER", 23, "integer"),
    ("BIGINT", 20, "bigint"),
    ("DECIMAL(10,2)", 1700, "numeric(10,2)"),
    ("VARCHAR", 25, "text"),
    ("TIMESTAMP WITH TIME ZONE", 1184, "timestamp with time zone"),
    ("INTEGER[]", 1007, "integer[]"),
    ("VARCHAR[]", 1009, "text[]"),
    ("STRUCT(a INTEGER)", 114, "json"),
    ("ENUM('a', 'b')", 25, "text"),
    ("HUGEINT", 1700, "numeric"),
    ("UUID", 2950, "uuid"),
]


@pytest.mark.parametrize("duckdb_type,oid,name", CASES)
def test_duckdb_types_map_to_postgres_oids(duckdb_type, oid, name):
    pg = types.pg_type(duckdb_type)
    assert (pg.oid, pg.name) == (oid, name)


def test_numeric_typmod_is_postgres_encoding():
    assert types.pg_type("DECIMAL(10,2)").modifier == ((10 << 16) | 2) + 4


@pytest.mark.parametrize(
    "value,oid,text",
    [
        (True, 16, "t"),
        (1.0, 701, "1"),
        (float("inf"), 701, "Infinity"),
        (float("nan"), 701, "NaN"),
        (0.1, 700, "0.1"),
        (Decimal("1E+2"), 1700, "100"),
        (b"\x00\xff", 17, "\\x00ff"),
        (dt.timedelta(days=2, seconds=3661, microseconds=5), 1186, "2 days 01:01:01.000005"),
        ([1, None, 3], 1007, "{1,NULL,3}"),
        (["a b", 'q"', "null", ""], 1009, '{"a b","q\\"","null",""}'),
    ],
)
def test_text_output_matches_postgres(value, oid, text):
    assert types.to_text(value, oid) == text


def test_array_literals_round_trip():
    values = ["plain", "with space", 'quo"te', "back\\slash", "comma,", None, "NULL"]
    assert types.parse_array(types.to_text(values, 1009), 25) == values


def test_numeric_binary_round_trip():
    rng = random.Random(3)
    samples = [Decimal("0"), Decimal("-0.5"), Decimal("123456789012345678901234567890.000001")]
    samples += [Decimal(rng.randint(-(10**20), 10**20)).scaleb(-rng.randint(0, 12)) for _ in range(200)]
    for value in samples:
        assert types.from_binary(types.encode(value, 1700, binary=True), 1700) == value


def test_binary_parameters_decode():
    assert types.decode_parameter((42).to_bytes(4, "big", signed=True), 23, binary=True) == 42
    assert types.decode_parameter(b"{1,2}", 1007, binary=False) == [1, 2]
    assert types.decode_parameter(b"7", 0, binary=False) == "7"  # untyped text stays text for DuckDB to cast
    stamp = types.encode(dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.timezone.utc), 1184, binary=True)
    assert types.from_binary(stamp, 1184) == dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.timezone.utc)
