"""USING gpt beside argn: Adult (categories and numbers) and Chinook tracks (a free-text title).

    pip install -e '.[gpt,bench]'
    python benchmarks/bench_gpt.py [--max-seconds 150] [--datasets adult,tracks]

Adult: holdout and train exactly as benchmarks/bench_models_adult.py.  Tracks:
``track.name`` (free text) with its album title, genre name, composer and
length, holdout = a random fifth.  Each model is fitted through the
Synthesizer API with ``max_seconds`` as its budget (argn keeps its defaults),
samples as many rows as train, and is timed sampling ``--speed-rows`` rows.
Quality is mostlyai-qa's accuracy (and its ceiling ``overall_max``) and DCR
share (share of synthetic rows closer to train than to holdout; 0.5 = no
closer to train than unseen rows); for tracks also the share of generated
titles that are verbatim training titles.  gpt is run with retrieval off and
with ``retrieve = 2``.  The markdown table goes to benchmarks/results/gpt.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
from bench_models_adult import DATASETS, _load, _quality, _split  # a sibling script

from synthtab_db.catalog import read_schema
from synthtab_db.models import get_model

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "gpt.md"
TRACKS = """
    CREATE TABLE tracks AS
    SELECT t.name, a.title AS album, g.name AS genre, t.composer, t.milliseconds
    FROM read_csv('{d}/track.csv') t JOIN read_csv('{d}/album.csv') a USING (album_id)
    LEFT JOIN read_csv('{d}/genre.csv') g USING (genre_id)
"""


def main() -> None:
    args = _arguments()
    runs = [("argn", {}), ("gpt", {"max_seconds": args.max_seconds}),
            ("gpt", {"max_seconds": args.max_seconds, "retrieve": 2})]
    rows = []
    for dataset in args.datasets.split(","):
        train, holdout, table = _adult() if dataset == "adult" else _tracks()
        for name, options in runs:
            rows.append({"dataset": dataset, **_run(name, options, train, holdout, table, args)})
            print(_markdown(rows), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(f"# gpt beside argn\n\n{os.cpu_count()} CPU cores; measured {time.strftime('%Y-%m-%d %H:%M')}; "
                       f"gpt max_seconds = {args.max_seconds}\n\n" + _markdown(rows))
    print(f"\nwritten to {RESULTS}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="adult,tracks")
    parser.add_argument("--max-seconds", type=float, default=150.0)
    parser.add_argument("--speed-rows", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def _adult() -> tuple[pa.Table, pa.Table, object]:
    data, table = _load(DATASETS / "adult" / "adult.csv")
    return (*_split(data), table)


def _tracks() -> tuple[pa.Table, pa.Table, object]:
    con = duckdb.connect()
    con.execute(TRACKS.format(d=DATASETS / "chinook"))
    table = read_schema(con).table("tracks")
    data = con.sql("SELECT * FROM tracks").to_arrow_table()
    return (*_split(data), table)


def _run(name: str, options: dict, train: pa.Table, holdout: pa.Table, table, args) -> dict:
    model = get_model(name)(seed=args.seed, **options)
    started = time.perf_counter()
    model.fit(train, table)
    fit_seconds = time.perf_counter() - started
    synthetic = model.sample(train.num_rows, seed=args.seed)
    started = time.perf_counter()
    model.sample(args.speed_rows, seed=args.seed + 1)
    sample_seconds = time.perf_counter() - started
    quality = _quality(synthetic, train, holdout)
    label = name + "".join(f" {k}={v}" for k, v in options.items() if k != "max_seconds")
    return {"model": label, "fit_s": fit_seconds, "rows_s": args.speed_rows / sample_seconds,
            "accuracy": quality["accuracy"], "accuracy_max": quality["accuracy_max"],
            "dcr_share": quality["dcr_share"], "epochs": _epochs(model),
            "malformed": getattr(model, "malformed_rows", None), "copies": _copies(synthetic, train)}


def _epochs(model) -> str:
    report = getattr(model, "fit_report", None)
    return f"{len(report.epochs)} ({report.stopped})" if report and report.epochs else ""


def _copies(synthetic: pa.Table, train: pa.Table) -> float | None:
    """Share of generated titles that are verbatim training titles (tracks only)."""
    if "name" not in synthetic.column_names:
        return None
    real = set(train.column("name").to_pylist())
    return float(np.mean([v in real for v in synthetic.column("name").to_pylist()]))


_COLUMNS = [("dataset", "data", "{}"), ("model", "model", "{}"), ("fit_s", "fit s", "{:.0f}"),
            ("epochs", "epochs", "{}"), ("rows_s", "sample rows/s", "{:,.0f}"), ("accuracy", "accuracy", "{:.3f}"),
            ("accuracy_max", "overall_max", "{:.3f}"), ("dcr_share", "DCR share", "{:.3f}"),
            ("malformed", "malformed rows", "{}"), ("copies", "titles copied", "{:.1%}")]


def _markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(title for _, title, _ in _COLUMNS) + " |",
             "|" + "|".join("---" if key in ("dataset", "model") else "---:" for key, _, _ in _COLUMNS) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(fmt.format(row[k]) if row.get(k) is not None else "" for k, _, fmt in _COLUMNS)
                     + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
