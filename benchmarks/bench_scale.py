"""Size on one machine: Adult-shaped copula GENERATE of 1M, 10M, 100M rows into a .duckdb file,
learning back from the big table, and the ratio to the in-run Arrow -> DuckDB limit.

    python benchmarks/bench_scale.py [--sizes 1000000 10000000 100000000] [--dir /tmp/bench_scale]

Every measurement runs in a fresh subprocess; its peak RSS is that child's ru_maxrss.
Prints one line per measurement.  What "done" asks (issue 14):
  * each GENERATE size: rows/s and peak RSS (100M rows: peak RSS < 2 GB);
  * learning from the largest table (ROWS 100000 out): peak RSS < 2 GB and seconds at most
    learning from a 1M-row table + three plain DuckDB scans of the big table (one aggregate
    query over every column, timed in the same run);
  * copula generate + check + insert of 1M rows / inserting the same rows, already built as
    Arrow, into a table of the same file (>= 0.5): the median of five back-to-back pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", ROOT.parent / "shared" / "datasets"))
ADULT = DATASETS / "adult" / "adult.csv"


def _fresh(path: Path) -> None:
    for f in (path, Path(f"{path}.wal")):
        if f.exists():
            f.unlink()


def child_generate(path: str, rows: int) -> dict:
    """Adult into a new file, then GENERATE ``rows`` copula rows into table big."""
    import synthtab_db  # noqa: PLC0415 (timed in the child only)

    _fresh(Path(path))
    con = synthtab_db.connect(path)
    con.execute(f"CREATE TABLE adult AS SELECT * FROM read_csv('{ADULT}')")
    started = time.perf_counter()
    con.execute(f"GENERATE SYNTHETIC FROM adult ROWS {rows} INTO big USING copula WITH (seed = 1)")
    seconds = time.perf_counter() - started
    return {"what": "generate", "rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


def child_limit(path: str, rows: int, repeats: int = 5) -> dict:
    """Back to back in one run, ``repeats`` times: copula sample + check + insert of ``rows``
    rows (GENERATE from a trained synthesizer: the fit is not timed), then the same rows,
    built as Arrow beforehand, inserted into a table of the same file in one transaction: the
    limit.  The median of the pairs' ratios is reported (one pair swings with the machine)."""
    import synthtab_db  # noqa: PLC0415

    _fresh(Path(path))
    con = synthtab_db.connect(path)
    con.execute(f"CREATE TABLE adult AS SELECT * FROM read_csv('{ADULT}')")
    con.execute("TRAIN SYNTHESIZER adult_copula ON adult USING copula WITH (seed = 1)")  # the fit is not timed
    pairs = []
    for i in range(repeats):
        started = time.perf_counter()
        con.execute(f"GENERATE SYNTHETIC FROM SYNTHESIZER adult_copula ROWS {rows} INTO gen{i} WITH (seed = 1)")
        generate = time.perf_counter() - started
        built = con.duckdb.sql(f"SELECT * FROM gen{i}").to_arrow_table()
        con.execute(f"CREATE TABLE copy{i} AS SELECT * FROM gen{i} LIMIT 0")
        started = time.perf_counter()
        con.duckdb.execute("BEGIN")
        con.duckdb.from_arrow(built).query("built", f"INSERT INTO copy{i} SELECT * FROM built").fetchall()
        con.duckdb.execute("COMMIT")
        pairs.append((generate, time.perf_counter() - started))
    ratios = sorted(limit / generate for generate, limit in pairs)
    generate, limit = sorted(pairs, key=lambda p: p[1] / p[0])[len(pairs) // 2]
    return {"what": "ratio", "rows": rows, "generate_s": generate, "arrow_insert_s": limit,
            "ratio": ratios[len(ratios) // 2], "ratios": [round(r, 3) for r in ratios]}


def child_learn(path: str, table: str) -> dict:
    """GENERATE … FROM ``table`` ROWS 100000: learning dominates."""
    import synthtab_db  # noqa: PLC0415

    con = synthtab_db.connect(path)
    started = time.perf_counter()
    result = con.execute(f"GENERATE SYNTHETIC FROM {table} ROWS 100000 INTO learned_{table} USING copula "
                         "WITH (seed = 1, replace = true)").arrow().to_pylist()[0]
    seconds = time.perf_counter() - started
    return {"what": "learn", "table": table, "seconds": seconds, "note": result["note"]}


def child_scan(path: str, table: str) -> dict:
    """One aggregate over every column of ``table``: reading it once is the floor for exact statistics."""
    import duckdb  # noqa: PLC0415

    con = duckdb.connect(path)
    columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    aggregates = ", ".join(f'count(DISTINCT "{c}"), min("{c}"), max("{c}")' for c in columns)
    started = time.perf_counter()
    con.execute(f"SELECT count(*), {aggregates} FROM {table}").fetchall()
    return {"what": "scan", "table": table, "seconds": time.perf_counter() - started}


def child_make_1m(path: str) -> dict:
    import duckdb  # noqa: PLC0415

    con = duckdb.connect(path)
    con.execute("CREATE OR REPLACE TABLE big_1m AS SELECT * FROM big LIMIT 1000000")
    return {"what": "prepare", "table": "big_1m"}


CHILDREN = {"generate": child_generate, "limit": child_limit, "learn": child_learn, "scan": child_scan,
            "make_1m": child_make_1m}


def run_child(kind: str, *args) -> dict:
    """One measurement in a fresh interpreter; its peak RSS comes back with it."""
    out = subprocess.run([sys.executable, __file__, "--child", kind, *map(str, args)], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000, 100_000_000])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_scale"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        result = CHILDREN[kind](*[int(a) if a.isdigit() else a for a in rest])
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    _report(run_child("limit", args.dir / "ratio.duckdb", 1_000_000))
    for rows in args.sizes:
        _report(run_child("generate", args.dir / f"gen_{rows}.duckdb", rows))
    big = args.dir / f"gen_{max(args.sizes)}.duckdb"
    _report(run_child("make_1m", big))
    small = run_child("learn", big, "big_1m")
    scans = [run_child("scan", big, "big") for _ in range(3)]
    learn = run_child("learn", big, "big")
    for item in (small, *scans, learn):
        _report(item)
    bound = small["seconds"] + sum(s["seconds"] for s in scans)
    print(f"learning from {max(args.sizes):,} rows: {learn['seconds']:.1f} s vs bound {bound:.1f} s "
          f"(1M-row learn + 3 scans): {'OK' if learn['seconds'] <= bound else 'OVER'}")


def _report(result: dict) -> None:
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}), flush=True)


if __name__ == "__main__":
    main()
