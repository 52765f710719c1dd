"""USING ctgan (registers on import; needs torch)."""

from synthtab_db.models.ctgan.model import CTGAN, CTGANOptions

__all__ = ["CTGAN", "CTGANOptions"]
