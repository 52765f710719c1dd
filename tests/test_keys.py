"""Key generators on real key columns: the right format is chosen, keys are new and distinct.

Repeated generation goes into real DuckDB tables whose PRIMARY KEY rejects any duplicate.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from synthtab_db.errors import SynthError
from synthtab_db.keys import KeyGenerator, choose_key_generator, key_generator_from_dict
from synthtab_db.planner.schema import Column, ColumnType, Kind

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


def source(dataset: str, table: str, column: str) -> pa.ChunkedArray:
    path = DATASETS / dataset / f"{table}.csv"
    if not path.exists():
        pytest.skip(f"shared dataset file {path} not found (set SYNTHTAB_DATASETS)")
    return duckdb.sql(f"SELECT {column} FROM read_csv('{path}')").to_arrow_table().column(column)


def col(kind: Kind, sql: str, name: str = "id", **type_args) -> Column:
    return Column(name=name, type=ColumnType(kind=kind, sql=sql, **type_args), nullable=False)


INTEGER = col(Kind.INTEGER, "INTEGER", bits=32)
TEXT = col(Kind.STRING, "VARCHAR")


def distinct(values: pa.Array) -> bool:
    return len(pc.unique(values)) == len(values)


def test_sequence_starts_at_the_source_minimum_and_continues():
    ids = source("chinook", "customer", "customer_id")
    keys = choose_key_generator(ids, INTEGER)
    assert keys.name == "sequence"
    first = keys.generate(100, np.random.default_rng(0))
    assert first.to_pylist() == list(range(1, 101))
    assert keys.generate(3, np.random.default_rng(0), existing=pa.chunked_array([first])).to_pylist() == [101, 102, 103]
    payments = choose_key_generator(source("pagila", "payment", "payment_id"), INTEGER)
    assert payments.generate(2, np.random.default_rng(0)).to_pylist() == [16050, 16051]


def test_sequence_refuses_to_overflow_the_integer_width():
    small = col(Kind.INTEGER, "SMALLINT", name="code", bits=16)
    keys = choose_key_generator(pa.array([32000, 32760]), small)
    with pytest.raises(SynthError, match="code"):
        keys.generate(10, np.random.default_rng(0), existing=pa.array([32760]))


@pytest.mark.parametrize("ids, expected", [
    (["C0001", "C0002", "C0107"], ["C0001", "C0002", "C0003"]),
    (["INV-000123", "INV-000124"], ["INV-000123", "INV-000124", "INV-000125"]),
    (["10248", "10249", "10250"], ["10248", "10249", "10250"]),
    (["A1-7", "A1-12"], ["A1-7", "A1-8", "A1-9"]),
])
def test_formatted_ids_keep_prefix_and_padding(ids, expected):
    keys = choose_key_generator(pa.array(ids), TEXT)
    assert keys.name == "formatted"
    assert keys.generate(len(expected), np.random.default_rng(0)).to_pylist() == expected


def test_formatted_ids_continue_after_the_targets_largest_number():
    keys = choose_key_generator(pa.array(["C0001", "C0002"]), TEXT)
    existing = pa.chunked_array([pa.array(["C0001", "C9998", "X99999", None])])
    assert keys.generate(3, np.random.default_rng(0), existing).to_pylist() == ["C9999", "C10000", "C10001"]
    short = choose_key_generator(pa.array(["C0001"]), col(Kind.STRING, "VARCHAR(5)", length=5))
    with pytest.raises(SynthError, match="id"):
        short.generate(3, np.random.default_rng(0), existing=pa.array(["C9998"]))


def test_uuid_keys_keep_case_and_avoid_existing():
    lower = duckdb.sql("SELECT uuid()::VARCHAR AS u FROM range(200)").to_arrow_table().column("u")
    upper = pc.utf8_upper(lower)
    for values, pattern in ((lower, "[0-9a-f]"), (upper, "[0-9A-F]")):
        keys = choose_key_generator(values, TEXT)
        assert keys.name == "uuid"
        out = keys.generate(50_000, np.random.default_rng(1), existing=values)
        shape = rf"^{pattern}{{8}}-{pattern}{{4}}-4{pattern}{{3}}-{pattern}{{4}}-{pattern}{{12}}$"
        assert pc.all(pc.match_substring_regex(out, shape)).as_py()
        assert distinct(out) and not pc.any(pc.is_in(out, value_set=values.combine_chunks())).as_py()
    typed = choose_key_generator(pa.array([], pa.string()), col(Kind.UUID, "UUID"))
    assert typed.generate(5, np.random.default_rng(0)).type == pa.string()


def test_shape_keys_look_like_northwind_customer_ids():
    ids = source("northwind", "customers", "customer_id")
    keys = choose_key_generator(ids, col(Kind.STRING, "VARCHAR(5)", length=5))
    assert keys.name == "shape"
    out = keys.generate(20_000, np.random.default_rng(2), existing=ids)
    assert pc.all(pc.match_substring_regex(out, r"^[A-Z]{5}$")).as_py()
    assert distinct(out) and not pc.any(pc.is_in(out, value_set=ids.combine_chunks())).as_py()


def test_shape_keeps_constant_positions_and_lengths():
    ids = pa.array(["ab-12x", "cd-34y", "EF-56z", "gh-7", "ij-8"])
    out = choose_key_generator(ids, TEXT).generate(2000, np.random.default_rng(3))
    texts = out.to_pylist()
    assert all(re.fullmatch(r"[a-zA-Z]{2}-(\d{2}[a-z]|\d)", t) for t in texts)
    assert 0.5 < sum(len(t) == 6 for t in texts) / len(texts) < 0.7  # 3 of 5 source keys have length 6


def test_shape_too_small_is_an_error_naming_the_column():
    keys = choose_key_generator(pa.array(["Xa", "Xb", "Xc"]), col(Kind.STRING, "VARCHAR", name="tag"))
    assert sorted(keys.generate(26, np.random.default_rng(0)).to_pylist()) == [f"X{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    with pytest.raises(SynthError, match="tag"):
        keys.generate(20, np.random.default_rng(0), existing=pa.array(["Xa", "Xb", "Xc", "Xd", "Xe", "Xf", "Xg"]))


@pytest.mark.parametrize("kind, sql, first", [
    (Kind.INTEGER, "BIGINT", ["1", "2", "3"]),
    (Kind.STRING, "VARCHAR", ["1", "2", "3"]),
    (Kind.DATE, "DATE", ["2000-01-01", "2000-01-02", "2000-01-03"]),
    (Kind.ENUM, "ENUM('a', 'b', 'c')", None),
])
def test_schema_keys_from_the_type_alone(kind, sql, first):
    column = col(kind, sql, enum_values=("a", "b", "c") if kind is Kind.ENUM else None)
    keys = choose_key_generator(pa.chunked_array([], type=pa.string()), column)
    assert keys.name == "schema"
    out = keys.generate(3, np.random.default_rng(0))
    values = [str(v) for v in out.to_pylist()]
    assert values == first if first else sorted(values) == ["a", "b", "c"]
    if first is None:  # an ENUM key has only its labels
        with pytest.raises(SynthError, match="id"):
            keys.generate(1, np.random.default_rng(0), existing=out)


@pytest.mark.parametrize("values, column", [
    (pa.array([5, 6, 9]), INTEGER),
    (pa.array(["INV-0009", "INV-0010"]), TEXT),
    (pa.array(["ALFKI", "BOLID", "XY-12"]), TEXT),
    (pa.array(["5F82C2D9-CFEB-4FA3-A1D7-D982F8BD1045"]), TEXT),
    (pa.array([], pa.int64()), INTEGER),
])
def test_to_dict_is_json_and_round_trips(values, column):
    keys = choose_key_generator(values, column)
    loaded = key_generator_from_dict(json.loads(json.dumps(keys.to_dict())))
    assert isinstance(loaded, KeyGenerator) and loaded.name == keys.name
    existing = keys.generate(10, np.random.default_rng(4))
    assert loaded.generate(50, np.random.default_rng(5), existing).equals(
        keys.generate(50, np.random.default_rng(5), existing))


@pytest.mark.parametrize("ddl_type, values", [
    ("INTEGER", pa.array([3, 4, 5])),
    ("VARCHAR", pa.array(["C0001", "C0002"])),
    ("VARCHAR", pa.array(["ALFKI", "ANATR", "BOLID"])),
    ("UUID", pa.array(["5f82c2d9-cfeb-4fa3-a1d7-d982f8bd1045"])),
])
def test_repeated_generation_into_one_duckdb_table_stays_unique(ddl_type, values):
    kind = {"INTEGER": Kind.INTEGER, "VARCHAR": Kind.STRING, "UUID": Kind.UUID}[ddl_type]
    keys = choose_key_generator(values, col(kind, ddl_type))
    con = duckdb.connect()
    con.execute(f"CREATE TABLE target (id {ddl_type} PRIMARY KEY)")
    rng = np.random.default_rng(6)
    for _ in range(3):
        existing = con.sql("SELECT id::VARCHAR AS id FROM target").to_arrow_table().column("id")
        existing = existing.cast(pa.int64()) if kind is Kind.INTEGER else existing
        batch = pa.table({"id": keys.generate(1000, rng, existing)})  # noqa: F841 (scanned by DuckDB by name)
        con.execute("INSERT INTO target SELECT * FROM batch")  # the PRIMARY KEY rejects any repeat
    assert con.execute("SELECT count(DISTINCT id) FROM target").fetchone()[0] == 3000
