"""DP set-up for one fit, done once by the engine (not in each model): the plan from the
options, the mechanisms the engine reserved out of the same budget (a child's counts, side
statistics), and the share of it the model declares for its column statistics."""

from __future__ import annotations

from typing import Any

from synthtab_db.privacy.accountant import PrivacyPlan
from synthtab_db.privacy.plan import private_plan


def fit_privacy(model: type, options: dict[str, Any], rows: int, reserved: list | tuple = ()) -> PrivacyPlan | None:
    """None when the options don't ask for DP, or the model needs more rows for a DP fit
    (``dp_min_rows``: below it the model releases nothing learned from rows)."""
    if rows < model.dp_min_rows:
        return None
    plan = private_plan(options, rows)
    if plan is None:
        return None
    plan.mechanisms.extend(reserved)
    if model.dp_statistics_share is not None:
        plan.statistics_share = model.dp_statistics_share
    return plan
