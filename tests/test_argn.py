"""USING argn on real data: a slice of UCI Adult plus a date, a decimal and an ID-like string.

One fit on the whole table (32,561 rows, 12 epochs, about 25 s on two CPU
cores) serves most tests; the other fits are tiny.  The bounds are loose
enough for so short a training, yet a model that ignores its inputs or its
marginals fails them.
"""

from __future__ import annotations

from collections import Counter

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pydantic import ValidationError
from scipy import stats

torch = pytest.importorskip("torch")

from conftest import dataset  # noqa: E402

from synthtab_db.catalog import read_schema  # noqa: E402
from synthtab_db.conditions import Condition  # noqa: E402
from synthtab_db.errors import SynthError  # noqa: E402
from synthtab_db.models import default_model, get_model  # noqa: E402
from synthtab_db.models.argn import ArgnSynthesizer  # noqa: E402
from synthtab_db.models.argn.options import ArgnOptions  # noqa: E402
from synthtab_db.models.copula import GaussianCopula  # noqa: E402
from synthtab_db.planner.ddl import schema_from_ddl  # noqa: E402
from synthtab_db.transforms import arrow_type  # noqa: E402

FAST = {"seed": 1, "epochs": 12, "max_seconds": 60}

PEOPLE = """
CREATE TABLE people AS
SELECT *,
       DATE '2000-01-01' - CAST(age * 365 + fnlwgt % 365 AS INTEGER) AS birth_date,
       CAST(hours_per_week * 1.37 + (fnlwgt % 100) / 100.0 AS DECIMAL(8, 2)) AS pay,
       'u' || substr(md5(CAST(fnlwgt * 31 + age AS VARCHAR)), 1, 10) AS handle
FROM read_csv('{csv}')
"""


@pytest.fixture(scope="module")
def people():
    """(Arrow rows, Table from the DuckDB catalog): NULLs, a DATE, a DECIMAL(8,2), an ID-like VARCHAR."""
    con = duckdb.connect()
    con.execute(PEOPLE.format(csv=dataset("adult") / "adult.csv"))
    data, table = con.sql("SELECT * FROM people").to_arrow_table(), read_schema(con).table("people")
    con.close()
    return data, table


@pytest.fixture(scope="module")
def fitted(people) -> ArgnSynthesizer:
    return ArgnSynthesizer(**FAST).fit(*people)


@pytest.fixture(scope="module")
def synthetic(fitted, people) -> pa.Table:
    return fitted.sample(people[0].num_rows, seed=3)


def tvd(real: pa.ChunkedArray, synthetic: pa.ChunkedArray) -> float:
    a, b = Counter(real.to_pylist()), Counter(synthetic.to_pylist())
    return 0.5 * sum(abs(a[k] / len(real) - b[k] / len(synthetic)) for k in set(a) | set(b))


def numbers(values: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_date(values.type):
        values = values.cast(pa.int32())
    return values.cast(pa.float64()).to_numpy()


def education_pairs_kept(real: pa.Table, synthetic: pa.Table) -> float:
    """Share of synthetic rows whose (education, education_num) pair occurs in the real data."""
    pairs = set(zip(real["education"].to_pylist(), real["education_num"].to_pylist()))
    found = zip(synthetic["education"].to_pylist(), synthetic["education_num"].to_pylist())
    return float(np.mean([pair in pairs for pair in found]))


def test_registered_as_the_default_model(monkeypatch):
    monkeypatch.delenv("SYNTHTAB_DEFAULT_MODEL", raising=False)  # the tests' quick default
    assert get_model("argn") is ArgnSynthesizer and ArgnSynthesizer.preference == 100
    # the default is auto (models/auto.py): argn for big or mostly categorical tables, the copula otherwise
    assert default_model() == "auto" and ArgnSynthesizer.supports_conditions


def test_sample_has_exactly_the_fitted_columns_typed_like_the_copula(synthetic, people):
    data, table = people
    assert synthetic.column_names == data.column_names and synthetic.num_rows == data.num_rows
    assert [f.type for f in synthetic.schema] == [arrow_type(table.column(n).type) for n in data.column_names]


def test_marginals_close_to_the_real_ones(synthetic, people):
    data = people[0]
    for name in ("age", "fnlwgt", "hours_per_week", "birth_date", "pay"):
        assert stats.ks_2samp(numbers(data[name]), numbers(synthetic[name])).statistic < 0.06, name
    for name in ("education", "occupation", "native_country", "income", "relationship"):
        assert tvd(data[name], synthetic[name]) < 0.06, name
    for name in ("workclass", "occupation", "native_country"):
        real_rate, synthetic_rate = data[name].null_count / len(data), synthetic[name].null_count / len(synthetic)
        assert real_rate > 0 and abs(real_rate - synthetic_rate) < 0.015, name


def test_capital_gain_keeps_its_zero_mass_and_its_tail(synthetic, people):
    real, fake = numbers(people[0]["capital_gain"]), numbers(synthetic["capital_gain"])
    assert abs(np.mean(real == 0) - np.mean(fake == 0)) < 0.02
    assert np.quantile(fake, 0.99) == pytest.approx(np.quantile(real, 0.99), rel=0.35)
    assert fake.max() <= real.max() and set(np.unique(fake)) <= set(np.unique(real))


def test_learns_the_education_to_education_num_mapping_that_the_copula_loses(synthetic, people):
    data, table = people
    copula = GaussianCopula(seed=1).fit(data, table).sample(data.num_rows, seed=3)
    assert education_pairs_kept(data, synthetic) > 0.97
    assert education_pairs_kept(data, copula) < 0.8


def test_id_like_column_is_one_pooled_token_not_a_huge_softmax(fitted, synthetic, people):
    position = people[0].column_names.index("handle")
    real = set(people[0]["handle"].to_pylist())
    assert len(real) > 25_000 and fitted.encoding.vocabulary[position] <= 50  # the few repeated 5+ times
    assert set(synthetic["handle"].to_pylist()) <= real  # drawn from the pooled values, never invented


def test_same_seed_same_rows_and_another_seed_other_rows(fitted):
    first, again, other = fitted.sample(3000, seed=11), fitted.sample(3000, seed=11), fitted.sample(3000, seed=12)
    assert first.equals(again)
    assert not first.equals(other)


def test_same_seed_same_fit(people):
    data, table = people
    options = {**FAST, "epochs": 2}
    a = ArgnSynthesizer(**options).fit(data.slice(0, 2000), table).sample(500, seed=5)
    b = ArgnSynthesizer(**options).fit(data.slice(0, 2000), table).sample(500, seed=5)
    assert a.equals(b)


def test_bytes_round_trip_gives_identical_samples(fitted):
    blob = fitted.to_bytes()
    loaded = ArgnSynthesizer.from_bytes(blob)
    conditions = {"age": Condition(column="age", low=30, high=40)}
    assert loaded.sample(2000, seed=4).equals(fitted.sample(2000, seed=4))
    assert loaded.sample(500, seed=4, conditions=conditions).equals(fitted.sample(500, seed=4, conditions=conditions))
    assert blob[:2] == b"PK"  # a torch zip archive of tensors, read back with weights_only=True
    with pytest.raises(SynthError, match="not a saved argn"):
        ArgnSynthesizer.from_bytes(b"not a model")


def test_rare_condition_is_sampled_from_the_conditional_not_the_marginal(fitted, people):
    """About 2% of the rows are Mexican, with far less schooling and income than the rest:
    the synthetic Mexican rows follow the conditional, for columns that the fixed order puts
    before native_country (education) as well as after it (income)."""
    data = people[0]
    mexico = data.filter(pc.equal(data["native_country"], "Mexico"))
    assert 0.01 < mexico.num_rows / data.num_rows < 0.03
    condition = Condition(column="native_country", values=("Mexico",))
    sample = fitted.sample(2000, seed=5, conditions={"native_country": condition})
    assert sample.num_rows == 2000 and set(sample["native_country"].to_pylist()) == {"Mexico"}
    for name in ("education", "income"):
        assert tvd(mexico[name], sample[name]) < 0.5 * tvd(data[name], sample[name]), name


def test_range_date_and_null_conditions_hold_on_every_row(fitted, people):
    conditions = {
        "age": Condition(column="age", low=30, high=40, high_inclusive=False),
        "pay": Condition(column="pay", low=50.5),
        "workclass": Condition(column="workclass", is_null=True),
        "birth_date": Condition(column="birth_date", high="1965-06-30"),
    }
    sample = fitted.sample(1500, seed=6, conditions=conditions)
    age = numbers(sample["age"])
    assert age.min() >= 30 and age.max() <= 39 and len(np.unique(age)) > 3
    assert numbers(sample["pay"]).min() >= 50.5
    assert sample["workclass"].null_count == 1500
    assert max(sample["birth_date"].to_pylist()).isoformat() <= "1965-06-30"
    # a NULL workclass goes with a NULL occupation in Adult: the condition carries that along
    assert sample["occupation"].null_count / 1500 > 0.9


def test_condition_on_an_unknown_category_lists_the_allowed_values(fitted):
    with pytest.raises(SynthError, match="Atlantis.*allowed values: 'United-States', 'Mexico'"):
        fitted.sample(10, seed=1, conditions={"native_country": Condition(column="native_country",
                                                                          values=("Atlantis",))})
    with pytest.raises(SynthError, match="outside|no learned value"):
        fitted.sample(10, seed=1, conditions={"age": Condition(column="age", low=200)})


def test_cuda_without_a_gpu_is_a_clear_error(people):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present here")
    with pytest.raises(SynthError, match="cuda"):
        ArgnSynthesizer(device="cuda", epochs=1).fit(people[0].slice(0, 100), people[1])


def test_options_are_validated():
    with pytest.raises(ValidationError):
        ArgnOptions(epochs=0)
    with pytest.raises(SynthError, match="epochs"):
        ArgnSynthesizer(epochs=0)
    with pytest.raises(SynthError, match="bogus"):
        ArgnSynthesizer(bogus=1)


def test_progress_hook_sees_every_epoch_and_max_seconds_bounds_training(people):
    data, table = people
    seen: list[dict] = []
    model = ArgnSynthesizer(seed=1, epochs=1000, max_seconds=1.0, progress=seen.append).fit(data, table)
    assert model.fit_report.stopped == "max_seconds" and seen and seen[-1]["seconds"] < 10
    assert set(seen[0]) == {"epoch", "loss", "val_loss", "seconds"} and [r["epoch"] for r in seen] == list(
        range(1, len(seen) + 1))


def test_keyboard_interrupt_during_training_propagates(people):
    model = ArgnSynthesizer(seed=1, epochs=5)

    def interrupt(report: dict) -> None:
        raise KeyboardInterrupt

    model.on_epoch = interrupt
    with pytest.raises(KeyboardInterrupt):
        model.fit(people[0].slice(0, 500), people[1])


def test_zero_rows_generates_from_the_schema():
    table = schema_from_ddl("""
        CREATE TABLE t (age INTEGER NOT NULL CHECK (age BETWEEN 17 AND 90), grade VARCHAR CHECK (grade IN ('a', 'b')),
                        joined DATE, amount DECIMAL(6, 2) CHECK (amount >= 0));
    """).table("t")
    empty = pa.table({"age": pa.array([], pa.int64()), "grade": pa.array([], pa.string()),
                      "joined": pa.array([], pa.date32()), "amount": pa.array([], pa.float64())})
    model = ArgnSynthesizer.from_bytes(ArgnSynthesizer(seed=1).fit(empty, table).to_bytes())
    sample = model.sample(400, seed=1)
    age = numbers(sample["age"])
    assert sample.num_rows == 400 and age.min() >= 17 and age.max() <= 90
    assert set(sample["grade"].drop_null().to_pylist()) <= {"a", "b"} and sample["age"].null_count == 0
    assert numbers(sample["amount"].drop_null()).min() >= 0
    only_b = model.sample(50, seed=2, conditions={"grade": Condition(column="grade", values=("b",))})
    assert set(only_b["grade"].to_pylist()) == {"b"}


def test_zero_rows_requested_gives_an_empty_typed_table(fitted, people):
    empty = fitted.sample(0, seed=1)
    assert empty.num_rows == 0 and empty.schema.names == people[0].column_names


def test_generate_where_through_sql_samples_the_condition(con, adult_path):
    con.execute(f"CREATE TABLE adult AS SELECT * FROM read_csv('{adult_path}') LIMIT 3000")
    result = con.execute("GENERATE SYNTHETIC FROM adult ROWS 300 USING argn WHERE native_country = 'Mexico' "
                         "AND age >= 40 WITH (seed = 1, epochs = 3, max_seconds = 20)").fetchall()
    assert result[0][2:4] == (300, "argn")
    assert con.execute("SELECT count(*), min(age), count(DISTINCT native_country), any_value(native_country) "
                       "FROM synth_adult").fetchall() == [(300, 40, 1, "Mexico")]


def test_weight_average_follows_the_weights_and_warms_up():
    """The kept model is an average of the steps' weights: it moves toward each step's
    weights by 1 - decay, with a smaller decay over the first steps (a short fit tracks)."""
    from synthtab_db.models.argn.training import WeightAverage

    source = torch.nn.Linear(2, 1)
    average = WeightAverage(source, 0.99)
    before = source.weight.detach().clone()
    with torch.no_grad():
        source.weight.add_(1.0)
    average.update()  # step 0: decay min(0.99, 1/10) = 0.1
    assert torch.allclose(average.network.weight, before + 0.9)
    assert average.network is not source and WeightAverage(source, 0.0).network is source
