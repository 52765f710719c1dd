"""Synthesizers by name: adding a model is one new module with ``@register``."""

from __future__ import annotations

import os

from synthtab_db.errors import SynthError
from synthtab_db.models.base import Synthesizer

_MODELS: dict[str, type[Synthesizer]] = {}


def register(cls: type[Synthesizer]) -> type[Synthesizer]:
    _MODELS[cls.name] = cls
    return cls


def get_model(name: str) -> type[Synthesizer]:
    try:
        return _MODELS[name.lower()]
    except KeyError:
        raise SynthError(f"unknown model {name!r}; available models: {', '.join(available_models())}") from None


def available_models() -> list[str]:
    return sorted(_MODELS)


def default_model() -> str:
    """The best model installed (highest preference), unless SYNTHTAB_DEFAULT_MODEL names one:
    a quick default for tests and demos where the quality model's training time is not wanted."""
    chosen = os.environ.get("SYNTHTAB_DEFAULT_MODEL")
    if chosen:
        return get_model(chosen).name
    return max(_MODELS.values(), key=lambda cls: cls.preference).name
