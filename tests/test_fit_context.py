"""The synthesizer contract: abilities declared on the class, one frozen FitContext per fit,
DP set up once outside the model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pytest

from synthtab_db.models import available_models, get_model
from synthtab_db.models.copula import GaussianCopula
from synthtab_db.models.fit_context import FitContext, SampleInfo
from synthtab_db.planner.ddl import schema_from_ddl
from synthtab_db.privacy.accountant import Gaussian
from synthtab_db.privacy.setup import fit_privacy

TABLE = schema_from_ddl("CREATE TABLE t (x DOUBLE, c VARCHAR)", dialect="duckdb").tables[0]


def rows(n: int) -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table({"x": rng.normal(size=n), "c": rng.choice(["a", "b", "c"], size=n).tolist()})


@pytest.mark.parametrize("name", available_models())
def test_each_model_declares_what_it_supports(name):
    model = get_model(name)
    has_epsilon = model.options_model is not None and "epsilon" in model.options_model.model_fields
    assert (model.dp_mechanism is not None) == has_epsilon
    assert isinstance(model.preference, int) and isinstance(model.supports_conditions, bool)
    assert model.dp_statistics_share is None or 0 < model.dp_statistics_share < 1


def test_context_is_frozen():
    run = FitContext(seed=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.seed = 2


def test_dp_set_up_once_with_reserved_mechanisms_and_the_declared_share():
    reserved = [Gaussian(3.0)]
    plan = fit_privacy(GaussianCopula, {"epsilon": 1.0}, 500, reserved)
    assert plan.epsilon == 1.0 and plan.delta == pytest.approx(1 / 5000)
    assert plan.mechanisms == reserved and plan.statistics_share == GaussianCopula.dp_statistics_share
    assert fit_privacy(GaussianCopula, {"epsilon": 1.0}, 1) is None  # below dp_min_rows
    assert fit_privacy(GaussianCopula, {}, 500) is None


def test_fit_spends_on_the_plan_it_was_given():
    run = FitContext(seed=3, privacy=fit_privacy(GaussianCopula, {"epsilon": 2.0}, 400, [Gaussian(5.0)]),
                     sample=SampleInfo(rows=400, source_rows=400))
    before = len(run.privacy.mechanisms)
    model = GaussianCopula(epsilon=2.0, seed=3).fit(rows(400), TABLE, run=run)
    assert model.privacy is run.privacy
    assert len(run.privacy.mechanisms) > before  # its own releases added to the engine's plan
    spent, _ = model.privacy.spent()
    assert 0 < spent <= 2.0 * (1 + 1e-9)


def test_direct_fit_builds_the_same_context_from_its_options():
    model = GaussianCopula(epsilon=2.0, seed=3).fit(rows(400), TABLE)
    assert model.privacy is not None and model.privacy.statistics_share == GaussianCopula.dp_statistics_share
    assert GaussianCopula(seed=3).fit(rows(400), TABLE).privacy is None


def test_epoch_callback_comes_from_the_context():
    pytest.importorskip("torch")
    seen = []
    model = get_model("tvae")(epochs=2, seed=1, batch_size=100)
    model.fit(rows(200), TABLE, run=FitContext(seed=1, on_epoch=seen.append))
    assert [e["epoch"] for e in seen] == [1, 2]
