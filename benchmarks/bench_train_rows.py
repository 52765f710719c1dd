"""Where the quality curve flattens: copula fidelity on UCI Adult learned from train_rows rows.

    python benchmarks/bench_train_rows.py [--sizes 1000 2000 5000 10000 20000 32561] [--seeds 3]

Each size learns from a seeded sample of that many Adult rows (train_rows), generates
as many rows as Adult has, and scores fidelity (the EVALUATE fidelity score) against
the whole of Adult; the mean over seeds is printed per size.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

import synthtab_db
from synthtab_db.planner.schema import TableRef
from synthtab_db.quality.run import fidelity_report

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


def score(con, rows: int, seed: int) -> float:
    con.execute(f"GENERATE SYNTHETIC FROM adult INTO s USING copula WITH (seed = {seed}, train_rows = {rows}, "
                "replace = true)")
    report = fidelity_report(con.duckdb, TableRef(name="s", schema="main"), TableRef(name="adult", schema="main"))
    return report.value("fidelity_score")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 10000, 20000, 32561])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    con = synthtab_db.connect()
    con.execute(f"CREATE TABLE adult AS SELECT * FROM read_csv('{DATASETS / 'adult' / 'adult.csv'}')")
    for rows in args.sizes:
        scores = [score(con, rows, seed) for seed in range(1, args.seeds + 1)]
        print(f"train_rows {rows:>7,}: fidelity {statistics.mean(scores):.4f} (seeds: "
              f"{', '.join(f'{s:.4f}' for s in scores)})", flush=True)


if __name__ == "__main__":
    main()
