"""USING ctgan and USING tvae on real data, kept fast: a slice of UCI Adult plus
derived columns of every kind the models must handle (dates with NULLs, a
timestamp, a decimal, a boolean, an ID-like string column), a few epochs each.
"""

from __future__ import annotations

import io
import sys

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

torch = pytest.importorskip("torch")

from conftest import dataset  # noqa: E402

from synthtab_db.errors import SynthError  # noqa: E402
from synthtab_db.models.ctgan import CTGAN  # noqa: E402
from synthtab_db.models.neural.columns import CHOICE  # noqa: E402
from synthtab_db.models.registry import available_models, get_model  # noqa: E402
from synthtab_db.models.tvae import TVAE  # noqa: E402
from synthtab_db.planner.ddl import schema_from_ddl  # noqa: E402
from synthtab_db.transforms import arrow_type  # noqa: E402

MODELS = {"ctgan": CTGAN, "tvae": TVAE}
ROWS = 3000
FAST = {"seed": 7, "epochs": 20, "batch_size": 500, "hidden_dim": 64, "embedding_dim": 32}

PEOPLE_DDL = """
CREATE TABLE people (
    person_id VARCHAR NOT NULL, age BIGINT NOT NULL CHECK (age BETWEEN 17 AND 90), workclass VARCHAR,
    fnlwgt BIGINT NOT NULL, education VARCHAR NOT NULL, occupation VARCHAR, sex VARCHAR NOT NULL,
    capital_gain BIGINT NOT NULL, hours_per_week BIGINT NOT NULL, native_country VARCHAR,
    income VARCHAR NOT NULL CHECK (income IN ('<=50K', '>50K')),
    hired DATE, updated TIMESTAMP NOT NULL, hourly_rate DECIMAL(8,2) NOT NULL, rich BOOLEAN NOT NULL
);
"""

DERIVED = """
SELECT 'P-' || lpad(CAST(row_number() OVER () * 7919 AS VARCHAR), 9, '0') AS person_id,
       age, workclass, fnlwgt, education, occupation, sex, capital_gain, hours_per_week, native_country, income,
       CASE WHEN occupation IS NULL OR fnlwgt % 17 = 0 THEN NULL
            ELSE DATE '1990-01-01' + CAST(age * 120 + fnlwgt % 365 AS INTEGER) END AS hired,
       TIMESTAMP '2024-01-01' + to_seconds(fnlwgt % 31536000) AS updated,
       CAST(round(hours_per_week * 0.75 + education_num * 1.5 + fnlwgt % 100 / 100.0, 2) AS DECIMAL(8,2)) AS hourly_rate,
       capital_gain > 5000 OR income = '>50K' AS rich
FROM read_csv('{path}') LIMIT {rows}
"""


@pytest.fixture(scope="module")
def people():
    path = dataset("adult") / "adult.csv"
    data = duckdb.sql(DERIVED.format(path=path, rows=ROWS)).to_arrow_table()
    table = schema_from_ddl(PEOPLE_DDL).table("people")
    return data, table


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request, people):
    data, table = people
    return MODELS[request.param](**FAST).fit(data, table)


def null_rate(values: pa.ChunkedArray) -> float:
    return values.null_count / len(values)


def tvd(real: pa.ChunkedArray, synthetic: pa.ChunkedArray) -> float:
    a = dict(zip(*[x.to_pylist() for x in pc.value_counts(real).flatten()]))
    b = dict(zip(*[x.to_pylist() for x in pc.value_counts(synthetic).flatten()]))
    return 0.5 * sum(abs(a.get(k, 0) / len(real) - b.get(k, 0) / len(synthetic)) for k in set(a) | set(b))


def test_registered_with_preferences():
    assert get_model("ctgan") is CTGAN and CTGAN.preference == 50
    assert get_model("tvae") is TVAE and TVAE.preference == 40
    assert {"ctgan", "tvae"} <= set(available_models())


def test_columns_types_and_row_count(fitted, people):
    data, table = people
    synthetic = fitted.sample(2000, seed=1)
    assert synthetic.num_rows == 2000
    assert synthetic.column_names == data.column_names
    assert [f.type for f in synthetic.schema] == [arrow_type(table.column(n).type) for n in data.column_names]


def test_values_respect_the_schema_and_nulls_stay_sane(fitted, people):
    data, _ = people
    synthetic = fitted.sample(4000, seed=2)
    for name in ("workclass", "occupation", "native_country", "hired"):
        real, fake = null_rate(data[name]), null_rate(synthetic[name])
        assert 0.0 < fake < 0.5 and abs(fake - real) < 0.15, name
    for name in ("person_id", "age", "fnlwgt", "education", "updated", "hourly_rate", "rich", "income"):
        assert synthetic[name].null_count == 0, name
    assert 17 <= pc.min(synthetic["age"]).as_py() and pc.max(synthetic["age"]).as_py() <= 90
    assert set(pc.unique(synthetic["income"]).to_pylist()) <= {"<=50K", ">50K"}
    rates = synthetic["hourly_rate"].to_numpy()
    assert np.allclose(rates, np.round(rates, 2))  # DECIMAL(8,2): two decimals
    low, high = pc.min_max(data["hired"]).values()
    assert pc.all(pc.and_(pc.greater_equal(synthetic["hired"], low), pc.less_equal(synthetic["hired"], high))).as_py()
    assert tvd(data["sex"], synthetic["sex"]) < 0.35  # a few epochs learn at least the gross marginals


def test_id_like_strings_are_never_one_hot_without_bound(fitted, people):
    data, _ = people
    assert pc.count_distinct(data["person_id"]).as_py() == ROWS
    assert fitted.encoder.width < 250  # ~3000 distinct IDs pooled into the rare bucket
    assert all(span.width <= 101 for span in fitted.encoder.spans if span.kind == CHOICE)
    synthetic = fitted.sample(500, seed=3)
    assert set(synthetic["person_id"].to_pylist()) <= set(data["person_id"].to_pylist())  # real values, by frequency


def test_same_seed_same_rows_other_seed_other_rows(fitted):
    first = fitted.sample(3000, seed=11)
    assert first.equals(fitted.sample(3000, seed=11))
    assert not first.equals(fitted.sample(3000, seed=12))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_training_seed_reproduces_the_model(name, people):
    data, table = people
    small = data.slice(0, 1000)
    a, b, c = (MODELS[name](**{**FAST, "epochs": 1, "seed": s}).fit(small, table) for s in (5, 5, 6))
    assert a.sample(1000, seed=1).equals(b.sample(1000, seed=1))
    assert not a.sample(1000, seed=1).equals(c.sample(1000, seed=1))


def test_bytes_round_trip_gives_identical_samples(fitted):
    blob = fitted.to_bytes()
    state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)  # plain tensors only
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    loaded = type(fitted).from_bytes(blob)
    assert loaded.sample(5000, seed=4).equals(fitted.sample(5000, seed=4))
    assert loaded.sample(0).num_rows == 0


def test_from_bytes_refuses_garbage_and_other_models(fitted):
    with pytest.raises(SynthError, match="not a saved"):
        type(fitted).from_bytes(b"not a model")
    other = TVAE if isinstance(fitted, CTGAN) else CTGAN
    with pytest.raises(SynthError, match="this version reads"):
        other.from_bytes(fitted.to_bytes())


def test_no_batch_norm_anywhere(fitted):
    modules = [m for net in fitted._networks().values() for m in net.modules()]
    assert len(modules) > 3
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in modules)
    assert "no BatchNorm" in sys.modules[type(fitted).__module__].__doc__  # and the reason is written down


@pytest.mark.parametrize("name", sorted(MODELS))
def test_epoch_hook_time_bound_and_interrupt(name, people):
    data, table = people
    seen = []
    model = MODELS[name](**{**FAST, "epochs": 10_000, "max_seconds": 0.5})
    model.on_epoch = seen.append
    model.fit(data, table)
    assert model.report["stopped_by_time"] and 1 <= model.report["epochs"] < 10_000
    assert seen and set(seen[-1]) == {"epoch", "loss", "seconds"} and seen[-1]["epoch"] == model.report["epochs"]

    def interrupt(info):
        raise KeyboardInterrupt

    model = MODELS[name](**FAST)
    model.on_epoch = interrupt
    with pytest.raises(KeyboardInterrupt):
        model.fit(data.slice(0, 500), table)


SCHEMA_ONLY_DDL = """
CREATE TYPE mpaa AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
CREATE TABLE film (
    title VARCHAR(20) NOT NULL CHECK (length(title) >= 3),
    release_year INTEGER CHECK (release_year >= 1901 AND release_year <= 2155),
    rental_rate DECIMAL(4,2) NOT NULL CHECK (rental_rate BETWEEN 0.99 AND 4.99),
    rating mpaa, released DATE, last_update TIMESTAMPTZ NOT NULL, active BOOLEAN
);
"""


@pytest.mark.parametrize("name", sorted(MODELS))
def test_zero_rows_means_schema_only_generation(name):
    table = schema_from_ddl(SCHEMA_ONLY_DDL).table("film")
    empty = pa.table({c.name: pa.array([], type=pa.null()) for c in table.columns})
    model = MODELS[name].from_bytes(MODELS[name](seed=1).fit(empty, table).to_bytes())
    batch = model.sample(2000, seed=2)
    assert batch.column_names == [c.name for c in table.columns]
    con = duckdb.connect()
    con.execute(SCHEMA_ONLY_DDL)
    con.register("batch", batch)
    con.execute("INSERT INTO film SELECT * FROM batch")  # DuckDB enforces types, ENUM, NOT NULL, CHECKs
    assert con.execute("SELECT count(*), count(DISTINCT rating) FROM film").fetchone() == (2000, 5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bad_options_are_clear_errors(name):
    cls = MODELS[name]
    with pytest.raises(SynthError, match="'epochs'.*greater than or equal to 1"):
        cls(epochs=0)
    with pytest.raises(SynthError, match="'colour'.*allowed options:.*max_seconds"):
        cls(colour="red")
    with pytest.raises(SynthError, match="'max_seconds'"):
        cls(max_seconds=0)
    if not torch.cuda.is_available():
        with pytest.raises(SynthError, match="cuda"):
            cls(device="cuda")
    assert cls(device="auto").device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_ctgan_pac_must_divide_the_batch():
    with pytest.raises(SynthError, match="multiple of pac"):
        CTGAN(batch_size=505, pac=10)
    assert CTGAN(batch_size=505, pac=5).settings.pac == 5


@pytest.mark.parametrize("name", sorted(MODELS))
def test_generate_statement_using_the_model(con, name):
    """End to end through SQL: a Chinook table with NULLs, a timestamp, a decimal and address strings."""
    from synthtab_db.datasets import load_relational

    load_relational(con.duckdb, dataset("chinook"))
    con.execute(
        f"GENERATE SYNTHETIC FROM invoice ROWS 300 INTO fake USING {name} WITH (seed = 3, epochs = 2, max_seconds = 20)"
    )
    total, states, low, high = con.execute(
        "SELECT count(*), count(billing_state), min(total), max(total) FROM fake"
    ).fetchone()
    assert total == 300 and 0 < states < 300 and 0 < low <= high
    with pytest.raises(SynthError, match="epochs"):
        con.execute(f"GENERATE SYNTHETIC FROM invoice ROWS 10 INTO fake2 USING {name} WITH (epochs = 0)")
