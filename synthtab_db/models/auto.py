"""USING auto (the default): per table, the model that fits it, chosen by a measured rule.

The Gaussian copula beats argn on small tables (too few rows for a network to learn
more than the copula's pairwise structure) and is 2-50x faster; argn wins once there
are enough rows.  The rule and its measurement (``benchmarks/bench_auto.py``, EVALUATE
fidelity score, defaults of both models) are in docs/profile.md.  ``auto`` is resolved
before anything is fitted: the result's ``model`` column names the model that ran and
its ``note`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pydantic import BaseModel, create_model

from synthtab_db.errors import SynthError
from synthtab_db.models.base import Synthesizer
from synthtab_db.models.registry import available_models, get_model, options_of, register
from synthtab_db.planner.schema import Kind, Table

#: the copula is chosen for tables below this many source rows whose columns are mostly numbers
#: or dates; measured (benchmarks/bench_auto.py, EVALUATE fidelity): copula ahead on pagila
#: activity (599 rows, all numeric) 0.942 vs 0.938 and Beijing air (2,000, 12 of 14 numeric)
#: 0.923 vs 0.877, argn ahead on the same air table at 8,000 rows 0.952 vs 0.945 and on Adult
#: (6 of 15 numeric) at 1,000 rows 0.948 vs 0.941; the bound sits between 2,000 and 8,000
COPULA_BELOW_ROWS = 5_000
#: share of numeric / temporal columns from which the copula is chosen on a small table
COPULA_NUMERIC_SHARE = 0.5
#: the model otherwise, when installed
LARGE_MODEL = "argn"
NUMERIC = (Kind.INTEGER, Kind.FLOAT, Kind.DECIMAL, Kind.DATE, Kind.TIME, Kind.TIMESTAMP, Kind.TIMESTAMPTZ)


@dataclass(frozen=True)
class Choice:
    model: type[Synthesizer]
    reason: str


def resolve(model: type[Synthesizer], options: dict, rows: int, table: Table) -> tuple[type[Synthesizer], dict, str | None]:
    """(model, its options, why) for a table: ``auto`` becomes a concrete model, others stay."""
    if model is not AutoModel:
        return model, options, None
    choice = choose(rows, numeric_share(table))
    return choice.model, options_for(choice.model, options), choice.reason


def numeric_share(table: Table) -> float:
    return sum(c.type.kind in NUMERIC for c in table.columns) / max(len(table.columns), 1)


def choose(rows: int, numeric: float) -> Choice:
    """The copula for a small, mostly numeric table; argn otherwise (docs/profile.md)."""
    if LARGE_MODEL not in available_models():
        return Choice(get_model("copula"), f"auto chose copula: {LARGE_MODEL} is not installed (needs torch)")
    if rows < COPULA_BELOW_ROWS and numeric >= COPULA_NUMERIC_SHARE:
        return Choice(get_model("copula"), f"auto chose copula: {rows} rows < {COPULA_BELOW_ROWS} and "
                                           f"{numeric:.0%} numeric columns (the copula scored higher on such tables)")
    why = f"{rows} rows" if rows >= COPULA_BELOW_ROWS else f"only {numeric:.0%} numeric columns"
    return Choice(get_model(LARGE_MODEL), f"auto chose {LARGE_MODEL}: {why} (argn scored higher on such tables)")


def options_for(model: type[Synthesizer], options: dict) -> dict:
    """The statement's options the chosen model takes (an argn-only option is dropped for the copula)."""
    fields = model.options_model.model_fields if model.options_model else {}
    return {k: v for k, v in options.items() if k in fields}


def _auto_options() -> type[BaseModel]:
    """Every option of the models auto may choose (each chosen model takes its own share)."""
    models = [options_of(m) for m in (LARGE_MODEL, "copula") if m in available_models()]
    extra = {name: (f.annotation, f) for m in models[1:] for name, f in m.model_fields.items()
             if name not in models[0].model_fields}
    return create_model("AutoOptions", __base__=models[0], **extra)


@register
class AutoModel(Synthesizer):
    """Stands for "choose per table"; the engine resolves it with ``choose`` before fitting."""

    name = "auto"
    preference = 1000
    dp_mechanism = "the chosen model's (copula: noisy statistics; argn: DP-SGD + noisy column statistics)"
    options_model = _auto_options()  # argn's (a superset of the copula's) when installed

    def fit(self, data: pa.Table, table: Table, context: pa.Table | None = None) -> "AutoModel":
        raise SynthError("USING auto is resolved per table before fitting (models/auto.py)")

    def sample(self, n: int, *, seed: int | None = None, context: pa.Table | None = None) -> pa.Table:
        raise SynthError("USING auto is resolved per table before fitting (models/auto.py)")

    def to_bytes(self) -> bytes:
        raise SynthError("USING auto is resolved per table before fitting (models/auto.py)")

    @classmethod
    def from_bytes(cls, blob: bytes) -> "AutoModel":
        raise SynthError("USING auto is resolved per table before fitting (models/auto.py)")
