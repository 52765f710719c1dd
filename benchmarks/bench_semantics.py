"""Per rule, the share of synthetic rows that keep it, per model (issue 15).

Tables are real public data from ../shared/datasets (see tests/test_profile.py for
the same tables): Beijing air quality (a row number, hourly timestamps, 1-decimal
readings, date parts and a station initial that are expressions of other columns),
Adult (education_num is a function of education), pagila customers (emails and
names: rare values never copied) and per-customer pagila rental counts with four
CHECK (a <= b) rules.  Also prints rejected rows by the CHECKs and the strong
correlations of the counts table, real vs synthetic.

    python benchmarks/bench_semantics.py [--models copula,argn] [--epochs 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import synthtab_db
from synthtab_db.datasets import create_pagila_activity

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))

TABLES = {
    "air": f"""SELECT row_number() OVER (ORDER BY station, ts) AS rownames, *, year(ts) AS year, month(ts) AS month,
        hour(ts) AS hour, left(station, 1) AS initial
        FROM read_csv('{DATASETS / "beijing_air_quality" / "air_quality.csv"}')
        USING SAMPLE reservoir(5000 ROWS) REPEATABLE (1)""",
    "adult": f"SELECT * FROM read_csv('{DATASETS / 'adult' / 'adult.csv'}') USING SAMPLE reservoir(5000 ROWS) REPEATABLE (2)",
    "customer": f"SELECT * EXCLUDE (address_id) FROM read_csv('{DATASETS / 'pagila' / 'customer.csv'}')",
}
PAGILA = ("rental", "inventory", "film", "film_category", "payment")

#: (table, rule, per-row boolean SQL over the synthetic table {t}; {r} names the real table)
RULES = [
    ("air", "rownames unique 1..n", "rownames IN (SELECT range + 1 FROM range((SELECT count(*) FROM {t})))"),
    ("air", "ts on the hour", "date_trunc('hour', ts) = ts"),
    ("air", "dewp has 1 decimal", "round(dewp, 1) = dewp"),
    ("air", "year/month/hour = parts of ts", "year = year(ts) AND month = month(ts) AND hour = hour(ts)"),
    ("air", "initial = left(station, 1)", "initial = left(station, 1)"),
    ("adult", "education -> education_num (FD)",
     "education_num = (SELECT any_value(education_num) FROM {r} x WHERE x.education = {t}.education)"),
    ("customer", "email email-shaped", "regexp_full_match(email, '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]+')"),
    ("customer", "email not a real one", "email NOT IN (SELECT email FROM {r})"),
    ("customer", "first_name not a rare real one",
     "first_name NOT IN (SELECT first_name FROM {r} GROUP BY ALL HAVING count(*) < 5)"),
    ("activity", "returned <= rentals", "returned <= rentals"),
    ("activity", "films <= rentals", "films <= rentals"),
    ("activity", "categories <= films", "categories <= films"),
    ("activity", "late <= returned", "late <= returned"),
]
STRONG = [("rentals", "paid"), ("returned", "paid"), ("films", "paid"), ("late", "paid"), ("rentals", "late")]


def load(con) -> None:
    for name, sql in TABLES.items():
        con.execute(f"CREATE TABLE {name} AS {sql}")
    for name in PAGILA:
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv('{DATASETS / 'pagila' / (name + '.csv')}')")
    create_pagila_activity(con)


def kept(con, table: str, synthetic: str, rule: str) -> float:
    sql = rule.format(t=synthetic, r=table)
    return con.sql(f"SELECT avg(CASE WHEN {sql} THEN 1.0 ELSE 0.0 END) FROM {synthetic}").fetchall()[0][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="copula,argn")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    con = synthtab_db.connect()
    load(con)
    print(f"{'table':9} {'rule':38} {'real':>6} " + " ".join(f"{m:>8}" for m in args.models.split(",")))
    shares, notes = {}, []
    for model in args.models.split(","):
        epochs = f", epochs = {args.epochs}" if model != "copula" else ""
        for table in ("air", "adult", "customer", "activity"):
            started = time.perf_counter()
            (row,) = con.execute(f"GENERATE SYNTHETIC FROM {table} INTO s_{table}_{model} USING {model} "
                                 f"WITH (seed = {args.seed}{epochs})").fetchall()
            notes.append(f"{model} {table}: {row[2]} rows in {time.perf_counter() - started:.1f} s, "
                         f"rejected {sum((row[7] or {}).values())}")
        for table, name, rule in RULES:
            shares[(table, name, model)] = kept(con, table, f"s_{table}_{model}", rule)
    for table, name, rule in RULES:
        real = "" if "real" in name else f"{kept(con, table, table, rule):6.3f}"
        print(f"{table:9} {name:38} {real:>6} " + " ".join(f"{shares[(table, name, m)]:8.3f}"
                                                           for m in args.models.split(",")))
    print("\n" + "\n".join(notes))
    print("\nactivity: correlation real vs synthetic")
    for a, b in STRONG:
        real = con.sql(f"SELECT corr({a}, {b}) FROM activity").fetchall()[0][0]
        found = [con.sql(f"SELECT corr({a}, {b}) FROM s_activity_{m}").fetchall()[0][0] for m in args.models.split(",")]
        print(f"  {a}-{b}: real {real:.3f} " + " ".join(f"{m} {v:.3f}" for m, v in zip(args.models.split(","), found)))


if __name__ == "__main__":
    main()
