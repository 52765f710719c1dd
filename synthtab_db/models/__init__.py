"""Synthesizers. The copula registers on import; the torch models are named in
``registry.LAZY`` and imported only when one is asked for, so ``import synthtab_db``
and ``synthtab-db --help`` stay free of torch, transformers and opacus."""

from synthtab_db.models import copula  # noqa: F401  (registers "copula")
from synthtab_db.models.registry import available_models, default_model, get_model, register

__all__ = ["available_models", "default_model", "get_model", "register"]

from synthtab_db.models import auto  # noqa: E402,F401  (registers "auto", the default: it reads the others)
