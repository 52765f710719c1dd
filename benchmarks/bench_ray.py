"""GENERATE … INTO PARQUET at scale: Adult-shaped rows from a stored copula, written by
engine = 'local' and by engine = 'ray' with 1 and 2 workers on this machine.  Prints
rows/s, time to first file, peak RSS per worker, the per-shard cost, the coordinator's
overhead, and a projection for N machines.

    python benchmarks/bench_ray.py [--rows 100000000] [--rows-per-shard 1000000] [--configs local,ray1,ray2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import threading
import time
from pathlib import Path

import synthtab_db
from synthtab_db.datasets import load_csv

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
CONFIGS = {"local": {"engine": "local"}, "ray1": {"engine": "ray", "workers": 1}, "ray2": {"engine": "ray", "workers": 2}}


def first_file_watch(root: Path, started: float) -> dict:
    """Seconds from the statement's start to the first Parquet file in staging (polled)."""
    seen: dict = {}

    def poll() -> None:
        while "at" not in seen and not seen.get("stop"):
            if any(root.glob("_staging-*/*/*.parquet")) or any(root.glob("*/*.parquet")):
                seen["at"] = time.perf_counter() - started
            time.sleep(0.05)

    threading.Thread(target=poll, daemon=True).start()
    return seen


def run_config(con, name: str, rows: int, rows_per_shard: int, out: Path) -> dict:
    root = out / name
    shutil.rmtree(root, ignore_errors=True)
    options = {"seed": 1, "rows_per_shard": rows_per_shard, **CONFIGS[name]}
    started = time.perf_counter()
    seen = first_file_watch(root, started)
    con.generate_parquet(root, synthesizer="adult_copula", rows=rows, options=options)
    total = time.perf_counter() - started
    seen["stop"] = True
    manifest = json.loads((root / "_manifest.json").read_text())
    stats = manifest["shard_stats"]
    rss = {}
    for s in stats:
        rss[s["pid"]] = max(rss.get(s["pid"], 0), s["peak_rss_mb"])
    shutil.rmtree(root, ignore_errors=True)
    return {"config": name, "rows": manifest["tables"]["adult"]["rows"], "seconds": total,
            "rows_per_s": rows / total, "first_file_s": seen.get("at"), "shards": len(stats),
            "shard_s": sum(s["seconds"] for s in stats) / len(stats), "rss_per_worker_mb": sorted(rss.values()),
            "workers": CONFIGS[name].get("workers", 1)}


def overhead(result: dict) -> float:
    """What is not shard work: learning is done before (TRAIN); planning, scheduling, the
    cross-shard checks over the files and the commit."""
    waves = math.ceil(result["shards"] / result["workers"])
    return max(0.0, result["seconds"] - waves * result["shard_s"])


def projection(result: dict, cores: int, rows: int, rows_per_shard: int) -> list[str]:
    """T(N) = coordinator overhead + ceil(shards / (N * cores)) waves * per-shard cost."""
    shards = math.ceil(rows / rows_per_shard)
    lines = [f"projection from {result['config']}: per-shard {result['shard_s']:.2f} s, coordinator "
             f"{overhead(result):.2f} s; {rows:,} rows in {shards} shards; machines of {cores} cores"]
    for machines in (1, 2, 4, 8, 16, 32, 64):
        waves = math.ceil(shards / (machines * cores))
        seconds = overhead(result) + waves * result["shard_s"]
        lines.append(f"  {machines:3d} machines: ~{seconds:,.0f} s, ~{rows / seconds:,.0f} rows/s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--rows-per-shard", type=int, default=1_000_000)
    parser.add_argument("--configs", default="local,ray1,ray2")
    parser.add_argument("--cores", type=int, default=16, help="cores per machine in the projection")
    parser.add_argument("--out", default="/tmp/bench_ray")
    parser.add_argument("--project-rows", type=int, default=1_000_000_000, help="rows in the projection")
    args = parser.parse_args()

    con = synthtab_db.connect()
    load_csv(con.duckdb, "adult", DATASETS / "adult" / "adult.csv")
    con.execute("TRAIN SYNTHESIZER adult_copula ON adult USING copula WITH (seed = 1)")
    configs = args.configs.split(",")
    if any(c.startswith("ray") for c in configs):
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}})
    results = [run_config(con, name, args.rows, args.rows_per_shard, Path(args.out)) for name in configs]
    for r in results:
        print(f"{r['config']:6s} rows {r['rows']:,}  {r['seconds']:.1f} s  {r['rows_per_s']:,.0f} rows/s  "
              f"first file {r['first_file_s'] or float('nan'):.1f} s  shards {r['shards']}  "
              f"per shard {r['shard_s']:.2f} s  coordinator {overhead(r):.1f} s  "
              f"peak RSS per worker {', '.join(f'{m:,.0f}' for m in r['rss_per_worker_mb'])} MiB")
    best = max(results, key=lambda r: r["workers"])
    print("\n".join(projection(best, args.cores, args.project_rows, args.rows_per_shard)))


if __name__ == "__main__":
    main()
