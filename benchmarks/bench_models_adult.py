"""Every registered synthesizer on UCI Adult: fit time, sampling speed, quality, utility.

    pip install -e '.[torch,bench]'
    python benchmarks/bench_models_adult.py [--models copula,argn] [--option argn.max_seconds=60]
    python benchmarks/bench_models_adult.py --models argn --seeds 0,1,2   # seed spread: mean and worst

Holdout = the first fifth of ``numpy.random.default_rng(0).permutation(n)``,
train = the rest.  Each model is fitted on train through the Synthesizer API
(the Table comes from the DuckDB catalog of the loaded CSV), samples as many
rows as train, and is timed sampling ``--speed-rows`` rows.  Quality is
mostlyai-qa's report (accuracy against its ``overall_max``, DCR share,
discriminator AUC; its embedder ships inside the package, and the hub is kept
offline); utility is the ROC AUC on holdout of a HistGradientBoostingClassifier
for ``income`` trained on the synthetic rows (train on synthetic, test on real).
With several ``--seeds`` each model gets a row per seed, then a mean row and a
worst row (each column at its worst: lowest accuracy and AUC, highest DCR share).
The markdown table is printed and written to benchmarks/results/adult_models.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # mostlyai-qa must never reach the network
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

from synthtab_db.catalog import read_schema  # noqa: E402
from synthtab_db.models import available_models, get_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("SYNTHTAB_DATASETS", ROOT.parent / "shared" / "datasets"))
RESULTS = ROOT / "benchmarks" / "results" / "adult_models.md"
CANDIDATES = ("copula", "argn", "ctgan", "tvae", "ddpm")
TARGET, POSITIVE = "income", ">50K"


def main() -> None:
    args = _arguments()
    data, table = _load(DATASETS / "adult" / "adult.csv")
    train, holdout = _split(data)
    models = [m for m in args.models.split(",") if m in available_models()]
    rows = [_reference_row(train, holdout)]
    for name in models:
        options = {k.split(".", 1)[1]: _parse(v) for k, v in args.option if k.split(".", 1)[0] == name}
        runs = []
        for seed in args.seeds:
            runs.append(_run_model(name, options, train, holdout, table, args.speed_rows, seed))
            runs[-1]["model"] = f"{name} seed {seed}" if len(args.seeds) > 1 else name
            rows.append(runs[-1])
            print(_markdown(rows), flush=True)
        if len(runs) > 1:
            rows.extend(_spread(name, runs))
            print(_markdown(rows), flush=True)
    skipped = [m for m in args.models.split(",") if m not in models]
    text = _markdown(rows) + (f"\nnot registered here (skipped): {', '.join(skipped)}\n" if skipped else "")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(_header(train, holdout) + text)
    print(f"\nwritten to {RESULTS}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(CANDIDATES))
    parser.add_argument("--option", action="append", default=[], type=lambda s: tuple(s.split("=", 1)),
                        help="MODEL.KEY=VALUE, e.g. argn.max_seconds=60 (repeatable)")
    parser.add_argument("--speed-rows", type=int, default=200_000)
    parser.add_argument("--seeds", type=_seed_list, default=[1], help="comma-separated, e.g. 0,1,2")
    parser.add_argument("--seed", type=int, help="one seed (same as --seeds N)")
    args = parser.parse_args()
    args.seeds = [args.seed] if args.seed is not None else args.seeds
    return args


def _seed_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _parse(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _load(csv: Path):
    con = duckdb.connect()
    con.execute(f"CREATE TABLE adult AS SELECT * FROM read_csv('{csv}')")
    table = read_schema(con).table("adult")
    data = con.sql("SELECT * FROM adult").to_arrow_table()
    con.close()
    return data, table


def _split(data: pa.Table) -> tuple[pa.Table, pa.Table]:
    order = np.random.default_rng(0).permutation(data.num_rows)
    cut = data.num_rows // 5
    return data.take(order[cut:]), data.take(order[:cut])


def _run_model(name, options, train, holdout, table, speed_rows, seed) -> dict:
    model = get_model(name)(seed=seed, **options)
    started = time.perf_counter()
    model.fit(train, table)
    fit_seconds = time.perf_counter() - started
    synthetic = model.sample(train.num_rows, seed=seed)
    started = time.perf_counter()
    model.sample(speed_rows, seed=seed + 1)
    rows_per_second = speed_rows / (time.perf_counter() - started)
    quality = _quality(synthetic, train, holdout)
    return {"model": name, "fit_s": fit_seconds, "rows_s": rows_per_second, **quality,
            "tstr_auc": _tstr_auc(synthetic, holdout)}


def _quality(synthetic: pa.Table, train: pa.Table, holdout: pa.Table) -> dict:
    from mostlyai import qa

    with tempfile.TemporaryDirectory() as folder:
        _, metrics = qa.report(syn_tgt_data=_frame(synthetic), trn_tgt_data=_frame(train),
                               hol_tgt_data=_frame(holdout), report_path=Path(folder) / "report.html")
    accuracy = metrics.accuracy
    return {"accuracy": accuracy.overall, "accuracy_max": accuracy.overall_max,
            "univariate": accuracy.univariate, "bivariate": accuracy.bivariate, "trivariate": accuracy.trivariate,
            "dcr_share": metrics.distances.dcr_share,
            "discriminator_auc": metrics.similarity.discriminator_auc_training_synthetic}


def _tstr_auc(train: pa.Table, test: pa.Table) -> float:
    """ROC AUC on ``test`` of gradient boosting trained on ``train`` (categoricals native)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    x_train, y_train = _features(train)
    x_test, y_test = _features(test, like=x_train)
    classifier = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    classifier.fit(x_train, y_train)
    return float(roc_auc_score(y_test, classifier.predict_proba(x_test)[:, 1]))


def _features(data: pa.Table, like: pd.DataFrame | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    frame = _frame(data)
    target = (frame.pop(TARGET) == POSITIVE).to_numpy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            categories = like[column].cat.categories if like is not None else None
            frame[column] = pd.Categorical(frame[column], categories=categories)
    return frame, target


def _frame(data: pa.Table) -> pd.DataFrame:
    return data.to_pandas(types_mapper=None)


#: For the worst row: which end of each column is worse (+1: higher is worse).
_WORSE = {"fit_s": 1, "rows_s": -1, "accuracy": -1, "accuracy_max": -1, "univariate": -1, "bivariate": -1,
          "trivariate": -1, "dcr_share": 1, "discriminator_auc": 1, "tstr_auc": -1}


def _spread(name: str, runs: list[dict]) -> list[dict]:
    """Mean and worst over seeds: a model must not be good only for a lucky seed."""
    for run in runs:
        run["share"] = run["accuracy"] / run["accuracy_max"]
    mean = {key: float(np.mean([r[key] for r in runs])) for key in [*_WORSE, "share"]}
    worst = {key: sign * max(sign * r[key] for r in runs) for key, sign in [*_WORSE.items(), ("share", -1)]}
    return [{**mean, "model": f"{name} mean"}, {**worst, "model": f"{name} worst"}]


def _reference_row(train: pa.Table, holdout: pa.Table) -> dict:
    return {"model": "real train (reference)", "tstr_auc": _tstr_auc(train, holdout)}


_COLUMNS = [("model", "model", "{}"), ("fit_s", "fit s", "{:.1f}"), ("rows_s", "sample rows/s", "{:,.0f}"),
            ("accuracy", "accuracy", "{:.3f}"), ("accuracy_max", "overall_max", "{:.3f}"),
            ("share", "% of max", "{:.1%}"), ("univariate", "uni", "{:.3f}"), ("bivariate", "bi", "{:.3f}"),
            ("trivariate", "tri", "{:.3f}"), ("dcr_share", "DCR share", "{:.3f}"),
            ("discriminator_auc", "discr. AUC", "{:.3f}"), ("tstr_auc", "TSTR AUC", "{:.3f}")]


def _markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(title for _, title, _ in _COLUMNS) + " |",
             "|" + "|".join("---" if key == "model" else "---:" for key, _, _ in _COLUMNS) + "|"]
    for row in rows:
        if row.get("accuracy") and row.get("accuracy_max") and "share" not in row:
            row["share"] = row["accuracy"] / row["accuracy_max"]
        cells = [fmt.format(row[key]) if row.get(key) is not None else "" for key, _, fmt in _COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _header(train: pa.Table, holdout: pa.Table) -> str:
    return (f"# Synthesizers on UCI Adult\n\ntrain {train.num_rows:,} rows, holdout {holdout.num_rows:,} rows; "
            f"{os.cpu_count()} CPU cores; measured {time.strftime('%Y-%m-%d %H:%M')}\n\n")


if __name__ == "__main__":
    main()
