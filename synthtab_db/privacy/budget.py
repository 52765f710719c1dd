"""A statement's privacy, before and after its work: the budget split across its tables, the
cap check that refuses it before any training, and the ledger entries written in its
transaction.  Also SHOW PRIVACY BUDGET and SET PRIVACY BUDGET."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from synthtab_db.duck import atomic
from synthtab_db.errors import SynthError
from synthtab_db.privacy import ledger
from synthtab_db.privacy.accountant import default_delta


@dataclass(frozen=True)
class Request:
    """What one source table's training may spend in this statement (None: not a DP run)."""

    source: str
    rows: int
    epsilon: float | None = None
    delta: float | None = None


def require_support(model, options: dict) -> None:
    """WITH (epsilon = ...) on a model without DP is refused by name, with the ones that have it."""
    if options.get("epsilon") is None and options.get("delta") is None:
        return
    fields = getattr(getattr(model, "options_model", None), "model_fields", {})
    if "epsilon" not in fields:
        from synthtab_db.models import available_models, get_model

        private = [m for m in available_models() if "epsilon" in getattr(get_model(m).options_model, "model_fields", {})]
        raise SynthError(f"USING {model.name} has no differential privacy; models with it: {', '.join(private)}")
    if options.get("epsilon") is None:
        raise SynthError("option 'delta' needs 'epsilon' too: WITH (epsilon = 1, delta = 1e-6)")


def split(epsilon: float | None, delta: float | None, tables: list[tuple[str, int]]) -> list[Request]:
    """The statement's budget split evenly across the tables it trains on (a person's rows may be
    in all of them, so the shares add up to the total); delta defaults to 1/(10 n) per table."""
    if epsilon is None:
        return [Request(source, rows) for source, rows in tables]
    count = len(tables)
    return [Request(source, rows, epsilon / count, (delta / count) if delta is not None else default_delta(rows))
            for source, rows in tables]


def check(con: duckdb.DuckDBPyConnection, requests: list[Request], allow_non_private: bool) -> None:
    """Refuse before any work: a DP run past a table's cap, or a non-DP run on a capped table."""
    for request in requests:
        limit = ledger.cap(con, request.source)
        if limit is None:
            continue
        spent, _ = ledger.spent(con, request.source)
        if request.epsilon is None and not allow_non_private:
            raise SynthError(
                f"table {request.source} has a privacy budget (epsilon {limit:g}); a run without differential "
                "privacy is refused: give WITH (epsilon = ...) or WITH (allow_non_private = true)")
        if request.epsilon is not None and spent + request.epsilon > limit * (1 + 1e-9):
            raise SynthError(
                f"table {request.source}: this statement would spend epsilon {request.epsilon:g} but only "
                f"{max(limit - spent, 0.0):g} of its budget {limit:g} remains ({spent:g} spent); nothing was run")


def prepare_jobs(con: duckdb.DuckDBPyConnection, jobs: list, options, model_options: dict, count) -> list[Request]:
    """Split the statement's budget over the tables it learns from, set each job's share in its
    model options, and refuse (before any work) what a table's cap does not allow."""
    learning = [job for job in jobs if job.learned is None]
    epsilon, delta = model_options.get("epsilon"), model_options.get("delta")
    if epsilon is not None and getattr(options, "target_quality", None) is not None:
        raise SynthError("target_quality refits and scores against the source rows; it does not combine with epsilon")
    requests = split(epsilon, delta, [(str(job.source), count(con, job.source)) for job in learning])
    check(con, requests, bool(getattr(options, "allow_non_private", False)))
    for job, request in zip(learning, requests):
        if request.epsilon is not None:
            job.model_options = {**job.model_options, "epsilon": request.epsilon, "delta": request.delta}
    return requests


MECHANISMS = {"argn": "DP-SGD + noisy column statistics", "copula": "noisy column statistics + noisy correlations",
              "gpt": "DP-SGD + noisy column statistics", "tvae": "DP-SGD + noisy column statistics",
              "ctgan": "DP-SGD on the critic + noisy column statistics",
              "ddpm": "DP-SGD + noisy column statistics"}


def privacy_report(model) -> dict | None:
    """What a fitted model's DP run spent (None for a non-DP model, or one loaded from storage)."""
    plan = getattr(model, "privacy", None)
    if plan is None:
        return None
    return {**plan.report(), "mechanism": f"{model.name}: {MECHANISMS.get(model.name, 'noisy statistics')}"}


def result_columns(report: dict | None) -> dict:
    keys = ("epsilon", "delta", "noise_multiplier", "max_grad_norm")
    return {k: None if report is None or report.get(k) is None else float(report[k]) for k in keys}


def record_results(con: duckdb.DuckDBPyConnection, jobs: list, results: list, verb: str) -> None:
    """Ledger entries for the DP runs among ``results``, inside the statement's transaction."""
    run_id = uuid.uuid4().hex
    for job, result in zip(jobs, results):
        report = getattr(result, "privacy", None)
        if report is not None:
            record(con, str(job.source), report, f"{verb} {job.source} USING {job.model.name}", run_id)


def record(con: duckdb.DuckDBPyConnection, source: str, report: dict, statement: str, run_id: str) -> None:
    """One ledger entry (call inside the statement's transaction)."""
    text = f"{statement} WITH (epsilon = {report['epsilon']:.6g}, delta = {report['delta']:.3g})"
    ledger.append(con, source, report["mechanism"], float(report["epsilon"]), float(report["delta"]), text, run_id)


def run_show_budget(con: duckdb.DuckDBPyConnection, source: str | None) -> pa.Table:
    return ledger.budget_table(con, source)


def run_set_budget(con: duckdb.DuckDBPyConnection, source: str, epsilon) -> pa.Table:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
        raise SynthError(f"SET PRIVACY BUDGET FOR {source} takes a positive epsilon, got {epsilon!r}")
    atomic(con, lambda: ledger.set_cap(con, source, float(epsilon)), "SET PRIVACY BUDGET")
    return ledger.budget_table(con, source)
