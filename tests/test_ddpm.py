"""USING ddpm: the diffusion model through SQL and its parts, on small slices and few epochs."""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

torch = pytest.importorskip("torch")

from test_relationships import COUNTRIES, _country_means, shop  # noqa: E402,F401  (the shared fixture)

import synthtab_db  # noqa: E402
from synthtab_db.audit import audit_schema  # noqa: E402
from synthtab_db.catalog import read_schema  # noqa: E402
from synthtab_db.engine.adjustments import adjust  # noqa: E402
from synthtab_db.models import get_model  # noqa: E402
from synthtab_db.models.ddpm import DDPM  # noqa: E402
from synthtab_db.models.ddpm.diffusion import MixedDiffusion  # noqa: E402
from synthtab_db.models.ddpm.network import Denoiser  # noqa: E402
from synthtab_db.models.ddpm.schedule import alpha_bar, sampling_times  # noqa: E402
from synthtab_db.models.neural.columns import Span  # noqa: E402
from synthtab_db.models.neural.per_sample import set_grad_samples  # noqa: E402
from synthtab_db.quality.weakness import WeakColumn, Weakness  # noqa: E402
from synthtab_db.transforms import arrow_type  # noqa: E402

FAST = "epochs = 15, batch_size = 256, hidden_dim = 64, layers = 2, sample_steps = 10"
KW = {"epochs": 40, "batch_size": 256, "hidden_dim": 64, "layers": 2, "sample_steps": 10}
COLUMNS = "age, workclass, education, occupation, hours_per_week, capital_gain, income"


@pytest.fixture
def adult(adult_path):
    con = synthtab_db.connect()
    con.execute(f"CREATE TABLE adult AS SELECT {COLUMNS} FROM read_csv('{adult_path}') LIMIT 2000")
    yield con
    con.close()


@pytest.fixture(scope="module")
def fitted(request):
    import duckdb
    from conftest import dataset

    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT {COLUMNS} FROM read_csv('{dataset('adult') / 'adult.csv'}') LIMIT 2000")
    table, data = read_schema(con).table("t"), con.sql("SELECT * FROM t").to_arrow_table()
    con.close()
    epochs: list[dict] = []
    model = DDPM(seed=4, **KW)
    model.on_epoch = epochs.append
    return model.fit(data, table), data, table, epochs


def snapshot(con):
    return con.execute("SELECT table_name, estimated_size FROM duckdb_tables() "
                       "WHERE schema_name <> 'synthtab' ORDER BY ALL").fetchall()  # not the audit trail


def test_registered_below_argn():
    assert get_model("ddpm") is DDPM and 40 < DDPM.preference < 100


def test_fit_reports_every_epoch_and_samples_the_schema_types(fitted):
    model, data, table, epochs = fitted
    assert [e["epoch"] for e in epochs] == list(range(1, 41)) and model.report["epochs"] == 40
    assert epochs[-1]["loss"] < epochs[0]["loss"], "training lowers the loss"
    synthetic = model.sample(3000, seed=1)
    assert synthetic.column_names == data.column_names
    assert [f.type for f in synthetic.schema] == [arrow_type(table.column(n).type) for n in data.column_names]


def test_same_seed_same_rows_other_seed_other_rows(fitted):
    model = fitted[0]
    assert model.sample(500, seed=3).equals(model.sample(500, seed=3))
    assert not model.sample(500, seed=3).equals(model.sample(500, seed=4))


def test_marginals_nulls_and_categories_are_learned(fitted):
    model, data, _, _ = fitted
    synthetic = model.sample(4000, seed=2)
    real_null = data.column("occupation").null_count / data.num_rows
    assert abs(synthetic.column("occupation").null_count / synthetic.num_rows - real_null) < 0.03
    real_rich = pc.mean(pc.equal(data.column("income"), ">50K")).as_py()
    assert abs(pc.mean(pc.equal(synthetic.column("income"), ">50K")).as_py() - real_rich) < 0.05
    assert abs(pc.mean(synthetic.column("age")).as_py() - pc.mean(data.column("age")).as_py()) < 3.0
    zero = pc.mean(pc.equal(data.column("capital_gain"), 0)).as_py()  # a spike of zeros survives the scores
    assert abs(pc.mean(pc.equal(synthetic.column("capital_gain"), 0)).as_py() - zero) < 0.05


def test_vocabulary_cap_bounds_each_block(fitted):
    """16 educations in 5 states (the 4 most frequent, the rest pooled), yet every value is a real one."""
    _, data, table, _ = fitted
    capped = DDPM(seed=1, max_categories=4, **{**KW, "epochs": 1}).fit(data, table)
    start, end = capped.encoder.column_spans[data.column_names.index("education")]
    assert end - start == 5
    labels = set(capped.sample(2000, seed=1).column("education").to_pylist())
    assert labels <= set(data.column("education").to_pylist())


def test_train_generate_from_synthesizer_and_table_function(adult):
    adult.execute(f"TRAIN SYNTHESIZER census ON adult USING ddpm WITH (seed = 3, {FAST})")
    adult.execute("GENERATE SYNTHETIC FROM SYNTHESIZER census ROWS 300 INTO fresh WITH (seed = 1)")
    assert adult.execute("SELECT count(*), count(DISTINCT education) > 5 FROM fresh").fetchall() == [(300, True)]
    first = adult.execute("SELECT * FROM census(200, seed := 9)").fetchall()
    assert len(first) == 200 and adult.execute("SELECT * FROM census(200, seed := 9)").fetchall() == first


def test_where_is_met_by_every_row(adult):
    adult.execute(f"GENERATE SYNTHETIC FROM adult ROWS 400 INTO rich USING ddpm WHERE income = '>50K' "
                  f"WITH (seed = 2, {FAST})")
    assert adult.execute("SELECT count(*), count(*) FILTER (WHERE income <> '>50K') FROM rich").fetchall() == [(400, 0)]


@pytest.mark.parametrize("options, message", [
    ("epochs = 0", "option 'epochs'"),
    ("schedule = 'quadratic'", "option 'schedule'"),
    ("timesteps = 10, sample_steps = 20", "sample_steps .20. must be at most timesteps .10."),
    ("layers = 0", "option 'layers'"),
    ("warmup = 3", "option 'warmup'.*allowed options:.*sample_steps"),
])
def test_bad_options_are_refused_and_leave_the_database_unchanged(adult, options, message):
    before = snapshot(adult)
    with pytest.raises(synthtab_db.SynthError, match=message):
        adult.execute(f"GENERATE SYNTHETIC FROM adult ROWS 10 INTO bad USING ddpm WITH ({options})")
    assert snapshot(adult) == before


def test_child_totals_follow_the_parents_country(shop):  # noqa: F811
    shop.execute("GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth USING ddpm "
                 "WITH (seed = 1, epochs = 40, batch_size = 128, hidden_dim = 64, layers = 2)")
    real, synth = _country_means(shop, "main"), _country_means(shop, "synth")
    spread = max(real.values()) - min(real.values())
    for country, mean in real.items():
        assert abs(synth[country] - mean) <= 0.2 * spread, f"{country} {synth[country]:.1f} vs {mean:.1f}"
    assert {k: v for k, v in audit_schema(shop.duckdb, "synth", constraints_from="main").items() if v} == {}


def test_dp_spends_the_requested_epsilon(adult):
    row = adult.execute("GENERATE SYNTHETIC FROM adult ROWS 300 INTO s USING ddpm "
                        "WITH (epsilon = 2, seed = 3, epochs = 2, batch_size = 500)").arrow().to_pylist()[0]
    assert 2 * 0.99 <= row["epsilon"] <= 2.0 and row["noise_multiplier"] > 0
    ledger = adult.execute("SELECT mechanism, epsilon FROM synthtab.privacy_ledger").fetchall()
    assert len(ledger) == 1 and ledger[0][0].startswith("ddpm: DP-SGD") and ledger[0][1] == pytest.approx(row["epsilon"])
    assert adult.execute("SELECT count(*) FROM s").fetchall()[0][0] == 300


def _diffusion() -> MixedDiffusion:
    spans = [Span(0, 1, "value"), Span(1, 3, "choice", True), Span(4, 1, "value"), Span(5, 2, "choice", True)]
    return MixedDiffusion(spans, alpha_bar("cosine", 100), torch.device("cpu"))


def test_dp_row_gradients_are_exact():
    torch.manual_seed(0)
    diffusion, net = _diffusion(), Denoiser(7, 8, 1, 4)
    x0 = diffusion.sort(torch.cat([torch.randn(5, 1), torch.eye(3)[torch.arange(5) % 3], torch.randn(5, 1),
                                   torch.eye(2)[torch.arange(5) % 2]], dim=1))
    t, eps, uniform = diffusion.draw_noise(5, torch.Generator().manual_seed(1))
    noisy = diffusion.corrupt(x0, t, eps, uniform)

    def row_loss(call, *row):
        return diffusion.row_loss(call(row[0], row[1]), row[2], row[3], row[1], row[0])

    set_grad_samples(net, row_loss, noisy, t, x0, eps)
    for i in range(5):
        net.zero_grad()
        one = slice(i, i + 1)
        diffusion.row_loss(net(noisy[one], t[one]), x0[one], eps[one], t[one], noisy[one]).sum().backward()
        for p in net.parameters():
            assert torch.allclose(p.grad_sample[i], p.grad, atol=1e-5)


def test_block_draws_are_one_hot_with_the_given_shares():
    diffusion = _diffusion()
    weights = torch.tensor([[1.0, 2.0, 7.0, 3.0, 1.0]]).repeat(40_000, 1)
    draws = diffusion.blocks.sample(weights, torch.Generator().manual_seed(0))
    assert torch.all(diffusion.blocks.totals(draws) == 1)
    assert torch.allclose(draws.mean(dim=0), torch.tensor([0.1, 0.2, 0.7, 0.75, 0.25]), atol=0.01)


def test_sampling_strides_reach_zero_in_the_asked_steps():
    assert sampling_times(1000, 4) == [(1000, 750), (750, 500), (500, 250), (250, 0)]
    assert len(sampling_times(10, 10)) == 10
    ab = alpha_bar("linear", 1000)
    assert ab[0] == 1.0 and np.all(np.diff(ab) <= 0) and ab[-1] < 1e-3


def test_feedback_loop_doubles_training_and_sampler_steps():
    options = DDPM(seed=1).options
    weak = Weakness(columns=(WeakColumn("age", "numeric", 0.8, False),))
    adjustment = adjust("ddpm", options, weak)
    assert adjustment.options["epochs"] == 600 and adjustment.options["sample_steps"] == 40
    assert any("weak numeric: age" in line for line in adjustment.changes)
