"""Rough cost of a plan step, for EXPLAIN: memory and time from simple per-model constants.

The constants are orders of magnitude measured on 2 CPU cores (docs/architecture.md says
where each comes from); they are meant to tell 10 seconds from 10 minutes and 100 MB from
10 GB, not to promise a figure.  A model without an entry gets ``DEFAULT``.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthtab_db.planner.steps import GenerateStep

MB = 1024 * 1024
BASE_BYTES = 300 * MB  # the Python process with DuckDB, pyarrow and numpy loaded


@dataclass(frozen=True)
class ModelCost:
    fit_rows_per_second: float  # training rows learned per second (all epochs of a default run)
    sample_rows_per_second: float  # rows sampled, checked and inserted per second
    fit_bytes_per_value: float  # peak memory while learning, per training value (row × column)
    sample_bytes_per_value: float  # peak memory per value of one sampled batch
    fit_seconds_cap: float | None = None  # the model's default time budget (max_seconds), if any


COSTS: dict[str, ModelCost] = {
    "copula": ModelCost(250_000, 500_000, 80, 60),
    "argn": ModelCost(900, 20_000, 400, 100, fit_seconds_cap=120),
    "ctgan": ModelCost(400, 50_000, 600, 100, fit_seconds_cap=120),
    "tvae": ModelCost(1_000, 50_000, 400, 100, fit_seconds_cap=120),
    "gpt": ModelCost(150, 2_000, 800, 200, fit_seconds_cap=120),
}
DEFAULT = ModelCost(500, 20_000, 600, 120, fit_seconds_cap=120)


@dataclass(frozen=True)
class Estimate:
    memory_bytes: int
    seconds: float


def estimate_step(step: GenerateStep) -> Estimate:
    cost = COSTS.get(step.model, DEFAULT)
    columns = max(1, len(step.table.columns))
    train = 0 if step.synthesizer else _train_rows(step)
    batch = min(step.batch_size, max(step.rows.estimate, 1))
    memory = BASE_BYTES + max(train * columns * cost.fit_bytes_per_value, batch * columns * cost.sample_bytes_per_value)
    cap = step.model_options.get("max_seconds", cost.fit_seconds_cap)
    return Estimate(int(memory), _fit_seconds(train, cost, cap) + step.rows.estimate / cost.sample_rows_per_second)


def _train_rows(step: GenerateStep) -> int:
    return step.source_rows if step.train_rows is None else min(step.source_rows, step.train_rows)


def _fit_seconds(train: int, cost: ModelCost, cap: float | None) -> float:
    seconds = train / cost.fit_rows_per_second
    return seconds if cap is None else min(seconds, float(cap))
