"""USING argn: an autoregressive tabular network (needs torch; registered on import).

Layout: ``encoding`` (columns <-> token ids: ``numbers``, ``categories``),
``network`` (the torch module), ``orders`` (generation order and training
orders), ``training`` (the loop), ``sampling`` (batched draws, conditions via
``restriction``), ``model`` (the Synthesizer; saved through ``models.torch_blob``).

The package itself imports nothing heavy: ``registry.LAZY`` imports ``argn.model`` (torch)
on first use, so reading argn's options (``USING auto`` does) leaves torch unloaded.
"""


def __getattr__(name: str):
    if name == "ArgnSynthesizer":
        from synthtab_db.models.argn.model import ArgnSynthesizer  # noqa: PLC0415 (torch, on first use)

        return ArgnSynthesizer
    raise AttributeError(name)
