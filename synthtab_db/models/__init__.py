"""Synthesizers. Importing this package registers every model that can run here."""

from synthtab_db.models import copula  # noqa: F401  (registers "copula")
from synthtab_db.models.registry import available_models, default_model, get_model, register

__all__ = ["available_models", "default_model", "get_model", "register"]

try:  # the autoregressive network needs torch; without it the copula stays the default
    import torch  # noqa: F401
except ImportError:
    pass
else:
    from synthtab_db.models import argn  # noqa: F401  (registers "argn", preference 100)

try:  # the GAN and the VAE need torch too; argn (preference 100) stays the default over them
    from synthtab_db.models import ctgan, tvae  # noqa: F401  (registers "ctgan" 50, "tvae" 40)
except ImportError:
    pass

try:  # the transformer needs transformers + tokenizers (extra "gpt"); argn stays the default
    from synthtab_db.models import gpt  # noqa: F401  (registers "gpt", preference 30)
except ImportError:
    pass

try:  # the diffusion model needs torch; argn (preference 100) stays the default over it
    from synthtab_db.models import ddpm  # noqa: F401  (registers "ddpm", preference 45)
except ImportError:
    pass
