"""A plan shown to people: the rows of ``EXPLAIN GENERATE SYNTHETIC …`` and a stable text
form (the planner's fixture tests compare it line by line)."""

from __future__ import annotations

import json

import pyarrow as pa

from synthtab_db.planner.estimate import MB, estimate_step
from synthtab_db.planner.steps import GeneratePlan, GenerateStep, ParentLink

EXPLAIN_SCHEMA = pa.schema(
    [
        ("step", pa.int64()),
        ("table", pa.string()),
        ("source", pa.string()),
        ("rows", pa.int64()),  # exact where fixed, else the planner's estimate
        ("rows_rule", pa.string()),
        ("model", pa.string()),
        ("parents", pa.string()),
        ("deferred", pa.string()),
        ("train_rows", pa.int64()),
        ("batch_size", pa.int64()),
        ("est_memory_mb", pa.int64()),
        ("est_seconds", pa.float64()),
        ("note", pa.string()),
    ]
)


def explain_table(plan: GeneratePlan) -> pa.Table:
    """One row per step, in the order the engine would run them."""
    return pa.Table.from_pylist([_row(i, step) for i, step in enumerate(plan.steps, 1)], schema=EXPLAIN_SCHEMA)


def _row(number: int, step: GenerateStep) -> dict:
    estimate = estimate_step(step)
    return {
        "step": number,
        "table": str(step.target),
        "source": f"synthesizer {step.synthesizer}" if step.synthesizer else str(step.source),
        "rows": step.rows.estimate,
        "rows_rule": rule_text(step),
        "model": step.model,
        "parents": _links(step.parents) or None,
        "deferred": _links(step.deferred) or None,
        "train_rows": None if step.synthesizer else _train_rows(step),
        "batch_size": step.batch_size,
        "est_memory_mb": round(estimate.memory_bytes / MB),
        "est_seconds": round(estimate.seconds, 1),
        "note": step.note,
    }


def rule_text(step: GenerateStep) -> str:
    rule = step.rows
    exact = {"fixed": f"exactly {rule.rows}", "per_parent": f"about {rule.estimate}",
             "source_scaled": f"about {rule.estimate}"}[rule.kind]
    return f"{exact} ({rule.why})"


def _train_rows(step: GenerateStep) -> int:
    return step.source_rows if step.train_rows is None else min(step.source_rows, step.train_rows)


def _links(links: tuple[ParentLink, ...]) -> str:
    return ", ".join(_link(p) for p in links)


def _link(link: ParentLink) -> str:
    drawn = "" if link.drawn_from == link.source else f" drawn from {link.drawn_from}"
    return f"({', '.join(link.columns)}) -> {link.source}{drawn}"


def plan_text(plan: GeneratePlan) -> str:
    """Every field of the plan that decides what runs, one line each (stable across runs)."""
    head = (f"plan {plan.form}: replace={_flag(plan.replace)} max_rounds={plan.max_rounds}"
            f" target_quality={plan.target_quality}")
    return "\n".join([head, *(line for i, s in enumerate(plan.steps, 1) for line in _step_lines(i, s))]) + "\n"


def _step_lines(number: int, step: GenerateStep) -> list[str]:
    estimate = estimate_step(step)
    lines = [
        f"{number}. {step.source} -> {step.target}" + (f" (synthesizer {step.synthesizer})" if step.synthesizer else ""),
        f"   rows: {step.rows.kind} {rule_text(step)}",
        f"   model: {step.model} {json.dumps(step.model_options, sort_keys=True, default=str)}",
        f"   parents: {_links(step.parents) or '-'}",
        f"   deferred: {_links(step.deferred) or '-'}",
        f"   main: {', '.join(step.main) if step.main else '-'}",
        f"   seed: {list(step.seed) if step.seed is not None else '-'} batch: {step.batch_size}"
        f" train_rows: {'-' if step.synthesizer else _train_rows(step)} append: {_flag(step.append)}",
        f"   estimate: {round(estimate.memory_bytes / MB)} MB, {estimate.seconds:.1f} s",
    ]
    lines += [f"   where: {step.where}"] if step.where else []
    lines += [f"   note: {step.note}"] if step.note else []
    return lines


def _flag(value: bool) -> str:
    return "true" if value else "false"
