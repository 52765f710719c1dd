"""Synthesizers. Importing this package registers every model that can run here."""

from synthtab_db.models import copula  # noqa: F401  (registers "copula")
from synthtab_db.models.registry import available_models, default_model, get_model, register

__all__ = ["available_models", "default_model", "get_model", "register"]
