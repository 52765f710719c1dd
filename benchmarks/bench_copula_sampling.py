"""Gaussian copula alone on UCI Adult: fit time, then sampling 1,000,000 rows (no SQL, no insert).

    python benchmarks/bench_copula_sampling.py [--rows 1000000] [--repeat 3]

Target: about 1 s for 1M rows on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import duckdb

from synthtab_db.models.copula import GaussianCopula
from synthtab_db.planner.ddl import schema_from_ddl

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))

ADULT_DDL = """
CREATE TABLE adult (
    age BIGINT NOT NULL, workclass VARCHAR, fnlwgt BIGINT NOT NULL, education VARCHAR NOT NULL,
    education_num BIGINT NOT NULL, marital_status VARCHAR NOT NULL, occupation VARCHAR,
    relationship VARCHAR NOT NULL, race VARCHAR NOT NULL, sex VARCHAR NOT NULL, capital_gain BIGINT NOT NULL,
    capital_loss BIGINT NOT NULL, hours_per_week BIGINT NOT NULL, native_country VARCHAR,
    income VARCHAR NOT NULL CHECK (income IN ('<=50K', '>50K'))
);
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data = duckdb.sql(f"SELECT * FROM read_csv('{DATASETS / 'adult' / 'adult.csv'}')").to_arrow_table()
    table = schema_from_ddl(ADULT_DDL).table("adult")
    started = time.perf_counter()
    model = GaussianCopula(seed=1).fit(data, table)
    fit = time.perf_counter() - started
    times = [_time_sample(model, args.rows, seed) for seed in range(args.repeat)]
    print(f"source rows      {data.num_rows:,} x {data.num_columns} columns")
    print(f"fit              {fit:.3f} s")
    print(f"sample {args.rows:,} rows: best {min(times):.3f} s, median {statistics.median(times):.3f} s")
    print(f"rows/s           {args.rows / min(times):,.0f} (best), {args.rows / statistics.median(times):,.0f} (median)")
    print(f"model size       {len(model.to_bytes()):,} bytes")


def _time_sample(model: GaussianCopula, rows: int, seed: int) -> float:
    started = time.perf_counter()
    sample = model.sample(rows, seed=seed)
    elapsed = time.perf_counter() - started
    assert sample.num_rows == rows
    return elapsed


if __name__ == "__main__":
    main()
