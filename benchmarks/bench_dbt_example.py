"""The dbt example project (examples/dbt) timed: first `dbt run` (trains both synthesizers),
a second run (reuses them), and `dbt test`, with more synthetic customers than the example.

    DO_NOT_TRACK=1 python benchmarks/bench_dbt_example.py [--customers 10000] [--model copula]

dbt runs in this process (dbtRunner), so the times exclude dbt's and torch's import.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
from dbt.cli.main import dbtRunner

from synthtab_db.cli import main as synthtab_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dbt"


def dbt(project: Path, *args: str) -> float:
    started = time.perf_counter()
    result = dbtRunner().invoke([*args, "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"])
    if not result.success:
        raise SystemExit(f"dbt {' '.join(args)} failed: {result.exception or result.result}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--model", default="copula")
    args = parser.parse_args()
    os.environ.setdefault("DO_NOT_TRACK", "1")
    project = Path(tempfile.mkdtemp()) / "example"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("target", "dbt_packages", "*.duckdb*"))
    model = project / "models" / "synth_customer.sql"
    model.write_text(model.read_text().replace("rows=100", f"rows={args.customers}, model='{args.model}'"))
    child = project / "models" / "synth_invoice.sql"
    child.write_text(child.read_text().replace("seed=7", f"seed=7, model='{args.model}'"))
    os.chdir(project)
    synthtab_cli(["dbt", "init", "--project-dir", str(project)])
    dbt(project, "deps")
    dbt(project, "seed")
    first = dbt(project, "run")
    second = dbt(project, "run")
    tests = dbt(project, "test")
    con = duckdb.connect(str(project / "example.duckdb"))
    customers, invoices = con.execute(
        "SELECT (SELECT count(*) FROM synth_customer), (SELECT count(*) FROM synth_invoice)"
    ).fetchone()
    con.close()
    print(f"model {args.model}: {customers} synthetic customers, {invoices} synthetic invoices")
    print(f"dbt run (train + generate): {first:.2f} s")
    print(f"dbt run (reuse + generate): {second:.2f} s")
    print(f"dbt test (15 tests):        {tests:.2f} s")
    shutil.rmtree(project.parent)


if __name__ == "__main__":
    main()
