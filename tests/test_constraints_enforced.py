"""A model that breaks constraints on purpose: no bad row may reach the target."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import synthtab_db
from synthtab_db.models.base import Synthesizer
from synthtab_db.models.registry import register


@register
class Violator(Synthesizer):
    """Emits values far outside the tight CHECK most of the time, and NULLs in a NOT NULL column."""

    name = "violator_for_tests"

    def fit(self, data, table, context=None, run=None):
        self.columns = data.column_names
        return self

    def sample(self, n, *, seed=None, context=None):
        rng = np.random.default_rng(seed)
        score = rng.integers(0, 100, n)  # CHECK wants 40..44: ~95% of rows violate
        label = np.where(rng.random(n) < 0.3, None, "x")
        return pa.table({"score": pa.array(score), "label": pa.array(label, type=pa.string())}).select(self.columns)

    def to_bytes(self):
        return b""

    @classmethod
    def from_bytes(cls, blob):
        return cls()


@pytest.fixture
def tight(con):
    con.execute(
        "CREATE TABLE tight (id INTEGER PRIMARY KEY, score INTEGER CHECK (score BETWEEN 40 AND 44), label VARCHAR NOT NULL)"
    )
    con.execute("INSERT INTO tight SELECT i, 40 + i % 5, 'x' FROM range(100) t(i)")
    return con


def test_violating_rows_are_rejected_and_regenerated(tight):
    result = tight.execute(
        "GENERATE SYNTHETIC FROM tight ROWS 200 INTO out USING violator_for_tests WITH (seed = 1, max_rounds = 50)"
    )
    row = dict(zip([d[0] for d in result.description], result.fetchone()))
    assert row["rows"] == 200
    rejected = dict(row["rejected"])
    assert any(k.startswith("CHECK") for k in rejected) and rejected["NOT NULL (label)"] > 0
    assert row["rejected_rows"] > 200
    assert tight.execute("SELECT count(*) FROM out WHERE score NOT BETWEEN 40 AND 44 OR label IS NULL").fetchone() == (
        0,
    )


def test_unreachable_target_fails_naming_the_constraint_and_writes_nothing(tight):
    with pytest.raises(synthtab_db.SynthError, match=r"CHECK.*score"):
        tight.execute(
            "GENERATE SYNTHETIC FROM tight ROWS 5000 INTO out USING violator_for_tests WITH (seed = 1, max_rounds = 1)"
        )
    assert tight.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'out'").fetchone() == (0,)
