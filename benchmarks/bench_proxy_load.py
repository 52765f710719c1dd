"""Load test of the wire proxy: N concurrent psycopg clients (default 50) run a mix of
SELECTs and small GENERATEs for a fixed time on loopback; reports throughput,
p50/p99 latency per kind, errors, and the server's RSS over the run.

    python benchmarks/bench_proxy_load.py [--clients 50] [--seconds 60] [--generate-share 0.05]
        [--train-share 0.01] [--dp-share 0.01]

TRAIN (each client its own synthesizer, then sampled with SELECT … FROM <it>(10), so new
clients and old ones see every other client's synthesizers) and DP GENERATEs (epsilon 1, written
to the privacy ledger) run in the mix when their shares are above zero.

The server is `synthtab-db serve` in its own process (so its RSS is its own) over a
fresh DuckDB file holding the bundled Chinook; GENERATEs use the copula model and
each client writes its own target table. Bounded: loopback only, stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import psycopg

import synthtab_db
from synthtab_db.datasets import load_relational

CHINOOK = Path(synthtab_db.__file__).parent / "data" / "chinook"
PASSWORD = "bench-pw"

SELECTS = [
    ("point", "SELECT name, unit_price FROM track WHERE track_id = %s", lambda r: [r.randint(1, 3503)]),
    ("filter", "SELECT track_id, name FROM track WHERE genre_id = %s AND milliseconds > %s ORDER BY track_id LIMIT 20",
     lambda r: [r.randint(1, 25), r.randint(100_000, 400_000)]),
    ("aggregate", "SELECT genre_id, count(*), avg(milliseconds) FROM track GROUP BY genre_id ORDER BY 1", lambda r: None),
    ("join", "SELECT i.invoice_id, c.last_name, sum(l.unit_price * l.quantity) FROM invoice i JOIN customer c "
     "USING (customer_id) JOIN invoice_line l USING (invoice_id) WHERE i.customer_id = %s GROUP BY 1, 2",
     lambda r: [r.randint(1, 59)]),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: Path) -> tuple[subprocess.Popen, int]:
    database = folder / "bench.duckdb"
    with synthtab_db.connect(str(database)) as con:
        load_relational(con.duckdb, CHINOOK)
    port = free_port()
    log = open(folder / "server.log", "w")
    env = dict(os.environ, SYNTHTAB_PASSWORD=PASSWORD, SYNTHTAB_DEFAULT_MODEL="copula")
    server = subprocess.Popen(
        [sys.executable, "-m", "synthtab_db.cli", "serve", str(database), "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )  # a file, not a pipe: nobody reads a pipe here, and a full one would stall the server's log calls
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            psycopg.connect(dsn(port), connect_timeout=2).close()
            return server, port
        except psycopg.OperationalError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the proxy did not start")


def dsn(port: int) -> str:
    return f"host=127.0.0.1 port={port} user=synth password={PASSWORD} dbname=bench"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def statement(index: int, rng: random.Random, shares: dict[str, float]):
    """(kind, sql, params) of the next operation, drawn by the shares."""
    draw = rng.random()
    seed = rng.randint(0, 10**6)
    own = {
        "generate": f"GENERATE SYNTHETIC FROM genre ROWS 20 INTO bench_{index} USING copula "
                    f"WITH (replace = true, seed = {seed})",
        "train": f"TRAIN SYNTHESIZER bench_m{index} ON genre USING copula WITH (replace = true, seed = {seed})",
        "dp_generate": f"GENERATE SYNTHETIC FROM genre ROWS 20 INTO bench_dp{index} USING copula "
                       f"WITH (replace = true, seed = {seed}, epsilon = 1.0)",
    }
    for kind, share in shares.items():
        if draw < share:
            return kind, own[kind], None
        draw -= share
    kind, sql, make = rng.choice(SELECTS)
    return kind, sql, make(rng)


def client(index: int, port: int, stop_at: float, shares: dict, out: dict, lock: threading.Lock) -> None:
    rng = random.Random(index)
    latencies, errors = defaultdict(list), defaultdict(int)
    try:
        conn = psycopg.connect(dsn(port), autocommit=True)
    except psycopg.Error as err:
        with lock:
            out["errors"][f"connect: {type(err).__name__}"] += 1
        return
    with conn:
        trained = False
        while time.time() < stop_at:
            kind, sql, params = statement(index, rng, shares)
            if kind == "point" and trained and rng.random() < 0.2:
                kind, sql, params = "sample", f"SELECT count(*) FROM bench_m{index}(10)", None
            started = time.perf_counter()
            try:
                conn.execute(sql, params).fetchall()
                latencies[kind].append(time.perf_counter() - started)
                trained = trained or kind == "train"
            except psycopg.Error as err:
                errors[f"{kind}: {type(err).__name__}: {str(err).splitlines()[0][:120]}"] += 1
    with lock:
        for kind, values in latencies.items():
            out["latencies"][kind].extend(values)
        for key, count in errors.items():
            out["errors"][key] += count


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--generate-share", type=float, default=0.05, help="fraction of operations that GENERATE")
    parser.add_argument("--train-share", type=float, default=0.01, help="fraction that TRAIN a synthesizer")
    parser.add_argument("--dp-share", type=float, default=0.01, help="fraction that GENERATE with epsilon")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server, port = start_server(Path(folder))
        try:
            figures = run(args, server, port)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


def run(args, server: subprocess.Popen, port: int) -> dict:
    out = {"latencies": defaultdict(list), "errors": defaultdict(int)}
    lock = threading.Lock()
    rss = [rss_mb(server.pid)]
    stop_at = time.time() + args.seconds
    shares = {"generate": args.generate_share, "train": args.train_share, "dp_generate": args.dp_share}
    threads = [threading.Thread(target=client, args=(i, port, stop_at, shares, out, lock))
               for i in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        time.sleep(1)
        rss.append(rss_mb(server.pid))
    elapsed = time.perf_counter() - started
    every = [v for values in out["latencies"].values() for v in values]
    third = max(1, len(rss) // 3)
    return {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "operations": len(every),
        "throughput_ops_per_s": round(len(every) / elapsed, 1),
        "p50_ms": round(percentile(every, 0.5), 1),
        "p99_ms": round(percentile(every, 0.99), 1),
        "by_kind": {
            kind: {"count": len(v), "p50_ms": round(percentile(v, 0.5), 1), "p99_ms": round(percentile(v, 0.99), 1),
                   "mean_ms": round(statistics.mean(v) * 1000, 1)}
            for kind, v in sorted(out["latencies"].items())
        },
        "errors": dict(out["errors"]),
        "error_count": sum(out["errors"].values()),
        "server_rss_mb": {"start": round(rss[0], 1), "first_third_max": round(max(rss[:third]), 1),
                          "last_third_max": round(max(rss[-third:]), 1), "max": round(max(rss), 1)},
        "cpu_cores": os.cpu_count(),
    }


if __name__ == "__main__":
    main()
