"""USING argn: an autoregressive tabular network (needs torch; registered on import).

Layout: ``encoding`` (columns <-> token ids: ``numbers``, ``categories``),
``network`` (the torch module), ``orders`` (generation order and training
orders), ``training`` (the loop), ``sampling`` (batched draws, conditions via
``restriction``), ``model`` (the Synthesizer; saved through ``models.torch_blob``).
"""

from synthtab_db.models.argn.model import ArgnSynthesizer

__all__ = ["ArgnSynthesizer"]
