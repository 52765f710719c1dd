"""EVALUATE SYNTHETIC on UCI Adult for every registered model: our scores beside
mostlyai-qa's accuracy (when that package is installed).

    python benchmarks/bench_quality_adult.py [--sample-rows 20000] [--html-dir DIR] [--qa-sample 5000]

Holdout = the first fifth of numpy.random.default_rng(0).permutation(n); train = the rest.
Each model learns from train and generates as many rows; torch models get
WITH (max_seconds = 60) when they accept it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

import synthtab_db
from synthtab_db.models.registry import available_models, get_model

DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
HEADLINES = [
    "fidelity_score",
    "column_shapes",
    "pair_trends",
    "tstr_roc_auc",
    "trtr_roc_auc",
    "dcr_share",
    "membership_inference_auc",
    "exact_copies",
]


def load(con) -> int:
    """Adult split into `train` and `holdout` by one seeded permutation; returns train rows."""
    rows = con.sql(f"SELECT * FROM read_csv('{DATASETS / 'adult' / 'adult.csv'}')").to_arrow_table()
    order = np.random.default_rng(0).permutation(rows.num_rows)
    cut = rows.num_rows // 5
    for name, pick in (("holdout", order[:cut]), ("train", order[cut:])):
        con.duckdb.register("__rows", rows.take(pa.array(np.sort(pick))))
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM __rows")
        con.duckdb.unregister("__rows")
    return rows.num_rows - cut


def generate(con, model: str, rows: int) -> float:
    options = "seed = 1" + (", max_seconds = 60" if _accepts(model, "max_seconds") else "")
    started = time.perf_counter()
    con.execute(
        f"GENERATE SYNTHETIC FROM train ROWS {rows} INTO synth_{model} USING {model} WITH ({options})"
    ).fetchall()
    return time.perf_counter() - started


def _accepts(model: str, option: str) -> bool:
    options = getattr(get_model(model), "options_model", None)
    return options is not None and option in options.model_fields


def evaluate(con, model: str, sample_rows: int, html_dir: Path | None) -> tuple[dict, float]:
    html = f", html = '{html_dir / f'adult_{model}.html'}'" if html_dir else ""
    started = time.perf_counter()
    rows = con.execute(
        f"EVALUATE SYNTHETIC synth_{model} AGAINST train HOLDOUT holdout TARGET income "
        f"WITH (sample_rows = {sample_rows}, sensitive = 'sex'{html})"
    ).fetchall()
    return {r[4]: r[6] for r in rows}, time.perf_counter() - started


def mostly_accuracy(con, model: str, sample: int) -> float | None:
    """mostlyai-qa's overall accuracy (1 - mean TVD over binned uni/bi/trivariate tables)."""
    try:
        from mostlyai import qa
    except ImportError:
        return None
    frames = {t: con.sql(f"SELECT * FROM {t}").df() for t in ("train", "holdout", f"synth_{model}")}
    with tempfile.TemporaryDirectory() as tmp:
        _, metrics = qa.report(
            syn_tgt_data=frames[f"synth_{model}"],
            trn_tgt_data=frames["train"],
            hol_tgt_data=frames["holdout"],
            report_path=Path(tmp) / "qa.html",
            max_sample_size_accuracy=sample,
            max_sample_size_embeddings=min(sample, 1000),
        )
    return metrics.accuracy.overall if metrics else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample-rows", type=int, default=20_000)
    parser.add_argument("--html-dir", type=Path, default=None)
    parser.add_argument("--qa-sample", type=int, default=5_000, help="rows mostlyai-qa samples for accuracy")
    parser.add_argument("--models", nargs="*", default=None)
    args = parser.parse_args()
    con = synthtab_db.connect()
    rows = load(con)
    print(f"Adult: train {rows:,} rows, holdout {con.execute('SELECT count(*) FROM holdout').fetchone()[0]:,} rows")
    results = [run_model(con, model, rows, args) for model in args.models or available_models()]
    print_table(results)


def run_model(con, model: str, rows: int, args) -> dict:
    generated = generate(con, model, rows)
    scores, seconds = evaluate(con, model, args.sample_rows, args.html_dir)
    qa_accuracy = mostly_accuracy(con, model, args.qa_sample)
    print(f"{model}: generate {generated:.1f} s, evaluate {seconds:.1f} s", flush=True)
    return {"model": model, **scores, "evaluate_s": seconds, "generate_s": generated, "mostlyai_accuracy": qa_accuracy}


def print_table(results: list[dict]) -> None:
    columns = ["model", *HEADLINES, "evaluate_s"]
    if any(r["mostlyai_accuracy"] is not None for r in results):
        columns.insert(2, "mostlyai_accuracy")
    print(" | ".join(f"{c:>14}" for c in columns))
    for r in results:
        print(" | ".join(f"{_cell(r.get(c)):>14}" for c in columns))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else str(value)


if __name__ == "__main__":
    main()
