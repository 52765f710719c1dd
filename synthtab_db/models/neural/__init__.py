"""What the torch synthesizers (CTGAN, TVAE) share: the column encoding (mode-specific
numbers, capped one-hots, NULL flags), options, device and seeding, the output
block, the time-bounded training loop and persistence."""

from synthtab_db.models.neural.base import NeuralSynthesizer
from synthtab_db.models.neural.columns import Span, TableEncoder
from synthtab_db.models.neural.layers import batch_norm_modules
from synthtab_db.models.neural.options import NeuralOptions

__all__ = ["NeuralOptions", "NeuralSynthesizer", "Span", "TableEncoder", "batch_norm_modules"]
