"""Does a model's default time budget let Adult reach its plateau on this machine?

    python benchmarks/bench_fit_budget.py [--models argn,gpt] [--seeds 0,1,2]

Each model is fitted with its defaults (only the seed set) on bench_models_adult.py's train
split of UCI Adult (26,049 rows), and prints per seed: fit seconds, epochs run, the best
epoch, why training stopped ("early stop": validation stopped improving, the plateau;
"max_seconds": the clock cut it; "epochs": the epoch cap), and seconds per epoch.  Then
the mean and worst over the seeds.  A default ``max_seconds`` is right when every seed
stops early, with room to spare on a loaded machine (issue 14, item 7).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench_models_adult import DATASETS, _load, _seed_list, _split

from synthtab_db.models import available_models, get_model

REPORTING = ("argn", "gpt")  # the models that keep a fit report (epochs, best epoch, stop reason)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="argn")
    parser.add_argument("--seeds", type=_seed_list, default=[0, 1, 2])
    args = parser.parse_args()
    data, table = _load(DATASETS / "adult" / "adult.csv")
    train, _ = _split(data)
    print(f"train rows: {train.num_rows}")
    print("| model | seed | fit s | epochs | best epoch | stopped by | s/epoch | default max_seconds |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for name in [m for m in args.models.split(",") if m in available_models() and m in REPORTING]:
        runs = [_fit(name, train, table, seed) for seed in args.seeds]
        for r in runs:
            print(f"| {name} | {r['seed']} | {r['fit_s']:.1f} | {r['epochs']} | {r['best']} | {r['stopped']} | "
                  f"{r['per_epoch']:.2f} | {r['budget']:.0f} |", flush=True)
        fits = [r["fit_s"] for r in runs]
        print(f"| {name} | mean / worst | {statistics.mean(fits):.1f} / {max(fits):.1f} | | | "
              f"{sum(r['stopped'] == 'early stop' for r in runs)} of {len(runs)} early | | |")


def _fit(name: str, train, table, seed: int) -> dict:
    model = get_model(name)(seed=seed)
    started = time.perf_counter()
    model.fit(train, table)
    seconds = time.perf_counter() - started
    report = model.fit_report
    epochs = len(report.epochs)
    stopped = {"early stopping": "early stop"}.get(report.stopped, report.stopped)
    return {"seed": seed, "fit_s": seconds, "epochs": epochs, "best": report.best_epoch, "stopped": stopped,
            "per_epoch": report.epochs[-1]["seconds"] / max(epochs, 1), "budget": model.settings.max_seconds}


if __name__ == "__main__":
    main()
