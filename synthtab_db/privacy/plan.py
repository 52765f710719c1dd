"""What a model needs to start a DP fit: its plan, and a noise seed nobody can guess."""

from __future__ import annotations

import secrets

from synthtab_db.privacy.accountant import PrivacyPlan, plan_for


def private_plan(settings, rows: int) -> PrivacyPlan | None:
    """A PrivacyPlan when the options (a pydantic model or a dict) ask for DP (``epsilon`` set), else None."""
    return plan_for(_get(settings, "epsilon"), _get(settings, "delta"), rows, _get(settings, "accountant"))


def _get(settings, key: str):
    return (settings if isinstance(settings, dict) else settings.model_dump()).get(key)


def noise_seed(settings) -> int:
    """The user's seed makes a DP run reproducible (and its noise known to whoever knows the
    seed); without one, the noise comes from the OS's entropy."""
    seed = _get(settings, "seed")
    return int(seed) if seed is not None else secrets.randbits(62)
