"""DP-SGD for tvae and ctgan: per-row gradients are exact, a DP run spends what it asked (through
SQL, result set and ledger), nothing from a single record or a single parent reaches the output."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("opacus")

import numpy as np  # noqa: E402
from test_privacy_protection import EXTREME, UNIQUE, planted  # noqa: E402,F401  (the shared fixture)
from test_privacy_units import _shop  # noqa: E402

import synthtab_db  # noqa: E402
from synthtab_db.models.ctgan.networks import Critic  # noqa: E402
from synthtab_db.models.ctgan.private import RowConditions, critic_row_loss  # noqa: E402
from synthtab_db.models.neural.columns import Span  # noqa: E402
from synthtab_db.models.neural.layers import OutputLayout  # noqa: E402
from synthtab_db.models.neural.per_sample import set_grad_samples  # noqa: E402
from synthtab_db.models.tvae.loss import negative_elbo  # noqa: E402
from synthtab_db.models.tvae.model import _RowLoss  # noqa: E402
from synthtab_db.models.tvae.networks import Decoder, Encoder  # noqa: E402

MODELS = ["tvae", "ctgan"]
FAST = ", epochs = 2, batch_size = 500"


def _layout() -> OutputLayout:
    return OutputLayout([Span(0, 1, "value"), Span(1, 3, "choice"), Span(4, 2, "choice", True)], torch.device("cpu"))


def _rows(n: int = 5) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    value = torch.rand(n, 1, generator=generator) * 2 - 1
    return torch.cat([value, torch.eye(3)[torch.arange(n) % 3], torch.eye(2)[torch.arange(n) % 2]], dim=1)


def _exact(module, row_loss, *rows) -> list[list[torch.Tensor]]:
    """Reference per-row gradients: one autograd pass per row."""
    out = []
    for i in range(len(rows[0])):
        module.zero_grad()
        row_loss(module, *(r[i:i + 1] for r in rows)).sum().backward()
        out.append([p.grad.clone() for p in module.parameters()])
    return out


def _assert_grad_samples(module, exact) -> None:
    for k, p in enumerate(module.parameters()):
        assert torch.allclose(p.grad_sample, torch.stack([row[k] for row in exact]), atol=1e-5)


def test_tvae_row_losses_average_to_the_training_loss_and_have_exact_gradients():
    torch.manual_seed(0)
    loss = _RowLoss(Encoder(6, 8, 3), Decoder(3, 8, 6), _layout(), 2.0)
    x, eps = _rows(), torch.randn(5, 3)
    mean, log_var = loss.encoder(x)
    raw = loss.decoder(mean + eps * torch.exp(0.5 * log_var))
    elbo = negative_elbo(loss.layout, x, raw, loss.decoder.sigma, mean, log_var, 2.0)
    assert torch.allclose(loss(x, eps).mean(), elbo)
    set_grad_samples(loss, lambda call, row, e: call(row, e), x, eps)
    _assert_grad_samples(loss, _exact(loss, lambda m, row, e: m(row, e), x, eps))
    assert loss.decoder.sigma.grad_sample.abs().sum() > 0, "sigma is learned under DP too"


def test_ctgan_critic_row_gradients_include_the_gradient_penalty_exactly():
    torch.manual_seed(0)
    critic = Critic(6, (8, 8), 1).eval()  # no dropout, so the reference sees the same function
    true, fake, alpha = _rows(), torch.randn(5, 6), torch.rand(5, 1)
    set_grad_samples(critic, critic_row_loss, true, fake, alpha)

    def reference(module, t, f, a):
        mixed = (a * t + (1 - a) * f).requires_grad_(True)
        (slope,) = torch.autograd.grad(module(mixed).sum(), mixed, create_graph=True)
        return module(f).sum() - module(t).sum() + 10.0 * (slope.norm() - 1.0) ** 2

    _assert_grad_samples(critic, _exact(critic, reference, true, fake, alpha))


def test_each_real_row_is_given_a_condition_it_holds():
    codes = [np.array([0, 2, -1, 1]), np.array([1, 0, 1, 1])]  # a category column (NULL: -1), a NULL flag
    conditions = RowConditions(codes, np.array([3, 2]), torch.device("cpu"))
    cond = conditions.of(torch.arange(4), torch.Generator().manual_seed(0))
    assert torch.all(cond.sum(dim=1) == 1)
    for row, hot in enumerate(cond.argmax(dim=1).tolist()):
        span, category = (0, hot) if hot < 3 else (1, hot - 3)
        assert codes[span][row] == category
    assert cond[2].argmax() == 3 + 1, "the row whose category is NULL is conditioned on its NULL flag"


@pytest.fixture
def adult(adult_path):
    con = synthtab_db.connect()
    con.execute(f"CREATE TABLE adult AS SELECT age, workclass, education, hours_per_week, income "
                f"FROM read_csv('{adult_path}') LIMIT 2000")
    yield con
    con.close()


@pytest.mark.parametrize("model", MODELS)
def test_dp_generate_spends_the_requested_epsilon_and_writes_the_ledger(adult, model):
    row = adult.execute(f"GENERATE SYNTHETIC FROM adult ROWS 500 INTO s USING {model} "
                        f"WITH (epsilon = 2, seed = 3{FAST})").arrow().to_pylist()[0]
    assert 2 * 0.99 <= row["epsilon"] <= 2.0
    assert row["noise_multiplier"] > 0 and row["max_grad_norm"] == 1.0 and 0 < row["delta"] < 1 / 2000
    ledger = adult.execute("SELECT source, mechanism, epsilon FROM synthtab.privacy_ledger").fetchall()
    assert len(ledger) == 1 and ledger[0][1].startswith(f"{model}: DP-SGD")
    assert ledger[0][2] == pytest.approx(row["epsilon"])
    assert adult.execute("SELECT count(*) FROM s").fetchall()[0][0] == 500


@pytest.mark.parametrize("model", MODELS)
def test_a_trained_dp_model_generates_without_spending_again(adult, model):
    adult.execute(f"TRAIN SYNTHESIZER dp ON adult USING {model} WITH (epsilon = 1, seed = 2{FAST})")
    adult.execute("GENERATE SYNTHETIC FROM SYNTHESIZER dp ROWS 300 INTO out")
    assert adult.execute("SELECT count(*) FROM out").fetchall()[0][0] == 300
    assert adult.execute("SELECT count(*) FROM synthtab.privacy_ledger").fetchall()[0][0] == 1


@pytest.mark.parametrize("model", MODELS)
def test_planted_unique_and_extreme_never_appear(planted, model):  # noqa: F811
    planted.execute(f"GENERATE SYNTHETIC FROM t ROWS 6000 INTO s USING {model} WITH (epsilon = 4, seed = 5{FAST})")
    labels = {r[0] for r in planted.execute("SELECT DISTINCT label FROM s").fetchall()}
    assert UNIQUE not in labels and {"alpha", "beta", "gamma"} <= labels
    assert labels <= {"alpha", "beta", "gamma", "_RARE_", None}
    low, high = planted.execute("SELECT min(amount), max(amount) FROM s").fetchall()[0]
    assert high < 2048 and low >= 64 and high < EXTREME


@pytest.mark.parametrize("model", MODELS)
def test_a_child_table_under_dp_protects_its_parents(model):
    """One customer's 400 orders carry a channel nobody else uses: bounded to 8 rows per parent,
    it stays below the release threshold; children per parent are capped; half of epsilon each."""
    con = synthtab_db.connect()
    _shop(con.duckdb, 400)
    result = con.execute(f"GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA dp USING {model} "
                         f"WITH (epsilon = 4, seed = 1{FAST})").arrow().to_pylist()
    orders = next(r for r in result if r["table"] == "dp.orders")
    assert orders["epsilon"] == pytest.approx(2.0, rel=0.01)
    assert con.duckdb.execute("SELECT count(*) FROM dp.orders WHERE channel = 'secret-channel'").fetchall()[0][0] == 0
    most = con.duckdb.execute("SELECT max(n) FROM (SELECT count(*) n FROM dp.orders WHERE customer_id IS NOT NULL "
                              "GROUP BY customer_id)").fetchall()[0][0]
    assert most <= 8
    assert len(con.duckdb.execute("SELECT * FROM synthtab.privacy_ledger").fetchall()) == 2


def test_ctgan_refuses_packs_under_dp():
    from synthtab_db.models import get_model

    with pytest.raises(synthtab_db.SynthError, match="ctgan option 'pac'"):
        get_model("ctgan")(epsilon=1, pac=10)
    assert get_model("ctgan")(epsilon=1).settings.pac == 10  # the DP default (1) is applied at fit time


@pytest.mark.parametrize("model", MODELS)
def test_dp_output_biases_are_matched_to_the_released_marginals(adult_path, model):
    """Post-processing of the release: after a DP fit, each softmax block's sampled shares (the
    mean softmax over draws) are the released ones, however little the noisy steps learned."""
    import duckdb

    from synthtab_db.catalog import read_schema
    from synthtab_db.models import get_model

    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT workclass, education, income FROM read_csv('{adult_path}') LIMIT 2000")
    table, data = read_schema(con).table("t"), con.sql("SELECT * FROM t").to_arrow_table()
    con.close()
    fitted = get_model(model)(epsilon=4, seed=1, epochs=1, batch_size=500)
    fitted.fit(data, table)
    raw = fitted._raw(20_000, torch.Generator().manual_seed(9))
    shares = fitted.layout.log_softmax(raw).exp().mean(dim=0).detach().numpy()
    spans = [s for s in fitted.encoder.spans if s.kind == "choice"]
    for span, target in zip(spans, fitted.encoder.choice_targets()):
        assert np.allclose(shares[span.start:span.end], np.maximum(target, 1e-6), atol=0.01)
