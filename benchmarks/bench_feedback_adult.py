"""The quality feedback loop on UCI Adult: scores per round, what changed, time.

    python benchmarks/bench_feedback_adult.py [--models copula argn] [--target 0.99] [--max-rounds 3]

Each model runs GENERATE SYNTHETIC FROM adult … WITH (seed = 1, target_quality = …,
max_rounds = …): every round fits on the source minus its holdout (a fifth, at most
20,000 rows), generates as many rows as the source and is scored against the holdout.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import synthtab_db

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["copula", "argn"])
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--max-rounds", type=int, default=3)
    args = parser.parse_args()
    con = synthtab_db.connect()
    con.execute(f"CREATE TABLE adult AS SELECT * FROM read_csv('{DATASETS / 'adult' / 'adult.csv'}')")
    for model in args.models:
        started = time.perf_counter()
        row = (
            con.execute(
                f"GENERATE SYNTHETIC FROM adult INTO synth_{model} USING {model} "
                f"WITH (seed = 1, target_quality = {args.target}, max_rounds = {args.max_rounds})"
            )
            .arrow()
            .to_pylist()[0]
        )
        print(f"{model}: {time.perf_counter() - started:.1f} s, kept round {row['kept_round']}; {row['note']}")
        for number, (score, change) in enumerate(zip(row["quality_rounds"], row["quality_changes"]), 1):
            print(f"  round {number}: {score:.4f}  {change}")


if __name__ == "__main__":
    main()
