"""Reversible column transforms shared by every synthesizer.

``default_transform(column)`` gives the transform for a column's kind
(quantile for ordered kinds, categorical for the rest); ``fit`` /
``forward`` / ``reverse`` move values to model space and back as Arrow.
``NullIndicator`` carries each column's missingness, ``column_bounds`` the
CHECK / ENUM / VARCHAR(n) bounds that schema-only generation and clipping use.
"""

from synthtab_db.transforms.base import ColumnTransform, as_array
from synthtab_db.transforms.bounds import Bounds, column_bounds
from synthtab_db.transforms.categorical import CategoricalTransform
from synthtab_db.transforms.codecs import arrow_type
from synthtab_db.transforms.normal import CategoryIntervals, ndtr, ndtri
from synthtab_db.transforms.nulls import NullIndicator
from synthtab_db.transforms.numeric import QuantileTransform
from synthtab_db.transforms.registry import DEFAULT_TRANSFORMS, TRANSFORMS, default_transform, get_transform
from synthtab_db.transforms.schema_only import schema_values

__all__ = [
    "Bounds", "CategoricalTransform", "CategoryIntervals", "ColumnTransform", "DEFAULT_TRANSFORMS",
    "NullIndicator", "QuantileTransform", "TRANSFORMS", "arrow_type", "as_array", "column_bounds",
    "default_transform", "get_transform", "ndtr", "ndtri", "schema_values",
]
