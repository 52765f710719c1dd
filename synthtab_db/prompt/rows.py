"""How many rows each proposed table gets, resolved once.

WITH (rows = {t: n}) wins; then ROWS n for root tables; then the model's own
``rows``; otherwise a root gets DEFAULT_ROOT_ROWS and a child CHILDREN_PER_PARENT
rows per row of its largest parent (a child keeps the model's child/parent ratio
when ROWS rescales its parents).
"""

from __future__ import annotations

from synthtab_db.planner.plan import Plan

DEFAULT_ROOT_ROWS = 100
CHILDREN_PER_PARENT = 3


def row_counts(plan: Plan, given: dict[str, int], rows: int | None, hints: dict[str, int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in plan.steps:
        name = step.table.name.lower()
        parents = [p.name.lower() for p in step.parents if p.name.lower() != name]
        counts[name] = given.get(name) or _count(name, parents, counts, rows, hints)
    return counts


def _count(name: str, parents: list[str], counts: dict[str, int], rows: int | None, hints: dict[str, int]) -> int:
    if not parents:
        return rows or hints.get(name) or DEFAULT_ROOT_ROWS
    main = max(parents, key=lambda p: counts[p])
    if rows is None and name in hints:
        return hints[name]
    ratio = hints[name] / hints[main] if name in hints and hints.get(main) else CHILDREN_PER_PARENT
    return max(1, round(counts[main] * ratio))
