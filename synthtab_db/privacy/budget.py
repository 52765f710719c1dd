"""A statement's privacy, before and after its work: the budget split across its tables, the
cap check that refuses it before any training, and the ledger entries written in its
transaction.  Also SHOW PRIVACY BUDGET and SET PRIVACY BUDGET."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Callable, TypeVar

import duckdb
import pyarrow as pa

from synthtab_db import chain
from synthtab_db.duck import atomic
from synthtab_db.errors import SynthError
from synthtab_db.privacy import ledger
from synthtab_db.privacy.accountant import default_delta

T = TypeVar("T")


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
    if model.dp_mechanism is None:
        from synthtab_db.models import available_models, get_model

        private = [m for m in available_models() if get_model(m).dp_mechanism is not None]
        raise SynthError(f"USING {model.name} has no differential privacy; models with it: {', '.join(private)}")
    if options.get("epsilon") is None:
        raise SynthError("option 'delta' needs 'epsilon' too: WITH (epsilon = 1, delta = 1e-6)")


def split(epsilon: float | None, delta: float | None, tables: list[tuple[str, int]]) -> list[Request]:
    """The statement's budget split evenly across the tables it trains on (a person's rows may be
    in all of them, so the shares add up to the total); delta defaults to 1/(10 n) per table."""
    if epsilon is None:
        return [Request(source, rows) for source, rows in tables]
    _require_budget_numbers(epsilon, delta)
    count = len(tables)
    return [Request(source, rows, epsilon / count, (delta / count) if delta is not None else default_delta(rows))
            for source, rows in tables]


def _require_budget_numbers(epsilon, delta) -> None:
    """epsilon a finite positive number, delta in (0, 1): 1e400 reads as inf and would spend nothing."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 < epsilon < math.inf:
        raise SynthError(f"option 'epsilon' must be a finite positive number, got {epsilon!r}")
    if delta is not None and (isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 < delta < 1):
        raise SynthError(f"option 'delta' must be a number between 0 and 1 (exclusive), got {delta!r}")


def _require_intact(con: duckdb.DuckDBPyConnection, request: Request) -> None:
    """DP work on a source whose ledger does not verify is refused: its spend can't be known."""
    if request.epsilon is None:
        return
    reason = ledger.broken_for(con, request.source)
    if reason is not None:
        raise SynthError(
            f"table {request.source}: the privacy ledger does not verify ({reason}); differential privacy work on "
            "it is refused until the database is restored from a copy whose SHOW PRIVACY BUDGET says 'verified'")


def check(con: duckdb.DuckDBPyConnection, requests: list[Request], allow_non_private: bool) -> None:
    """Refuse before any work: a broken ledger, a DP run past a table's cap, or a non-DP run on a capped table."""
    for request in requests:
        _require_intact(con, request)
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


def check_steps(con: duckdb.DuckDBPyConnection, steps, allow_non_private: bool) -> list[Request]:
    """Refuse (before any work) what a table's cap does not allow; the planner has already
    split the statement's budget over the steps that learn (their ``model_options``)."""
    requests = [Request(str(s.source), s.source_rows, s.model_options.get("epsilon"), s.model_options.get("delta"))
                for s in steps if s.synthesizer is None]
    check(con, requests, allow_non_private)
    return requests


def spend_atomically(con: duckdb.DuckDBPyConnection, requests: list[Request], work: Callable[[], T],
                     allow_non_private: bool, statement: str = "GENERATE") -> T:
    """The cap check and the ledger rows as one serialised step: a DP statement holds its
    database's lock from before BEGIN until after COMMIT and checks again inside, so two
    statements racing for the last of a budget can't both spend it."""
    if not any(request.epsilon is not None for request in requests):
        return atomic(con, work, statement)

    def checked() -> T:
        check(con, requests, allow_non_private)
        return work()

    with chain.lock_for(con):
        return atomic(con, checked, statement)


def privacy_report(model) -> dict | None:
    """What a fitted model's DP run spent (None for a non-DP model, or one loaded from storage)."""
    if model.privacy is None:
        return None
    return {**model.privacy.report(), "mechanism": f"{model.name}: {model.dp_mechanism or 'noisy statistics'}"}


def result_columns(report: dict | None) -> dict:
    keys = ("epsilon", "delta", "noise_multiplier", "max_grad_norm")
    return {k: None if report is None or report.get(k) is None else float(report[k]) for k in keys}


def record_results(con: duckdb.DuckDBPyConnection, jobs: list, results: list, verb: str) -> None:
    """Ledger entries for the DP runs among ``results``, inside the statement's transaction."""
    run_id = uuid.uuid4().hex
    for job, result in zip(jobs, results):
        report = result.privacy
        if report is not None:
            record(con, str(job.source), report, f"{verb} {job.source} USING {job.model.name}", run_id)


def record(con: duckdb.DuckDBPyConnection, source: str, report: dict, statement: str, run_id: str) -> None:
    """One ledger entry (call inside the statement's transaction)."""
    text = f"{statement} WITH (epsilon = {report['epsilon']:.6g}, delta = {report['delta']:.3g})"
    ledger.append(con, source, report["mechanism"], float(report["epsilon"]), float(report["delta"]), text, run_id)


def run_show_budget(con: duckdb.DuckDBPyConnection, source: str | None) -> pa.Table:
    return ledger.budget_table(con, source)


def run_set_budget(con: duckdb.DuckDBPyConnection, source: str, epsilon) -> pa.Table:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not 0 < epsilon < math.inf:
        raise SynthError(f"SET PRIVACY BUDGET FOR {source} takes a finite positive epsilon, got {epsilon!r}")
    with chain.lock_for(con):
        atomic(con, lambda: ledger.set_cap(con, source, float(epsilon)), "SET PRIVACY BUDGET")
    return ledger.budget_table(con, source)
