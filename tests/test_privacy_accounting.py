"""The accountant: what it reports for a noise / sample rate / step count is what opacus's own
PrivacyEngine reports after running those steps, and calibration meets a requested epsilon."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("opacus")

from opacus import PrivacyEngine  # noqa: E402

from synthtab_db.privacy.accountant import ALPHAS, Gaussian, calibrate, epsilon, standalone_noise  # noqa: E402


def _opacus_run(noise: float, batch: int, rows: int, epochs: int) -> tuple[float, float, int]:
    """Train a tiny model with opacus's own PrivacyEngine; its accountant's epsilon, sample rate, steps."""
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(rows, 3), torch.randn(rows, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=batch)
    model = torch.nn.Linear(3, 1)
    engine = PrivacyEngine(accountant="rdp")
    model, optimizer, loader = engine.make_private(module=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                                   data_loader=loader, noise_multiplier=noise, max_grad_norm=1.0)
    steps = 0
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
            steps += 1
    return engine.accountant.get_epsilon(delta=1e-5, alphas=ALPHAS), batch / rows, steps


def test_epsilon_matches_opacus_privacy_engine():
    theirs, rate, steps = _opacus_run(noise=1.1, batch=32, rows=640, epochs=2)
    assert epsilon([Gaussian(1.1, rate, steps)], 1e-5) == pytest.approx(theirs, rel=1e-9)


@pytest.mark.parametrize("target", [1.0, 10.0])
def test_calibrated_noise_meets_the_requested_epsilon_within_one_percent(target):
    statistics = Gaussian(standalone_noise(0.2 * target, 1e-6))
    noise = calibrate(target, 1e-6, sample_rate=0.04, steps=500, fixed=(statistics,))
    spent = epsilon([statistics, Gaussian(noise, 0.04, 500)], 1e-6)
    assert target * 0.99 <= spent <= target
    assert epsilon([statistics, Gaussian(noise * 0.9, 0.04, 500)], 1e-6) > target  # less noise would overspend


def test_without_other_mechanisms_calibration_is_opacus_get_noise_multiplier():
    from opacus.accountants.utils import get_noise_multiplier

    ours = calibrate(2.0, 1e-5, sample_rate=0.01, steps=1000)
    assert ours == get_noise_multiplier(target_epsilon=2.0, target_delta=1e-5, sample_rate=0.01, steps=1000,
                                        epsilon_tolerance=0.01, alphas=ALPHAS)


def _opacus_prv(history: list[tuple[float, float, int]], delta: float, eps_error: float) -> float:
    from opacus.accountants import PRVAccountant

    accountant = PRVAccountant()
    accountant.history = history
    return accountant.get_epsilon(delta=delta, eps_error=eps_error)


def test_prv_reports_opacus_prv_bound_below_rdp():
    history = [(15.0, 1.0, 1), (6.0, 0.15, 130)]
    mechanisms = [Gaussian(*h) for h in history]
    rdp = epsilon(mechanisms, 1e-6)
    prv = epsilon(mechanisms, 1e-6, accountant="prv")
    assert prv == pytest.approx(_opacus_prv(history, 1e-6, eps_error=0.01 * rdp), rel=1e-9)
    assert prv < rdp * 0.97  # the tighter accounting is what lets a run use less noise


def test_prv_calibration_meets_epsilon_with_less_noise_than_rdp():
    statistics = Gaussian(standalone_noise(0.4, 1e-6))
    rdp = calibrate(1.0, 1e-6, sample_rate=0.15, steps=130, fixed=(statistics,))
    prv = calibrate(1.0, 1e-6, sample_rate=0.15, steps=130, fixed=(statistics,), accountant="prv")
    spent = epsilon([statistics, Gaussian(prv, 0.15, 130)], 1e-6, accountant="prv")
    assert 0.99 <= spent <= 1.0
    assert prv < rdp * 0.95


def test_prv_falls_back_to_rdp_where_its_numerics_give_up():
    """Huge noise on one release: PRV's bound can't beat RDP's tiny epsilon, and is never reported above it."""
    mechanisms = [Gaussian(1e5, 1.0, 1)]
    assert epsilon(mechanisms, 1e-6, accountant="prv") <= epsilon(mechanisms, 1e-6)
