"""Synthesizers by name: adding a model is one new module with ``@register`` (and, for a
model with heavy dependencies, one ``LAZY`` line so it is imported only when used)."""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass

from synthtab_db.errors import SynthError
from synthtab_db.models.base import Synthesizer

_MODELS: dict[str, type[Synthesizer]] = {}


@dataclass(frozen=True)
class LazyModel:
    """A model imported on first use: its module, the packages it needs (checked without
    importing them), the extra that installs them, and its default preference."""

    module: str
    needs: tuple[str, ...]
    extra: str
    preference: int

    def installed(self) -> bool:
        return all(importlib.util.find_spec(name) is not None for name in self.needs)


LAZY: dict[str, LazyModel] = {
    "argn": LazyModel("synthtab_db.models.argn.model", ("torch",), "torch", 100),
    "ctgan": LazyModel("synthtab_db.models.ctgan", ("torch",), "torch", 50),
    "tvae": LazyModel("synthtab_db.models.tvae", ("torch",), "torch", 40),
    "gpt": LazyModel("synthtab_db.models.gpt", ("torch", "transformers", "tokenizers"), "gpt", 30),
    "ddpm": LazyModel("synthtab_db.models.ddpm", ("torch",), "torch", 45),
}


def register(cls: type[Synthesizer]) -> type[Synthesizer]:
    _MODELS[cls.name] = cls
    return cls


def get_model(name: str) -> type[Synthesizer]:
    key = name.lower()
    if key not in _MODELS and key in LAZY:
        _import(key, LAZY[key])
    try:
        return _MODELS[key]
    except KeyError:
        raise SynthError(f"unknown model {name!r}; available models: {', '.join(available_models())}") from None


def _import(name: str, lazy: LazyModel) -> None:
    if not lazy.installed():
        missing = [n for n in lazy.needs if importlib.util.find_spec(n) is None]
        raise SynthError(f"model {name!r} needs {', '.join(missing)}: pip install 'synthtab-db[{lazy.extra}]' "
                         f"(installed models: {', '.join(available_models())})")
    importlib.import_module(lazy.module)


def options_of(name: str):
    """A model's WITH options without importing the model (its torch), where it names them in OPTIONS."""
    if name in _MODELS:
        return _MODELS[name].options_model
    module, attribute = OPTIONS[name]
    return getattr(importlib.import_module(module), attribute)


#: where a lazily imported model's options class lives (light modules: pydantic only)
OPTIONS: dict[str, tuple[str, str]] = {"argn": ("synthtab_db.models.argn.options", "ArgnOptions")}


def available_models() -> list[str]:
    return sorted(set(_MODELS) | {name for name, lazy in LAZY.items() if lazy.installed()})


def better_missing() -> str | None:
    """What to install for a better default than the one chosen (None when it is installed)."""
    better = [(lazy.preference, name, lazy.extra) for name, lazy in LAZY.items()
              if not lazy.installed() and lazy.preference > _preference(default_model())]
    if not better:
        return None
    _, name, extra = max(better)
    return f"{name}, the quality default, needs pip install 'synthtab-db[{extra}]'"


def _preference(name: str) -> int:
    """Read from ``LAZY`` for a model not imported yet, so choosing the default imports nothing."""
    if name in _MODELS:
        return _MODELS[name].preference
    return LAZY[name].preference


def default_model() -> str:
    """The best model installed (highest preference), unless SYNTHTAB_DEFAULT_MODEL names one:
    a quick default for tests and demos where the quality model's training time is not wanted."""
    chosen = os.environ.get("SYNTHTAB_DEFAULT_MODEL")
    if chosen:
        return get_model(chosen).name
    return max(available_models(), key=_preference)
