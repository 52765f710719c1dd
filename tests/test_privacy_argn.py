"""argn's DP-SGD: the dense training loss is the network's loss, ghost-clipping norms and the
clipped sum equal those from exact per-row gradients, and a DP fit spends what was asked."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("opacus")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from synthtab_db.models.argn.network import ArgnNetwork  # noqa: E402
from synthtab_db.models.argn.private_training import batch_losses, clipped_losses, ghost_norms  # noqa: E402


def _network_and_batch(rows: int = 6):
    torch.manual_seed(0)
    vocabulary = [5, 3, 7, 4]
    network = ArgnNetwork(vocabulary, embedding_dim=4, hidden_dim=8, dropout=0.0)
    generator = torch.Generator().manual_seed(1)
    tokens = torch.stack([torch.randint(v, (rows,), generator=generator) for v in vocabulary], dim=1)
    keys = torch.rand(rows, len(vocabulary), generator=generator)
    return network, tokens, keys


def _row_gradients(network, tokens, keys) -> list[list[torch.Tensor]]:
    """Exact per-row gradients by one autograd pass per row (the reference)."""
    grads = []
    for i in range(len(tokens)):
        network.zero_grad()
        network.losses(tokens[i:i + 1], keys[i:i + 1]).sum().backward()
        grads.append([p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in network.parameters()])
    return grads


def test_dense_loss_is_the_networks_loss():
    network, tokens, keys = _network_and_batch()
    network.eval()
    dense = batch_losses(network, tokens, keys).losses
    reference = torch.stack([network.losses(tokens[i:i + 1], keys[i:i + 1]).sum() for i in range(len(tokens))])
    assert torch.allclose(dense, reference, atol=1e-5)


def test_ghost_norms_match_exact_per_row_gradients():
    network, tokens, keys = _network_and_batch()
    network.eval()
    exact = torch.stack([sum((g * g).sum() for g in row) for row in _row_gradients(network, tokens, keys)])
    ghost = ghost_norms(network, batch_losses(network, tokens, keys))
    assert torch.allclose(ghost, exact, rtol=1e-4)


def test_clipped_sum_matches_clipping_each_row():
    network, tokens, keys = _network_and_batch()
    network.eval()
    bound = 0.5
    rows = _row_gradients(network, tokens, keys)
    expected = [torch.zeros_like(p) for p in network.parameters()]
    for row in rows:
        norm = torch.sqrt(sum((g * g).sum() for g in row))
        assert norm > bound  # the test clips something
        for total, g in zip(expected, row):
            total += g * min(1.0, bound / (float(norm) + 1e-6))
    network.zero_grad()
    losses, factors = clipped_losses(network, tokens, keys, bound)
    (losses * factors).sum().backward()
    for p, want in zip(network.parameters(), expected):
        got = p.grad if p.grad is not None else torch.zeros_like(p)
        assert torch.allclose(got, want, atol=1e-5)


def test_dp_fit_spends_the_requested_epsilon(adult_slice):
    from synthtab_db.models import get_model
    from synthtab_db.privacy.accountant import epsilon

    data, table = adult_slice
    model = get_model("argn")(seed=3, epsilon=4.0, epochs=1, max_seconds=60)
    model.fit(data, table)
    spent, _ = model.privacy.spent()
    assert 4.0 * 0.99 <= spent <= 4.0
    assert spent == pytest.approx(epsilon(model.privacy.mechanisms, model.privacy.rdp_delta))
    assert model.privacy.noise_multiplier > 0
    assert model.fit_report.stopped == "epochs"
    sample = model.sample(200, seed=1)
    assert sample.num_rows == 200 and sample.column_names == data.column_names


@pytest.fixture(scope="module")
def adult_slice():
    import duckdb
    from conftest import dataset

    from synthtab_db.catalog import read_schema

    path = dataset("adult") / "adult.csv"
    con = duckdb.connect()
    con.execute(f"CREATE TABLE adult AS SELECT age, workclass, education, hours_per_week, income "
                f"FROM read_csv('{path}') LIMIT 2000")
    table = read_schema(con).table("adult")
    data: pa.Table = con.sql("SELECT * FROM adult").to_arrow_table()
    return data, table



def test_match_marginals_moves_sampled_marginals_onto_the_released_ones():
    from synthtab_db.models.argn.marginals import match_marginals
    from synthtab_db.models.argn.sampling import NetworkSampler

    network, _, _ = _network_and_batch()
    network.eval()
    priors = [np.array(p, dtype=float) for p in ([0.5, 0.2, 0.1, 0.1, 0.1], [0.7, 0.2, 0.1],
                                                 [0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2], [0.4, 0.3, 0.2, 0.1])]
    generator = torch.Generator().manual_seed(0)

    def gap() -> float:
        drawn = NetworkSampler(network, [0, 1, 2, 3], {}, torch.device("cpu")).tokens(20_000, generator)
        return max(float(np.abs(np.bincount(drawn[:, j].numpy(), minlength=p.size) / 20_000 - p).max())
                   for j, p in enumerate(priors))

    before = gap()
    match_marginals(network, priors, [0, 1, 2, 3], generator)
    assert before > 0.05 and gap() < 0.02
