"""Which transform a column kind gets by default, and transforms by name (for loading)."""

from __future__ import annotations

from typing import Any

from synthtab_db.errors import SynthError
from synthtab_db.planner.schema import Column, Kind
from synthtab_db.transforms.base import ColumnTransform
from synthtab_db.transforms.categorical import CategoricalTransform
from synthtab_db.transforms.numeric import QuantileTransform

TRANSFORMS: dict[str, type[ColumnTransform]] = {
    cls.name: cls for cls in (QuantileTransform, CategoricalTransform)
}

DEFAULT_TRANSFORMS: dict[Kind, type[ColumnTransform]] = {
    kind: cls for cls in TRANSFORMS.values() for kind in cls.kinds
}


def default_transform(column: Column, **options: Any) -> ColumnTransform:
    """An unfitted transform for ``column``'s kind; ``options`` are shared by all (each takes its own)."""
    try:
        cls = DEFAULT_TRANSFORMS[column.type.kind]
    except KeyError:
        raise SynthError(f"column {column.name!r}: no transform for {column.type.sql} values") from None
    return cls(**options)


def get_transform(name: str) -> type[ColumnTransform]:
    try:
        return TRANSFORMS[name]
    except KeyError:
        raise SynthError(f"unknown transform {name!r}; available: {', '.join(sorted(TRANSFORMS))}") from None
