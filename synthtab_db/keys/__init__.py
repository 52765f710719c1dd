"""Key generators for PRIMARY KEY / UNIQUE columns (never drawn from a model).

``choose_key_generator(values, column)`` picks and fits one; every generator
has ``generate(n, rng, existing)`` and round-trips through ``to_dict`` /
``KeyGenerator.from_dict``.  Adding a format is one module with
``@register_key_generator`` plus an entry in ``chooser._CANDIDATES``.
"""

from synthtab_db.keys.base import KeyGenerator, get_key_generator, register_key_generator
from synthtab_db.keys.chooser import choose_key_generator, schema_key_generator
from synthtab_db.keys.formatted import FormattedKeys
from synthtab_db.keys.meaning import MeaningKeys
from synthtab_db.keys.schema import LabelKeys, SchemaKeys
from synthtab_db.keys.sequence import SequenceKeys
from synthtab_db.keys.shape import ShapeKeys
from synthtab_db.keys.uuid import UuidKeys


def key_generator_from_dict(data: dict) -> KeyGenerator:
    """A fitted generator back from ``to_dict`` output."""
    return KeyGenerator.from_dict(data)


__all__ = [
    "FormattedKeys", "KeyGenerator", "LabelKeys", "MeaningKeys", "SchemaKeys", "SequenceKeys", "ShapeKeys", "UuidKeys",
    "choose_key_generator", "get_key_generator", "key_generator_from_dict", "register_key_generator",
    "schema_key_generator",
]
