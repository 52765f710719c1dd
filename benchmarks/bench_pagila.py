"""The whole pagila database (15 tables, about 46,000 rows) with one GENERATE … FROM DATABASE.

Prints fit + generate seconds, peak memory, the children-per-parent KS statistic of
every FK edge, the SQL audit of every constraint, and cross-table checks: the
correlation of a payment's amount with its film's rental rate (payment -> rental ->
inventory -> film) and the share of payments whose customer is the rental's.

    python benchmarks/bench_pagila.py [--model argn] [--seed 7] [--scale 1.0]

Targets (issue 4), 2 CPU cores with argn: whole database <= 300 s, every FK edge's KS <= 0.10.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import synthtab_db
from synthtab_db.audit import audit_schema
from synthtab_db.datasets import load_relational

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
RESULTS = Path(__file__).resolve().parent / "results"

AMOUNT_VS_RATE = """
SELECT corr(p.amount, f.rental_rate) FROM {s}.payment p JOIN {s}.rental r USING (rental_id)
JOIN {s}.inventory i USING (inventory_id) JOIN {s}.film f USING (film_id)"""
SAME_CUSTOMER = """
SELECT avg((p.customer_id = r.customer_id)::INT) FROM {s}.payment p JOIN {s}.rental r USING (rental_id)"""
RENTAL_DAYS_VS_DURATION = """
SELECT corr(date_diff('day', r.rental_date, r.return_date), f.rental_duration) FROM {s}.rental r
JOIN {s}.inventory i USING (inventory_id) JOIN {s}.film f USING (film_id)"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="argn")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--options", default="", help="extra WITH options, e.g. 'max_seconds = 30'")
    args = parser.parse_args()

    con = synthtab_db.connect()
    load_relational(con.duckdb, DATASETS / "pagila")
    extra = f", {args.options}" if args.options else ""
    started = time.perf_counter()
    result = con.execute(
        f"GENERATE SYNTHETIC FROM DATABASE main INTO SCHEMA synth SCALE {args.scale} USING {args.model} "
        f"WITH (seed = {args.seed}{extra})"
    ).arrow().to_pylist()
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    edges = {f"{r['table']}: {k}": v for r in result for k, v in r["children_ks"]}
    violations = {k: v for k, v in audit_schema(con.duckdb, "synth", constraints_from="main").items() if v}
    checks = {
        name: {s: con.duckdb.sql(q.format(s=s)).fetchall()[0][0] for s in ("main", "synth")}
        for name, q in [("amount_vs_film_rental_rate", AMOUNT_VS_RATE), ("payment_customer_is_rental_customer",
                        SAME_CUSTOMER), ("rental_days_vs_film_rental_duration", RENTAL_DAYS_VS_DURATION)]
    }
    print(f"model {args.model}, seed {args.seed}, scale {args.scale}")
    for r in result:
        print(f"  {r['table']:<22} {r['rows']:>7} rows {r['seconds']:>7.1f} s  rejected {r['rejected_rows']}")
    print(f"whole database   {seconds:.1f} s (fit + generate + check + insert), peak RSS {peak_mb:,.0f} MiB")
    print(f"rows             {sum(r['rows'] for r in result):,} in {len(result)} tables")
    print(f"FK edges         {len(edges)}, max KS {max(edges.values()):.4f}")
    for edge, ks in sorted(edges.items(), key=lambda kv: -kv[1]):
        print(f"  KS {ks:.4f}  {edge}")
    print(f"audit            {sum(violations.values())} violations {violations or ''}")
    for name, values in checks.items():
        print(f"{name:<38} real {values['main']:.4f}  synthetic {values['synth']:.4f}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"pagila_{args.model}.json"
    out.write_text(json.dumps({"model": args.model, "seconds": seconds, "peak_mb": peak_mb, "ks": edges,
                               "violations": violations, "checks": checks,
                               "tables": [{k: r[k] for k in ("table", "rows", "seconds")} for r in result]}, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
