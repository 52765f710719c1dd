"""Shared fixtures: real DuckDB connections and the shared real datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests that do not name a model get the fast copula; the neural models have their own tests.
os.environ.setdefault("SYNTHTAB_DEFAULT_MODEL", "copula")

import synthtab_db  # noqa: E402

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
RELATIONAL = ["chinook", "northwind", "pagila", "berka_financial", "beijing_air_quality"]


def dataset(name: str) -> Path:
    path = DATASETS / name
    if not path.exists():
        pytest.skip(f"shared dataset {name} not found at {path} (set SYNTHTAB_DATASETS)")
    return path


@pytest.fixture
def con():
    connection = synthtab_db.connect()
    yield connection
    connection.close()


@pytest.fixture
def adult_path():
    return dataset("adult") / "adult.csv"
