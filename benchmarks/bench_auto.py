"""Copula vs argn by table size: the measurement behind USING auto's rule (issue 15).

For real public tables of several sizes, fits both models with their defaults and
prints EVALUATE's fidelity score (column shapes + pair trends) of each.

    python benchmarks/bench_auto.py [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import synthtab_db

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
ADULT = DATASETS / "adult" / "adult.csv"
AIR = DATASETS / "beijing_air_quality" / "air_quality.csv"
TABLES = {
    "activity_599": None,  # built below from pagila (bench_semantics.py)
    "adult_1000": f"SELECT * FROM read_csv('{ADULT}') USING SAMPLE reservoir(1000 ROWS) REPEATABLE (1)",
    "air_2000": f"SELECT * FROM read_csv('{AIR}') USING SAMPLE reservoir(2000 ROWS) REPEATABLE (1)",
    "adult_5000": f"SELECT * FROM read_csv('{ADULT}') USING SAMPLE reservoir(5000 ROWS) REPEATABLE (1)",
    "air_8000": f"SELECT * FROM read_csv('{AIR}') USING SAMPLE reservoir(8000 ROWS) REPEATABLE (1)",
    "adult_20000": f"SELECT * FROM read_csv('{ADULT}') USING SAMPLE reservoir(20000 ROWS) REPEATABLE (1)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tables", default=",".join(TABLES))
    args = parser.parse_args()
    from bench_semantics import load  # noqa: PLC0415 (same folder; builds pagila's activity table)

    con = synthtab_db.connect()
    load(con)
    con.execute("CREATE TABLE activity_599 AS SELECT * FROM activity")
    for name in args.tables.split(","):
        if TABLES[name]:
            con.execute(f"CREATE TABLE {name} AS {TABLES[name]}")
        scores = {}
        for model in ("copula", "argn"):
            started = time.perf_counter()
            con.execute(f"GENERATE SYNTHETIC FROM {name} INTO s_{name}_{model} USING {model} WITH (seed = {args.seed})")
            took = time.perf_counter() - started
            rows = con.execute(f"EVALUATE SYNTHETIC s_{name}_{model} AGAINST {name} "
                               f"WITH (seed = {args.seed})").fetchall()
            found = {r[4]: r[6] for r in rows if r[3] == "overall"}
            scores[model] = (found["fidelity_score"], found["pair_trends"], took)
        print(name, " ".join(f"{m}: fidelity {f:.4f} pairs {p:.4f} ({t:.0f} s)" for m, (f, p, t) in scores.items()),
              flush=True)


if __name__ == "__main__":
    main()
