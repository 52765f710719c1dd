"""USING tvae (registers on import; needs torch)."""

from synthtab_db.models.tvae.model import TVAE, TVAEOptions

__all__ = ["TVAE", "TVAEOptions"]
