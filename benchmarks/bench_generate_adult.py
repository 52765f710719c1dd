"""End-to-end GENERATE on UCI Adult: fit, then 1,000,000 rows sampled, checked in SQL and
inserted into a DuckDB table.  Prints rows/s, fit seconds and peak memory.

    python benchmarks/bench_generate_adult.py [--rows 1000000] [--model copula]

Target (issue 2): >= 300,000 rows/s end to end for the copula on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import synthtab_db
from synthtab_db.datasets import load_csv

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--model", default="copula")
    args = parser.parse_args()

    con = synthtab_db.connect()
    load_csv(con.duckdb, "adult", DATASETS / "adult" / "adult.csv")
    started = time.perf_counter()
    result = con.execute(f"GENERATE SYNTHETIC FROM adult ROWS {args.rows} INTO synth_adult USING {args.model} WITH (seed = 1)")
    total = time.perf_counter() - started
    row = dict(zip([d[0] for d in result.description], result.fetchone()))
    fit = _fit_seconds(con, args.model)
    inserted = con.execute("SELECT count(*) FROM synth_adult").fetchone()[0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model            {args.model}")
    print(f"rows inserted    {inserted:,}")
    print(f"statement        {total:.2f} s  (engine-reported {row['seconds']:.2f} s, {row['rounds']} round(s), {row['rejected_rows']} rejected)")
    print(f"fit (separately) {fit:.2f} s")
    print(f"end to end       {inserted / total:,.0f} rows/s (fit included)")
    print(f"sample+check+insert {inserted / max(total - fit, 1e-9):,.0f} rows/s (fit excluded)")
    print(f"peak RSS         {peak_mb:,.0f} MiB")


def _fit_seconds(con: synthtab_db.Connection, model: str) -> float:
    from synthtab_db.catalog import read_schema
    from synthtab_db.models.registry import get_model

    table = read_schema(con.duckdb).table("adult")
    data = con.duckdb.sql("SELECT * FROM adult").to_arrow_table()
    started = time.perf_counter()
    get_model(model)().fit(data, table)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
