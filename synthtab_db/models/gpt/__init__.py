"""USING gpt: a GPT-style transformer (Hugging Face transformers) trained on the table.

Layout: ``options`` (WITH options), ``text`` (free-text detection, BPE, copy
guard), ``encoding`` (columns <-> one token vocabulary), ``sequences`` (rows
as training sequences in random column orders), ``retrieval`` (neighbour rows
for prompts), ``network`` (GPT-2 sized to the data, or a local checkpoint),
``training`` (the loop), ``private_training`` (DP-SGD with opacus), ``private``
(what a DP fit takes from released statistics: text columns, context cells),
``conditioning`` + ``sampling`` (batched decoding of WHERE-conditioned rows),
``parsing`` (token rows -> values, malformed rows flagged), ``persistence`` (JSON + tensors),
``model`` (the Synthesizer).
"""

from synthtab_db.models.gpt.model import GptSynthesizer

__all__ = ["GptSynthesizer"]
