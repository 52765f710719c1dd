"""The Gaussian copula on real data (UCI Adult) and on a schema alone."""

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

from synthtab_db.errors import SynthError
from synthtab_db.models.copula import GaussianCopula
from synthtab_db.models.registry import get_model
from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.planner.schema import Table

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))

ADULT_DDL = """
CREATE TABLE adult (
    age BIGINT NOT NULL CHECK (age BETWEEN 17 AND 90), workclass VARCHAR, fnlwgt BIGINT NOT NULL,
    education VARCHAR NOT NULL, education_num BIGINT NOT NULL, marital_status VARCHAR NOT NULL,
    occupation VARCHAR, relationship VARCHAR NOT NULL, race VARCHAR NOT NULL, sex VARCHAR NOT NULL,
    capital_gain BIGINT NOT NULL, capital_loss BIGINT NOT NULL, hours_per_week BIGINT NOT NULL,
    native_country VARCHAR, income VARCHAR NOT NULL CHECK (income IN ('<=50K', '>50K'))
);
"""


@pytest.fixture(scope="module")
def adult() -> tuple[pa.Table, Table]:
    path = DATASETS / "adult" / "adult.csv"
    if not path.exists():
        pytest.skip(f"shared dataset {path} not found (set SYNTHTAB_DATASETS)")
    return duckdb.sql(f"SELECT * FROM read_csv('{path}')").to_arrow_table(), schema_from_ddl(ADULT_DDL).table("adult")


@pytest.fixture(scope="module")
def fitted(adult) -> GaussianCopula:
    data, table = adult
    return GaussianCopula(seed=1).fit(data, table)


@pytest.fixture(scope="module")
def synthetic(fitted, adult) -> pa.Table:
    return fitted.sample(adult[0].num_rows, seed=3)


def tvd(real: pa.ChunkedArray, synthetic: pa.ChunkedArray) -> float:
    a, b = Counter(real.to_pylist()), Counter(synthetic.to_pylist())
    return 0.5 * sum(abs(a[k] / len(real) - b[k] / len(synthetic)) for k in set(a) | set(b))


def indicator(values: pa.ChunkedArray, label: str) -> np.ndarray:
    return pc.fill_null(pc.equal(values, label), False).to_numpy(zero_copy_only=False).astype(float)


def test_registered_as_copula_with_preference_10():
    assert get_model("copula") is GaussianCopula and GaussianCopula.preference == 10


def test_sample_has_exactly_the_fitted_columns_and_types(fitted, synthetic, adult):
    assert synthetic.column_names == adult[0].column_names
    assert synthetic.schema.types == adult[0].schema.types  # BIGINT -> int64, VARCHAR -> string
    assert synthetic.num_rows == adult[0].num_rows


def test_marginals_match(synthetic, adult):
    data = adult[0]
    for name in ("age", "fnlwgt", "hours_per_week", "capital_gain"):
        assert stats.ks_2samp(data[name].to_numpy(), synthetic[name].to_numpy()).statistic < 0.05, name
    for name in ("education", "occupation", "native_country", "income"):
        assert tvd(data[name], synthetic[name]) < 0.05, name
    for name in ("workclass", "occupation", "native_country"):
        assert synthetic[name].null_count / synthetic.num_rows == pytest.approx(
            data[name].null_count / data.num_rows, abs=0.01)


def test_correlations_survive(synthetic, adult):
    data = adult[0]

    def education_income(t):
        return np.corrcoef(t["education_num"].to_numpy(), indicator(t["income"], ">50K"))[0, 1]

    def husband_male(t):
        return np.corrcoef(indicator(t["relationship"], "Husband"), indicator(t["sex"], "Male"))[0, 1]

    def missing_together(t):
        return np.corrcoef(t["workclass"].is_null().to_numpy(zero_copy_only=False),
                           t["occupation"].is_null().to_numpy(zero_copy_only=False))[0, 1]

    for relation in (education_income, husband_male):
        assert abs(relation(synthetic) - relation(data)) < 0.1, relation.__name__
    assert relation(data) > 0.3
    assert missing_together(data) > 0.99 and missing_together(synthetic) > 0.7  # NULLs stay together


def test_checks_hold(synthetic):
    assert pc.min(synthetic["age"]).as_py() >= 17 and pc.max(synthetic["age"]).as_py() <= 90
    assert set(pc.unique(synthetic["income"]).to_pylist()) == {"<=50K", ">50K"}


def test_same_seed_same_rows_other_seed_other_rows(fitted):
    first = fitted.sample(5000, seed=11)
    assert first.equals(fitted.sample(5000, seed=11))
    assert not first.equals(fitted.sample(5000, seed=12))


def test_encoded_sample_is_the_same_rows_as_dictionaries(fitted):
    """The engine's insert path asks for string categories as dictionary arrays (no per-row
    string copy); decoded, they are exactly the plain sample's values, NULLs included."""
    plain, encoded = fitted.sample(300_000, seed=9), fitted.sample(300_000, seed=9, encoded=True)
    assert pa.types.is_dictionary(encoded.schema.field("workclass").type)
    assert encoded.schema.field("age").type == plain.schema.field("age").type  # numbers stay numbers
    decoded = pa.table({c: encoded.column(c).cast(plain.schema.field(c).type) for c in encoded.column_names})
    assert decoded.equals(plain) and plain.column("workclass").null_count > 0


def test_bytes_round_trip_gives_identical_samples(fitted):
    blob = fitted.to_bytes()
    with np.load(__import__("io").BytesIO(blob), allow_pickle=False) as stored:  # plain arrays, no pickle
        assert "header" in stored.files and all(stored[k].dtype != object for k in stored.files)
    loaded = GaussianCopula.from_bytes(blob)
    assert loaded.sample(20_000, seed=5).equals(fitted.sample(20_000, seed=5))
    assert loaded.to_bytes() == blob


def test_from_bytes_refuses_garbage():
    with pytest.raises(SynthError):
        GaussianCopula.from_bytes(b"not a model")


SCHEMA_ONLY_DDL = """
CREATE TYPE mpaa AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
CREATE TABLE film (
    title VARCHAR(20) NOT NULL CHECK (length(title) >= 3),
    release_year INTEGER CHECK (release_year >= 1901 AND release_year <= 2155),
    rental_rate DECIMAL(4,2) NOT NULL CHECK (rental_rate BETWEEN 0.99 AND 4.99),
    rating mpaa,
    format VARCHAR CHECK (format IN ('dvd', 'bluray')),
    released DATE, last_update TIMESTAMPTZ NOT NULL, active BOOLEAN, features VARCHAR[]
);
"""


def test_schema_only_generation_satisfies_the_schema_in_duckdb():
    table = schema_from_ddl(SCHEMA_ONLY_DDL).table("film")
    empty = pa.table({c.name: pa.array([], type=pa.null()) for c in table.columns})
    model = GaussianCopula.from_bytes(GaussianCopula().fit(empty, table).to_bytes())
    batch = model.sample(3000, seed=2)
    assert batch.column_names == [c.name for c in table.columns]
    con = duckdb.connect()
    con.execute(SCHEMA_ONLY_DDL)
    con.register("batch", batch)
    con.execute("INSERT INTO film SELECT * FROM batch")  # DuckDB enforces types, ENUM, NOT NULL, CHECKs
    row = con.execute("""SELECT count(*) FILTER (WHERE title IS NULL OR rental_rate IS NULL),
        avg((release_year IS NULL)::INT), count(DISTINCT rating), min(released), max(released) FROM film""").fetchone()
    assert row[0] == 0 and 0.07 < row[1] < 0.13 and row[2] == 5
    assert str(row[3]) >= "2000-01-01" and str(row[4]) <= "2030-12-31"
