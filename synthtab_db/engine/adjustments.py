"""How the feedback loop changes a model between quality rounds, per model name.

An adjuster reads the model's current WITH options and what the last round got
wrong (``synthtab_db.quality.weakness.Weakness``) and returns the next round's
options with a line per change, or None when it has nothing left to try (the
loop then stops and says so).  Only knobs the model's ``options_model`` already
has are turned; a model with no adjuster stops after its first round.
Adding a model's adjustments is one function and one ``@adjusts`` line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Options = dict[str, Any]


@dataclass(frozen=True)
class Adjustment:
    options: Options
    changes: tuple[str, ...]  # e.g. "max_bins 100 → 200 (weak numeric: age, fnlwgt)"


Adjuster = Callable[[Options, Any], "Adjustment | None"]
ADJUSTERS: dict[str, Adjuster] = {}


def adjusts(*models: str) -> Callable[[Adjuster], Adjuster]:
    def register(fn: Adjuster) -> Adjuster:
        for name in models:
            ADJUSTERS[name] = fn
        return fn

    return register


def adjust(model: str, options: Options, weakness) -> Adjustment | None:
    """The next round's options for ``model``, or None: no adjuster, or nothing left to turn."""
    adjuster = ADJUSTERS.get(model)
    return None if adjuster is None else adjuster(dict(options), weakness)


class _Changes:
    """Options being changed, with what changed and why, for the result set."""

    def __init__(self, options: Options) -> None:
        self.options, self.lines = options, []

    def set(self, key: str, value: Any, why: str = "") -> None:
        old = self.options.get(key)
        if key not in self.options or value == old:
            return
        self.options[key] = value
        self.lines.append(f"{key} {_show(old)} → {_show(value)}" + (f" ({why})" if why else ""))

    def scale(self, key: str, factor: float, cap: float, why: str = "") -> None:
        old = self.options.get(key)
        if isinstance(old, (int, float)):
            value = min(cap, old * factor)
            self.set(key, type(old)(value) if isinstance(old, int) else float(value), why)

    def done(self) -> Adjustment | None:
        return Adjustment(self.options, tuple(self.lines)) if self.lines else None


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _names(names: list[str]) -> str:
    return ", ".join(names)


def _more_categories(changes: _Changes, weakness) -> None:
    """Rare categories pooled away: keep rarer ones (the shared categorical transform's knobs)."""
    lost = [c.name for c in weakness.columns if c.lost_categories]
    if lost:
        why = f"categories lost in {_names(lost)}"
        changes.set("min_count", max(1, int(changes.options.get("min_count", 1)) // 2), why)
        changes.scale("max_categories", 2, 100_000, why)


@adjusts("argn")
def adjust_argn(options: Options, weakness) -> Adjustment | None:
    """More training budget (early stopping still ends a converged fit), finer quantile bins
    when numeric columns are off, rarer categories kept, a wider network for weak pairs.
    argn generates in the table's column order and has no knob to reorder it."""
    changes = _Changes(options)
    changes.scale("epochs", 2, 100_000, "more training")
    changes.scale("max_seconds", 2, 3_600, "more training")
    numeric = weakness.of_role("numeric")
    if numeric:
        changes.scale("max_bins", 2, 1_000, f"weak numeric: {_names(numeric)}")
    _more_categories(changes, weakness)
    if weakness.pairs:
        pairs = _names([" × ".join(p.columns) for p in weakness.pairs])
        changes.scale("hidden_dim", 2, 512, f"weak pairs: {pairs}")
    return changes.done()


@adjusts("ctgan", "tvae")
def adjust_neural(options: Options, weakness) -> Adjustment | None:
    """CTGAN and TVAE stop on epochs or the clock, not on convergence: double both; more
    Gaussian modes for numeric columns that are off; rarer categories kept."""
    changes = _Changes(options)
    changes.scale("epochs", 2, 100_000, "more training")
    changes.scale("max_seconds", 2, 3_600, "more training")
    numeric = weakness.of_role("numeric")
    if numeric:
        changes.scale("max_modes", 2, 50, f"weak numeric: {_names(numeric)}")
    _more_categories(changes, weakness)
    return changes.done()


@adjusts("ddpm")
def adjust_ddpm(options: Options, weakness) -> Adjustment | None:
    """The diffusion model stops on epochs or the clock: double both; more denoising steps when
    numeric columns are off (a coarse sampler blurs their shapes); a wider denoiser for weak
    pairs; rarer categories kept."""
    changes = _Changes(options)
    changes.scale("epochs", 2, 100_000, "more training")
    changes.scale("max_seconds", 2, 3_600, "more training")
    numeric = weakness.of_role("numeric")
    if numeric:
        steps = min(int(options.get("timesteps", 1000)), 2 * int(options.get("sample_steps", 20)))
        changes.set("sample_steps", steps, f"weak numeric: {_names(numeric)}")
    if weakness.pairs:
        changes.scale("hidden_dim", 2, 1024, f"weak pairs: {_names([' × '.join(p.columns) for p in weakness.pairs])}")
    _more_categories(changes, weakness)
    return changes.done()


@adjusts("copula")
def adjust_copula(options: Options, weakness) -> Adjustment | None:
    """The copula's marginals are exact and its fit has no training budget: what can move is
    the shrinkage of its correlations (halved when weak pairs are too weak, raised when they
    are too strong) and how rare a category may be and still be kept."""
    changes = _Changes(options)
    weaker = [p for p in weakness.pairs if p.too_weak]
    stronger = [p for p in weakness.pairs if not p.too_weak]
    shrinkage = float(options.get("shrinkage", 0.0))
    if len(weaker) >= len(stronger) and weaker:
        changes.set("shrinkage", 0.0 if shrinkage < 0.001 else shrinkage / 2, "weak pairs too weak")
    elif stronger:
        changes.set("shrinkage", min(1.0, max(0.02, shrinkage * 2)), "weak pairs too strong")
    _more_categories(changes, weakness)
    return changes.done()
