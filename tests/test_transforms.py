"""Column transforms on real data: marginals survive forward/reverse, CHECK bounds hold.

Data comes from the shared datasets (Adult, Pagila, Beijing air quality,
Berka), read with DuckDB and typed by the dataset's own DDL; schema-only
values are checked by DuckDB itself, by inserting them into a table that
declares the same constraints.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from scipy import stats
from scipy.special import ndtr as scipy_ndtr
from scipy.special import ndtri as scipy_ndtri

from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.planner.schema import Column, ColumnType, Kind, Table
from synthtab_db.transforms import (
    Bounds,
    CategoricalTransform,
    CategoryIntervals,
    NullIndicator,
    QuantileTransform,
    column_bounds,
    default_transform,
    get_transform,
    ndtr,
    ndtri,
)

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


def _path(*parts: str) -> Path:
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared dataset file {path} not found (set SYNTHTAB_DATASETS)")
    return path


def load(dataset: str, table_name: str) -> tuple[pa.Table, Table]:
    """A dataset table as Arrow, typed by the dataset's schema.sql (DDL read with our planner)."""
    table = schema_from_ddl(_path(dataset, "schema.sql").read_text()).table(table_name)
    casts = ", ".join(f'CAST("{c.name}" AS {c.type.sql}) AS "{c.name}"' for c in table.columns)
    csv = _path(dataset, f"{table_name}.csv")
    query = f"SELECT {casts} FROM read_csv('{csv}', header=true, all_varchar=true)"
    return duckdb.sql(query).to_arrow_table(), table


@pytest.fixture(scope="module")
def adult() -> pa.Table:
    return duckdb.sql(f"SELECT * FROM read_csv('{_path('adult', 'adult.csv')}')").to_arrow_table()


def column(name: str, kind: Kind, sql: str, **type_args) -> Column:
    return Column(name=name, type=ColumnType(kind=kind, sql=sql, **type_args))


def sample_back(transform, n: int, seed: int = 7) -> pa.Array:
    """What a model with independent columns would produce: reverse of standard normals / codes."""
    rng = np.random.default_rng(seed)
    if transform.categorical:
        return transform.reverse(rng.choice(transform.counts.size, size=n, p=transform.probabilities), rng)
    return transform.reverse(rng.standard_normal(n), rng)


def tvd(real: pa.Array, synthetic: pa.Array) -> float:
    """Total variation distance between the value frequencies (values compared as text)."""
    def shares(values):
        return {k: v / len(values) for k, v in Counter(str(v) for v in values.to_pylist()).items()}
    a, b = shares(real), shares(synthetic)
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


# -- normal scale ------------------------------------------------------------------------


def test_ndtri_and_ndtr_match_scipy_to_double_precision():
    p = np.concatenate([np.linspace(1e-12, 1 - 1e-12, 20001), [1e-300, 1e-20, 0.5]])
    assert np.max(np.abs(ndtri(p) - scipy_ndtri(np.clip(p, 1e-16, 1 - 1e-16)))) < 1e-12
    z = np.linspace(-8, 8, 2001)
    assert np.max(np.abs(ndtr(z) - scipy_ndtr(z))) < 1e-15


# -- ordered kinds -----------------------------------------------------------------------

ORDERED_CASES = [
    ("adult-integer", "adult", None, "age"),
    ("adult-zero-inflated", "adult", None, "capital_gain"),
    ("float", "beijing_air_quality", "air_quality", "temp"),
    ("decimal", "pagila", "payment", "amount"),
    ("date", "berka_financial", "account", "date"),
    ("timestamp", "beijing_air_quality", "air_quality", "ts"),
    ("timestamptz", "pagila", "payment", "payment_date"),
]


def _ordered(dataset: str, table_name: str | None, name: str, adult: pa.Table) -> tuple[pa.Array, Column, Bounds]:
    if table_name is None:
        return adult.column(name).combine_chunks(), column(name, Kind.INTEGER, "BIGINT", bits=64), Bounds()
    data, table = load(dataset, table_name)
    return data.column(name).combine_chunks(), table.column(name), column_bounds(table)[name]


@pytest.mark.parametrize("case", ORDERED_CASES, ids=[c[0] for c in ORDERED_CASES])
def test_quantile_transform_reproduces_marginal(case, adult):
    _, dataset, table_name, name = case
    values, col, bounds = _ordered(dataset, table_name, name, adult)
    transform = QuantileTransform().fit(values, col, bounds)
    synthetic = sample_back(transform, 20_000)
    real_numbers, synth_numbers = transform.codec.to_numbers(values.drop_null()), transform.codec.to_numbers(synthetic)
    assert stats.ks_2samp(real_numbers, synth_numbers).statistic < 0.03
    assert real_numbers.min() <= synth_numbers.min() and synth_numbers.max() <= real_numbers.max()


@pytest.mark.parametrize("case", ORDERED_CASES, ids=[c[0] for c in ORDERED_CASES])
def test_quantile_forward_is_standard_normal_and_reverse_is_exact(case, adult):
    _, dataset, table_name, name = case
    values, col, bounds = _ordered(dataset, table_name, name, adult)
    transform = QuantileTransform().fit(values, col, bounds)
    z = transform.forward(values, np.random.default_rng(1))
    assert stats.kstest(z[~np.isnan(z)], "norm").statistic < 0.02
    back = transform.reverse(z, nulls=np.isnan(z))
    assert back.null_count == values.null_count
    real, again = transform.codec.to_numbers(values.drop_null()), transform.codec.to_numbers(back.drop_null())
    assert np.array_equal(real, again) if transform.codec.integral else np.allclose(real, again, rtol=1e-12)


REVERSED_TYPES = {
    Kind.INTEGER: pa.int64(), Kind.FLOAT: pa.float64(), Kind.DECIMAL: pa.float64(), Kind.DATE: pa.date32(),
    Kind.TIME: pa.time64("us"), Kind.TIMESTAMP: pa.timestamp("us"), Kind.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    Kind.BOOLEAN: pa.bool_(), Kind.STRING: pa.string(), Kind.ENUM: pa.string(), Kind.UUID: pa.string(),
}


def test_time_of_day_from_real_timestamps():
    csv = _path("beijing_air_quality", "air_quality.csv")
    values = duckdb.sql(f"SELECT CAST(ts AS TIMESTAMP)::TIME AS t FROM read_csv('{csv}')").to_arrow_table().column("t")
    transform = QuantileTransform().fit(values, column("t", Kind.TIME, "TIME"))
    synthetic = sample_back(transform, 20_000)
    assert synthetic.type == pa.time64("us")
    hours = pc.hour(synthetic).to_numpy()
    assert set(np.unique(hours)) == set(range(24))  # hourly data: every hour, near-uniform
    assert np.abs(np.bincount(hours, minlength=24) / hours.size - 1 / 24).max() < 0.01


def test_decimal_rounds_to_scale_and_integer_respects_width(adult):
    data, table = load("pagila", "film")
    rate = QuantileTransform().fit(data.column("rental_rate"), table.column("rental_rate"))
    values = sample_back(rate, 5000).to_numpy()
    assert np.allclose(values, np.round(values, 2)) and set(np.round(values, 2)) <= {0.99, 2.99, 4.99}
    tiny = column("age", Kind.INTEGER, "TINYINT", bits=8)
    scaled = pa.array(adult.column("age").to_numpy() * 3)  # up to 270: more than TINYINT holds
    out = sample_back(QuantileTransform().fit(scaled, tiny), 5000).to_numpy()
    assert out.dtype == np.int64 and out.max() <= 127 and out.min() >= 51


@pytest.mark.parametrize("kind", list(REVERSED_TYPES))
def test_reverse_gives_the_kinds_arrow_type(kind):
    col = column("x", kind, "ENUM('a', 'b')" if kind is Kind.ENUM else kind.value.upper(),
                 enum_values=("a", "b") if kind is Kind.ENUM else None)
    transform = default_transform(col).fit(pa.array([], type=pa.null()), col)
    assert sample_back(transform, 50).type == REVERSED_TYPES[kind]


# -- categories --------------------------------------------------------------------------


def test_categorical_frequencies_and_order(adult):
    values = adult.column("education")
    transform = CategoricalTransform().fit(values, column("education", Kind.STRING, "VARCHAR"))
    assert transform.labels[0].as_py() == "HS-grad"  # most frequent first
    assert np.all(np.diff(transform.counts) <= 0)
    assert tvd(values.combine_chunks(), sample_back(transform, 30_000)) < 0.02
    codes = transform.forward(values)
    assert transform.reverse(codes).equals(values.combine_chunks())


def test_rare_categories_are_pooled_and_drawn_by_frequency(adult):
    values = adult.column("native_country").drop_null()
    col = column("native_country", Kind.STRING, "VARCHAR")
    transform = CategoricalTransform(min_count=100).fit(values, col)
    kept = set(transform.labels.drop_null().to_pylist())
    assert transform.rare_code >= 0 and len(kept) < 10
    rare_real = values.filter(pc.invert(pc.is_in(values, value_set=pa.array(sorted(kept)))))
    synthetic = sample_back(transform, 60_000)
    rare_synth = synthetic.filter(pc.invert(pc.is_in(synthetic, value_set=pa.array(sorted(kept)))))
    assert tvd(rare_real.combine_chunks(), rare_synth) < 0.06  # the pooled values keep their mix
    assert tvd(values.combine_chunks(), synthetic) < 0.02


def test_vocabulary_cap_and_protected_rare_token(adult):
    values = adult.column("native_country").drop_null()
    col = column("native_country", Kind.STRING, "VARCHAR(8)", length=8)
    transform = CategoricalTransform(max_categories=3, protect_rare=True).fit(values, col, Bounds(max_length=8))
    synthetic = set(sample_back(transform, 5000).to_pylist())
    assert len(transform.labels.drop_null()) == 3
    assert synthetic == set(transform.labels.drop_null().to_pylist()) | {"<other>"}
    assert not synthetic & set(transform.rare_values.to_pylist())  # no rare value leaks


def test_protected_rare_uuids_are_fresh():
    col = column("u", Kind.UUID, "UUID")
    source = duckdb.sql("SELECT uuid()::VARCHAR AS u FROM range(500)").to_arrow_table().column("u")
    transform = CategoricalTransform(protect_rare=True).fit(source, col)
    out = sample_back(transform, 500)
    assert not set(out.to_pylist()) & set(source.to_pylist())
    produced = pa.table({"u": out})  # noqa: F841 (scanned by DuckDB by name)
    assert duckdb.sql("SELECT count(CAST(u AS UUID)) FROM produced").fetchall() == [(500,)]  # valid UUID text


def test_lists_enums_and_booleans_from_pagila():
    film, film_table = load("pagila", "film")
    for name in ("special_features", "rating"):
        transform = default_transform(film_table.column(name)).fit(film.column(name), film_table.column(name))
        synthetic = sample_back(transform, 20_000)
        assert tvd(film.column(name).drop_null().combine_chunks(), synthetic) < 0.03
    assert sample_back(transform, 10).type == pa.string()
    features = default_transform(film_table.column("special_features"))
    features.fit(film.column("special_features"), film_table.column("special_features"))
    assert sample_back(features, 10).type == pa.list_(pa.string())
    customer, table = load("pagila", "customer")
    flags = default_transform(table.column("activebool")).fit(customer.column("activebool"), table.column("activebool"))
    assert sample_back(flags, 10).type == pa.bool_()


def test_null_indicator_learns_the_rate(adult):
    workclass = adult.column("workclass")
    nulls = NullIndicator.fit(workclass, column("workclass", Kind.STRING, "VARCHAR"))
    assert nulls.rate == pytest.approx(1836 / 32561)
    z = nulls.to_normal(workclass, np.random.default_rng(0))
    assert np.array_equal(nulls.from_normal(z), workclass.is_null().to_numpy(zero_copy_only=False))
    sampled = nulls.from_normal(np.random.default_rng(1).standard_normal(100_000))
    assert sampled.mean() == pytest.approx(nulls.rate, abs=0.003)
    not_null = Column(name="w", type=ColumnType(kind=Kind.STRING, sql="VARCHAR"), nullable=False)
    assert not NullIndicator.fit(workclass, not_null).active
    assert NullIndicator.fit(pa.array([], pa.string()), column("w", Kind.STRING, "VARCHAR")).rate == 0.1


def test_state_round_trip_gives_identical_reverse(adult):
    data, table = load("pagila", "film")
    bounds = column_bounds(table)
    for name in ("rental_rate", "special_features", "rating", "release_year"):
        col = table.column(name)
        fitted = default_transform(col, min_count=50).fit(data.column(name), col, bounds[name])
        meta, arrays = fitted.to_state()
        loaded = get_transform(meta["name"]).from_state(col, bounds[name], meta, arrays)
        assert sample_back(loaded, 1000).equals(sample_back(fitted, 1000))


# -- CHECK bounds and schema-only values -------------------------------------------------

SCHEMA_DDL = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE everything (
    small SMALLINT NOT NULL CHECK (small BETWEEN -5 AND 5),
    year INTEGER CHECK (year >= 1901 AND year <= 2155),
    positive DOUBLE CHECK (positive >= 0 OR positive = -1),
    price DECIMAL(5,2) CHECK (price > 0) CHECK (price < 50),
    kind VARCHAR CHECK (kind IN ('a', 'bb', 'ccc')),
    code VARCHAR(4) NOT NULL CHECK (length(code) >= 2),
    feeling mood,
    day DATE CHECK (day >= DATE '2031-01-01'),
    seen_at TIMESTAMP CHECK (seen_at < '2001-01-01 00:00:00'),
    at_tz TIMESTAMPTZ,
    clock TIME CHECK (clock BETWEEN '08:00:00' AND '17:00:00'),
    flag BOOLEAN NOT NULL,
    tags VARCHAR[],
    counts INTEGER[],
    id UUID,
    tiny UTINYINT CHECK (2000 > tiny)
);
"""


@pytest.fixture(scope="module")
def everything() -> Table:
    return schema_from_ddl(SCHEMA_DDL).table("everything")


def test_check_bounds_extraction(everything):
    bounds = column_bounds(everything)
    assert bounds["small"] == Bounds(low=-5, high=5)
    assert (bounds["year"].low, bounds["year"].high) == (1901, 2155)
    assert bounds["positive"] == Bounds()  # an OR is left to the SQL check
    assert bounds["price"] == Bounds(low=0, low_strict=True, high=50, high_strict=True)
    assert bounds["kind"].values == ("a", "bb", "ccc")
    assert (bounds["code"].min_length, bounds["code"].max_length) == (2, 4)
    assert bounds["feeling"].values == ("sad", "ok", "happy")
    assert bounds["day"].low == "2031-01-01" and bounds["seen_at"] == Bounds(high="2001-01-01 00:00:00", high_strict=True)
    assert bounds["tiny"] == Bounds(high=2000, high_strict=True)


def test_schema_only_values_satisfy_the_constraints_in_duckdb(everything):
    bounds, rng = column_bounds(everything), np.random.default_rng(3)
    columns = {}
    for col in everything.columns:
        transform = default_transform(col).fit(pa.array([], type=pa.null()), col, bounds[col.name])
        nulls = NullIndicator.fit(pa.array([], type=pa.null()), col)
        assert transform.schema_only
        columns[col.name] = transform.reverse(*_draw(transform, 2000, rng), nulls=nulls.sample(2000, rng))
    batch = pa.table(columns)
    con = duckdb.connect()
    con.execute(SCHEMA_DDL)
    con.register("batch", batch)
    con.execute("INSERT INTO everything SELECT * FROM batch")  # DuckDB enforces every CHECK and type
    assert con.execute("SELECT count(*) FROM everything").fetchone()[0] == 2000
    checks = " AND ".join(f"coalesce({c.sql}, TRUE)" for c in everything.checks)
    assert con.execute(f"SELECT count(*) FROM everything WHERE NOT ({checks})").fetchone()[0] == 0
    _assert_schema_defaults(con)


def _draw(transform, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.random.Generator]:
    if transform.categorical:
        return rng.choice(transform.counts.size, size=n, p=transform.probabilities), rng
    return rng.standard_normal(n), rng


def _assert_schema_defaults(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("""SELECT count(*) FILTER (WHERE small IS NULL), count(*) FILTER (WHERE flag IS NULL),
        avg((year IS NULL)::INT), min(day), max(length(code)), avg(flag::INT), count(DISTINCT feeling),
        min(seen_at), max(seen_at)
        FROM everything""").fetchone()
    assert row[0] == 0 and row[1] == 0  # NOT NULL columns are never NULL
    assert 0.07 < row[2] < 0.13  # nullable columns ~10% NULL
    assert str(row[3]) > "2031-01-01" and row[4] <= 4
    assert 0.45 < row[5] < 0.55 and row[6] == 3
    assert str(row[7]) >= "1970" and str(row[8]) < "2001-01-01"


@pytest.mark.parametrize("categories", [2, 5, 9, 42, 1000, 30_000])
def test_category_lookup_gives_exactly_searchsorteds_codes(categories):
    """The sampling shortcuts (comparisons for a few thresholds, a table over bins of the score
    for many) must give searchsorted's codes exactly, at thresholds, next to them, at +-inf, NaN."""
    rng = np.random.default_rng(categories)
    intervals = CategoryIntervals(rng.random(categories) ** 3 + 1e-9)
    edges = np.resize(intervals.thresholds, 2000)
    z = np.concatenate([rng.standard_normal(100_000) * 2, edges, np.nextafter(edges, -np.inf),
                        np.nextafter(edges, np.inf), [np.nan, np.inf, -np.inf, 9.0, -9.0, 8.5, -8.5]])
    expected = np.searchsorted(intervals.thresholds, z, side="right")
    assert np.array_equal(intervals.from_normal(z), expected)
    assert np.array_equal(intervals.from_normal(z[:100]), expected[:100])  # the small-batch path
