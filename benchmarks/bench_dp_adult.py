"""Differential privacy on UCI Adult: argn and the copula at epsilon 1, 4, 10 beside their non-DP runs.

    pip install -e '.[torch,dp,bench,quality]'
    python benchmarks/bench_dp_adult.py [--models argn,copula] [--epsilons none,1,4,10] [--option argn.epochs=20]

Same split and scoring as benchmarks/bench_models_adult.py (holdout = a seeded
fifth; mostlyai-qa accuracy and DCR share on as many synthetic rows as train).
For each DP run: the epsilon the accountant reports (statistics + training,
composed), delta, the model mechanism's noise multiplier, and fit seconds.  The
membership-inference AUC comes from EVALUATE SYNTHETIC's privacy metrics
(synthtab_db/quality/privacy.py) with the holdout as non-members, on every run.
The markdown table is printed and written to benchmarks/results/adult_dp_<models>.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_models_adult import DATASETS, _load, _parse, _quality, _split  # noqa: E402

import synthtab_db  # noqa: E402
from synthtab_db.models import get_model  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    args = _arguments()
    data, table = _load(DATASETS / "adult" / "adult.csv")
    train, holdout = _split(data)
    rows = []
    for name in args.models.split(","):
        options = {k.split(".", 1)[1]: _parse(v) for k, v in args.option if k.split(".", 1)[0] == name}
        for text in args.epsilons.split(","):
            epsilon = None if text == "none" else float(text)
            rows.append(_run(name, epsilon, options, train, holdout, table, args.seed))
            print(_markdown(rows), flush=True)
    results = RESULTS / f"adult_dp_{args.models.replace(',', '_')}.md"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(f"# Differential privacy on UCI Adult\n\ntrain {train.num_rows:,} rows, holdout "
                       f"{holdout.num_rows:,}; {os.cpu_count()} CPU cores; {time.strftime('%Y-%m-%d %H:%M')}\n\n"
                       + _markdown(rows))
    print(f"\nwritten to {results}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="argn,copula")
    parser.add_argument("--epsilons", default="none,1,4,10")
    parser.add_argument("--option", action="append", default=[], type=lambda s: tuple(s.split("=", 1)),
                        help="MODEL.KEY=VALUE (repeatable)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def _run(name: str, epsilon: float | None, options: dict, train, holdout, table, seed: int) -> dict:
    private = {} if epsilon is None else {"epsilon": epsilon}
    model = get_model(name)(seed=seed, **options, **private)
    started = time.perf_counter()
    model.fit(train, table)
    fit_seconds = time.perf_counter() - started
    synthetic = model.sample(train.num_rows, seed=seed)
    spent = model.privacy.report() if getattr(model, "privacy", None) else {}
    return {"model": name, "epsilon_asked": epsilon, **{f"dp_{k}": v for k, v in spent.items()},
            "fit_s": fit_seconds, **_quality(synthetic, train, holdout),
            "membership_auc": _membership_auc(synthetic, train, holdout)}


def _membership_auc(synthetic, train, holdout) -> float:
    """EVALUATE SYNTHETIC's membership-inference AUC (train = members, holdout = non-members)."""
    con = synthtab_db.connect()
    for name, rows in (("train", train), ("holdout", holdout), ("synth", synthetic)):
        con.duckdb.register("__rows", rows)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM __rows")
        con.duckdb.unregister("__rows")
    found = con.execute("EVALUATE SYNTHETIC synth AGAINST train HOLDOUT holdout TARGET income "
                        "WITH (sample_rows = 5000)").fetchall()
    con.close()
    return next(float(r[6]) for r in found if r[4] == "membership_inference_auc")


_COLUMNS = [("model", "model", "{}"), ("epsilon_asked", "epsilon asked", "{:g}"), ("dp_epsilon", "epsilon spent", "{:.3f}"),
            ("dp_delta", "delta", "{:.1e}"), ("dp_noise_multiplier", "noise mult.", "{:.2f}"),
            ("fit_s", "fit s", "{:.1f}"), ("accuracy", "accuracy", "{:.3f}"), ("univariate", "uni", "{:.3f}"),
            ("bivariate", "bi", "{:.3f}"), ("dcr_share", "DCR share", "{:.3f}"),
            ("membership_auc", "MIA AUC", "{:.3f}")]


def _markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(title for _, title, _ in _COLUMNS) + " |",
             "|" + "|".join("---" if key == "model" else "---:" for key, _, _ in _COLUMNS) + "|"]
    for row in rows:
        cells = [fmt.format(row[key]) if row.get(key) is not None else ("non-DP" if key == "epsilon_asked" else "")
                 for key, _, fmt in _COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
