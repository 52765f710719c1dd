"""USING ddpm (registers on import; needs torch)."""

from synthtab_db.models.ddpm.model import DDPM
from synthtab_db.models.ddpm.options import DDPMOptions

__all__ = ["DDPM", "DDPMOptions"]
